"""The definition of a 一件事 flow (``BundleVersion.definition``): what is asked once, and how each step
gets its answers, documents and order.

A definition is a JSON document::

    {
      "questions":  [{"key": "child_name", "label": "新生儿姓名", "type": "text", "required": true,
                      "options": [], "help": ""}],
      "situations": [{"key": "father_local", "question": "父亲是否本市户籍？",
                      "options": [{"value": "yes", "label": "是"}, {"value": "no", "label": "否"}]}],
      "documents":  [{"key": "birth_cert", "name": "出生医学证明", "required": true, "help": ""}],
      "steps": [
        {"key": "medical", "kind": "handoff", "department": "wsjk", "name": "出生医学证明",
         "depends_on": [], "payload_map": {"child_name": "shared.child_name"}},
        {"key": "hukou", "kind": "item", "item": "LJ-HJ-006", "name": "出生登记",
         "depends_on": ["medical"],
         "field_map": {"child_name": "shared.child_name"},
         "situation_map": {"father_local": "father_local"},
         "document_map": {"出生医学证明": "birth_cert"}},
        {"key": "sscard", "kind": "handoff", "department": "rsj", "name": "社会保障卡申领",
         "depends_on": ["hukou"],
         "payload_map": {"child_name": "shared.child_name", "hukou_reference": "result.hukou.reference"}}
      ]
    }

- ``questions`` are the shared questions, asked once (field types as :class:`catalog.models.FieldType`);
- ``situations`` are the guide's situation questions merged across items, answered once; each item
  step's ``situation_map`` says which of its own situation keys takes which bundle answer (same option
  values);
- ``documents`` are uploaded (or taken from 我的材料 / the e-certificate register) once; each item step's
  ``document_map`` attaches one to the item requirement of that name;
- an item step's ``field_map`` fills item form fields from a *source*; the item's fields not mapped are
  asked in that step's own section of the form ("only where they differ");
- a hand-off step's ``payload_map`` builds the department's message body from sources;
- an item step's ``field_map`` takes only ``shared.``, ``situation.`` and ``const:`` sources: every item
  application is created and checked complete at submit, even one that waits for another step;
- a *source* is ``shared.<question key>``, ``situation.<situation key>``, ``result.<step key>.<name>``
  (what an earlier step produced: a police item gives ``reference`` and its result fields; a department
  gives what it reported) or ``const:<text>``; a ``result.`` source needs that step in ``depends_on``;
- ``depends_on`` lists the step keys that must be done before the step starts; steps without
  dependencies start at submit.

:func:`parse` checks the structure and the internal references (unique keys, known sources, no
dependency cycle) and returns the typed definition; checks against the live catalog (an item retired,
a mapped field that no longer exists) are publish checks in :mod:`catalog.admin.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError

KEY = r"^[a-z][a-z0-9_]{0,39}$"
_KEY_RE = re.compile(KEY)
SOURCE_PREFIXES = ("shared.", "situation.", "result.", "const:")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Model):
    key: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "textarea", "date", "select", "id_number", "mobile", "address", "checkbox"] = "text"
    required: bool = True
    options: list[str] = Field(default_factory=list)
    help: str = Field(default="", max_length=300)


class Option(_Model):
    value: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=100)


class SituationQuestion(_Model):
    key: str = Field(pattern=KEY)
    question: str = Field(min_length=1, max_length=200)
    options: list[Option] = Field(min_length=2)


class SharedDocument(_Model):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=100)
    required: bool = True
    help: str = Field(default="", max_length=300)


class Step(_Model):
    key: str = Field(pattern=KEY)
    kind: Literal["item", "handoff"]
    name: str = Field(min_length=1, max_length=100)
    depends_on: list[str] = Field(default_factory=list)
    #: item steps
    item: str | None = Field(default=None, max_length=40)
    field_map: dict[str, str] = Field(default_factory=dict)
    situation_map: dict[str, str] = Field(default_factory=dict)
    document_map: dict[str, str] = Field(default_factory=dict)
    #: hand-off steps
    department: str | None = Field(default=None, max_length=40)
    payload_map: dict[str, str] = Field(default_factory=dict)


class Definition(_Model):
    questions: list[Question] = Field(default_factory=list)
    situations: list[SituationQuestion] = Field(default_factory=list)
    documents: list[SharedDocument] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    @property
    def item_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "item"]

    @property
    def handoff_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "handoff"]


class DefinitionError(ValueError):
    """The definition is not usable; ``problems`` are Chinese sentences for the admin."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _dupes(keys: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for k in keys:
        (dupes if k in seen else seen).add(k)
    return dupes


def dependency_cycle(steps: list[Step]) -> list[str] | None:
    """A dependency cycle as the list of its step keys (first key repeated last), or None."""
    deps = {s.key: [d for d in s.depends_on] for s in steps}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        path.append(key)
        for dep in deps.get(key, []):
            if dep not in deps:
                continue
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if state.get(dep) is None and (found := visit(dep)):
                return found
        path.pop()
        state[key] = 2
        return None

    for key in deps:
        if state.get(key) is None and (found := visit(key)):
            return found
    return None


def _source_problems(step: Step, source: str, defn: Definition) -> list[str]:
    if not source.startswith(SOURCE_PREFIXES):
        return [_("步骤“%(step)s”的来源“%(source)s”无法识别", step=step.name, source=source)]
    if source.startswith("shared."):
        if source[7:] not in {q.key for q in defn.questions}:
            return [_("步骤“%(step)s”引用了不存在的共同问题“%(key)s”", step=step.name, key=source[7:])]
    elif source.startswith("situation."):
        if source[10:] not in {s.key for s in defn.situations}:
            return [_("步骤“%(step)s”引用了不存在的情形“%(key)s”", step=step.name, key=source[10:])]
    elif source.startswith("result."):
        ref = source[7:].split(".", 1)
        if len(ref) != 2 or not ref[1]:
            return [_("步骤“%(step)s”的来源“%(source)s”应为 result.步骤.名称", step=step.name, source=source)]
        if ref[0] not in step.depends_on:
            return [
                _(
                    "步骤“%(step)s”使用了步骤“%(other)s”的结果，但没有把它列为前置步骤",
                    step=step.name,
                    other=ref[0],
                )
            ]
    return []


def problems_of(defn: Definition) -> list[str]:
    """Internal problems of a structurally valid definition (Chinese sentences; empty when usable)."""
    problems: list[str] = []
    for what, keys in (
        (_("共同问题"), [q.key for q in defn.questions]),
        (_("情形"), [s.key for s in defn.situations]),
        (_("共用材料"), [d.key for d in defn.documents]),
        (_("步骤"), [s.key for s in defn.steps]),
    ):
        for key in sorted(_dupes(keys)):
            problems.append(_("%(what)s的标识“%(key)s”重复", what=what, key=key))
    step_keys = {s.key for s in defn.steps}
    situations = {s.key: {o.value for o in s.options} for s in defn.situations}
    documents = {d.key for d in defn.documents}
    for q in defn.questions:
        if q.type == "select" and not q.options:
            problems.append(_("共同问题“%(label)s”是下拉选择，但没有选项", label=q.label))
    for step in defn.steps:
        if step.kind == "item":
            if not step.item:
                problems.append(_("步骤“%(step)s”没有指定公安事项", step=step.name))
            if step.department or step.payload_map:
                problems.append(_("公安事项步骤“%(step)s”不能有部门或推送字段", step=step.name))
        else:
            if not step.department:
                problems.append(_("步骤“%(step)s”没有指定协办部门", step=step.name))
            if step.item or step.field_map or step.situation_map or step.document_map:
                problems.append(_("部门步骤“%(step)s”不能有公安事项的字段映射", step=step.name))
        for dep in step.depends_on:
            if dep == step.key:
                problems.append(_("步骤“%(step)s”不能依赖自己", step=step.name))
            elif dep not in step_keys:
                problems.append(_("步骤“%(step)s”依赖的步骤“%(dep)s”不存在", step=step.name, dep=dep))
        for source in [*step.field_map.values(), *step.payload_map.values()]:
            problems.extend(_source_problems(step, source, defn))
        for key, source in step.field_map.items():
            if source.startswith("result."):
                problems.append(
                    _(
                        "公安事项步骤“%(step)s”的字段“%(key)s”不能取前序步骤的结果：事项在提交时就要核对完整",
                        step=step.name,
                        key=key,
                    )
                )
        for own, shared in step.situation_map.items():
            if not shared.startswith("const:") and shared not in situations:
                problems.append(
                    _(
                        "步骤“%(step)s”的情形“%(own)s”映射到不存在的情形“%(key)s”",
                        step=step.name,
                        own=own,
                        key=shared,
                    )
                )
        for requirement, doc_key in step.document_map.items():
            if doc_key not in documents:
                problems.append(
                    _(
                        "步骤“%(step)s”的材料“%(name)s”映射到不存在的共用材料“%(key)s”",
                        step=step.name,
                        name=requirement,
                        key=doc_key,
                    )
                )
    cycle = dependency_cycle(defn.steps)
    if cycle:
        problems.append(_("步骤之间存在循环依赖：%(cycle)s", cycle=" → ".join(cycle)))
    return problems


def parse(data: Any) -> Definition:
    """The typed definition of ``data``; raises :class:`DefinitionError` with every problem found."""
    try:
        defn = Definition.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(_("定义的“%(where)s”不正确：%(msg)s", where=where, msg=err["msg"]))
        raise DefinitionError(problems) from None
    problems = problems_of(defn)
    if problems:
        raise DefinitionError(problems)
    return defn


def start_order(defn: Definition) -> list[str]:
    """Step keys in an order where every step comes after the steps it depends on (stable: the
    definition's order among independent steps). Assumes :func:`parse` accepted the definition."""
    done: list[str] = []
    remaining = list(defn.steps)
    while remaining:
        for step in remaining:
            if all(d in done for d in step.depends_on):
                done.append(step.key)
                remaining.remove(step)
                break
        else:  # pragma: no cover - parse() refuses cycles
            raise DefinitionError([_("步骤之间存在循环依赖")])
    return done


def resolve(
    source: str, *, shared: dict[str, Any], situations: dict[str, str], results: dict[str, dict]
) -> Any:
    """The value a source names (None when it is not there yet)."""
    if source.startswith("const:"):
        return source[6:]
    if source.startswith("shared."):
        return shared.get(source[7:])
    if source.startswith("situation."):
        return situations.get(source[10:])
    if source.startswith("result."):
        step, name = source[7:].split(".", 1)
        return (results.get(step) or {}).get(name)
    return None


@dataclass(frozen=True)
class ItemFacts:
    """What a publish check needs to know of an item's current published version."""

    code: str
    name: str
    active: bool
    fields: frozenset[str]
    situations: dict[str, frozenset[str]]
    documents: frozenset[str]
    delivery: tuple[str, ...] = ()


def catalog_problems(defn: Definition, facts: Callable[[str], ItemFacts | None]) -> list[str]:
    """Problems of ``defn`` against the catalog as it is: an item that does not exist or is retired, a
    mapped field, situation, option or document the item no longer has. ``facts`` looks an item up by
    code (None when there is no published version)."""
    problems: list[str] = []
    situations = {s.key: {o.value for o in s.options} for s in defn.situations}
    for step in defn.item_steps:
        item = facts(step.item or "")
        if item is None:
            problems.append(_("步骤“%(step)s”的事项 %(code)s 不存在或未发布", step=step.name, code=step.item))
            continue
        if not item.active:
            problems.append(_("步骤“%(step)s”的事项“%(name)s”已停办", step=step.name, name=item.name))
        for key in step.field_map:
            if key not in item.fields:
                problems.append(
                    _("步骤“%(step)s”映射的表单字段“%(key)s”在事项中已不存在", step=step.name, key=key)
                )
        for own, shared in step.situation_map.items():
            options = item.situations.get(own)
            if options is None:
                problems.append(
                    _("步骤“%(step)s”映射的情形“%(key)s”在事项中已不存在", step=step.name, key=own)
                )
                continue
            wanted = {shared[6:]} if shared.startswith("const:") else situations.get(shared, set())
            for value in sorted(wanted - options):
                problems.append(
                    _(
                        "步骤“%(step)s”的情形“%(key)s”没有选项“%(value)s”",
                        step=step.name,
                        key=own,
                        value=value,
                    )
                )
        for name in step.document_map:
            if name not in item.documents:
                problems.append(
                    _("步骤“%(step)s”映射的材料“%(name)s”在事项中已不存在", step=step.name, name=name)
                )
    return problems


def is_key(value: str) -> bool:
    return bool(_KEY_RE.match(value))
