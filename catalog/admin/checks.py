"""Publish checks: every problem that stops a draft from going live, each with the anchor of the
field the editor should open. Pure: a version's record (``catalog.admin.io.version_record``) and
the other published items' names in, problems out — no database. :func:`flow_breaks` checks a draft
against the published 一件事 flows that map its fields (given to it, as the other items are).

The loader's own validation runs first (the same rules ``flask catalog load`` applies, so a
published version can always be exported and loaded again); the checks only the whole catalog can
answer (alias clashes) and the "does this option change anything" check follow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from catalog import bundle_spec
from catalog.loader import _Checker, _validate_item

NO_DOCUMENTS = "至少需要一份申请材料"
PROMISE_TOO_LONG = "承诺时限不能长于法定时限"
OPTION_CHANGES_NOTHING = "情形「{question}」的选项（{labels}）不改变任何材料、表单字段或收费"
UNKNOWN_SITUATION = "引用了不存在的情形"
DEPTH_VISITS = "★5 全程网办的事项到现场次数应为 0"
ECERT_WITHOUT_CERT = "结果不是电子证照，不能选择电子证照送达"
DUPLICATE_CODE = "事项编码 {code} 已被另一事项使用"
ALIAS_CLASH = "别名「{alias}」与已发布事项 {code}「{name}」的名称或别名相同"
NAME_CLASH = "事项名称与已发布事项 {code} 相同"


@dataclass(frozen=True)
class Problem:
    message: str
    anchor: str  # the element id on the edit page: "f-<field>", "doc-<n>", "sit-<key>", "field-<key>"


@dataclass(frozen=True)
class OtherItem:
    """Another item, as far as clashes go."""

    id: int
    code: str
    name: str
    aliases: tuple[str, ...]


_LINE = re.compile(r"^(?P<where>.*?): 字段 (?P<field>[\w.]+): (?P<msg>.*)$", re.S)
_DOC = re.compile(r"材料「(?P<name>.*)」$")
_SIT = re.compile(r"情形 (?P<key>\S+)$")
_FIELD = re.compile(r"表单字段 (?P<key>\S+)$")


def _anchor(where: str, field: str, rec: dict[str, Any]) -> tuple[str, str]:
    """(anchor, prefix shown before the message) for a loader problem."""
    if m := _DOC.search(where):
        names = [d.get("name") for d in rec.get("documents", [])]
        n = names.index(m["name"]) if m["name"] in names else 0
        return f"doc-{n}", f"材料「{m['name']}」："
    if m := _SIT.search(where):
        return f"sit-{m['key']}", f"情形 {m['key']}："
    if m := _FIELD.search(where):
        return f"field-{m['key']}", f"表单字段 {m['key']}："
    section = {"documents": "documents", "situations": "situations", "fields": "fields"}.get(field)
    return (section or f"f-{field}"), ""


def loader_problems(rec: dict[str, Any]) -> list[Problem]:
    """The loader's validation of one item record, each message mapped to an anchor."""
    chk = _Checker()
    _validate_item(chk, "草稿", rec)
    out = []
    for line in chk.problems:
        m = _LINE.match(line)
        if not m:
            out.append(Problem(line, "f-name"))
            continue
        anchor, prefix = _anchor(m["where"], m["field"], rec)
        out.append(Problem(prefix + m["msg"], anchor))
    return out


def idle_situations(rec: dict[str, Any]) -> list[Problem]:
    """Situations none of whose options switches a document, a form field or the fee."""
    used: set[str] = set()
    for thing in [*rec.get("documents", []), *rec.get("fields", [])]:
        used.update((thing.get("when") or {}).keys())
    out = []
    for s in rec.get("situations", []):
        if s["key"] in used or any(o.get("fee") is not None for o in s.get("options", [])):
            continue
        labels = "、".join(o["label"] for o in s.get("options", []))
        out.append(
            Problem(OPTION_CHANGES_NOTHING.format(question=s["question"], labels=labels), f"sit-{s['key']}")
        )
    return out


def clashes(rec: dict[str, Any], item_id: int | None, others: Iterable[OtherItem]) -> list[Problem]:
    """A duplicate code, or a name/alias equal to another published item's name or alias."""
    out = []
    for other in others:
        if other.id == item_id:
            continue
        if other.code == rec["code"]:
            out.append(Problem(DUPLICATE_CODE.format(code=rec["code"]), "f-code"))
        if rec["name"] == other.name:
            out.append(Problem(NAME_CLASH.format(code=other.code), "f-name"))
        for alias in rec.get("aliases", []):
            if alias in {other.name, *other.aliases}:
                out.append(
                    Problem(ALIAS_CLASH.format(alias=alias, code=other.code, name=other.name), "f-aliases")
                )
    return out


def publish_problems(
    rec: dict[str, Any], *, item_id: int | None = None, others: Iterable[OtherItem] = ()
) -> list[Problem]:
    """Every reason ``rec`` may not be published (empty: it may). Never stops at the first."""
    problems = loader_problems(rec) + idle_situations(rec) + clashes(rec, item_id, others)
    seen: set[tuple[str, str]] = set()
    unique = []
    for p in problems:
        if (p.message, p.anchor) not in seen:
            seen.add((p.message, p.anchor))
            unique.append(p)
    return unique


def flow_breaks(rec: dict[str, Any], flows: Iterable[Any], *, retiring: bool = False) -> list[Problem]:
    """What publishing ``rec`` (or, ``retiring``, retiring its item) would break in the published 一件事
    flows that have a step for it: a mapped form field, situation, option or document the item would no
    longer have, or the item itself gone. ``flows`` are :class:`catalog.admin.queries.PublishedFlow`.
    Each problem names the bundle, whose flow must change first: a bundle application would otherwise
    fail at every submit."""
    facts = bundle_spec.ItemFacts(
        code=rec["code"],
        name=rec.get("name", ""),
        active=True,
        fields=frozenset(f["key"] for f in rec.get("fields", [])),
        situations={
            s["key"]: frozenset(o["value"] for o in s.get("options", [])) for s in rec.get("situations", [])
        },
        documents=frozenset(d["name"] for d in rec.get("documents", [])),
        delivery=tuple(rec.get("delivery") or ()),
    )

    def lookup(code: str) -> bundle_spec.ItemFacts | None:
        return facts if code == rec["code"] else None

    def named(flow: Any, problem: str) -> str:
        return _(
            "一件事“%(name)s”（%(code)s）的已发布联办流程会因此失效：%(problem)s。请先修改该一件事的联办流程",
            name=flow.bundle_name,
            code=flow.bundle_code,
            problem=problem,
        )

    out: list[Problem] = []
    for flow in flows:
        steps = [s for s in flow.definition.item_steps if s.item == rec["code"]]
        if retiring:
            for step in steps:
                out.append(Problem(named(flow, _("步骤“%(step)s”的事项将停用", step=step.name)), "f-name"))
            continue
        maps = ("field_map", "situation_map", "document_map")
        for anchor, keep in (
            ("fields", "field_map"),
            ("situations", "situation_map"),
            ("documents", "document_map"),
        ):
            narrowed = [s.model_copy(update={m: {} for m in maps if m != keep}) for s in steps]
            defn = flow.definition.model_copy(update={"steps": narrowed})
            out.extend(Problem(named(flow, p), anchor) for p in bundle_spec.catalog_problems(defn, lookup))
    return out
