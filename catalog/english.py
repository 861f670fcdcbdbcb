"""English content of catalog items (issue 23), pure Python.

An item version keeps its English in one mapping (``ItemVersion.english``), the same shape in the
catalog YAML (``en:``) and in the admin editor::

    name, description, conditions: text
    visit_reason, result_name, fee_note, counters, hours: text (the rest of the guide)
    aliases: [official names, everyday words, US/UK spellings, singular and plural]
    faq: [{q, a}]
    documents: {<Chinese document name>: {name, notes}}
    situations: {<key>: {question, options: {<value>: label}}}
    fields: {<key>: {label, help, options: {<Chinese option>: English label}}}

Whatever has no English falls back to the Chinese. ``missing_english`` lists what a foreigner-facing
item still lacks (the admin editor's publish warning).
"""

from __future__ import annotations

from typing import Any

_TEXT_KEYS = ("name", "description", "conditions")
#: The rest of the guide's text; also shown in English where given, and counted as missing.
GUIDE_KEYS = ("visit_reason", "result_name", "fee_note", "counters", "hours")
_KNOWN = {*_TEXT_KEYS, *GUIDE_KEYS, "aliases", "faq", "documents", "situations", "fields"}


def validate(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """(normalised mapping, problems in Chinese) for an ``en:`` block."""
    if raw in (None, ""):
        return {}, []
    if not isinstance(raw, dict):
        return {}, ["英文内容应为映射"]
    problems = [f"未知的英文字段 {k}" for k in raw if k not in _KNOWN]
    out: dict[str, Any] = {}
    for key in (*_TEXT_KEYS, *GUIDE_KEYS):
        if raw.get(key) not in (None, ""):
            out[key] = str(raw[key]).strip()
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list):
        problems.append("英文别名 aliases 应为列表")
        aliases = []
    out["aliases"] = [str(a).strip() for a in aliases if str(a).strip()]
    faq = raw.get("faq") or []
    if not isinstance(faq, list) or not all(isinstance(f, dict) and f.get("q") and f.get("a") for f in faq):
        problems.append("英文常见问题 faq 应为 q / a 列表")
        faq = []
    out["faq"] = [{"q": str(f["q"]), "a": str(f["a"])} for f in faq]
    for part in ("documents", "situations", "fields"):
        value = raw.get(part) or {}
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            problems.append(f"英文 {part} 应为“名称或键: 映射”")
            value = {}
        out[part] = {str(k): v for k, v in ((str(k), prune(v)) for k, v in value.items()) if v}
    return out, problems


def prune(value: Any) -> Any:
    """``value`` without empty strings, mappings and lists (a blank in the editor means "no English")."""
    if isinstance(value, dict):
        kept = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", None, {}, [])}
    if isinstance(value, str):
        return value.strip()
    return value


def missing_english(rec: dict[str, Any]) -> list[str]:
    """What a foreigner-facing item (a loader/admin record with ``english``) has no English for."""
    en = rec.get("english") or {}
    out = [key for key in (*_TEXT_KEYS, *GUIDE_KEYS) if rec.get(key) and not en.get(key)]
    if rec.get("faq") and len(en.get("faq") or []) < len(rec["faq"]):
        out.append("faq")
    docs = en.get("documents") or {}
    for d in rec.get("documents", []):
        if not docs.get(d["name"], {}).get("name"):
            out.append(f"documents: {d['name']}")
    sits = en.get("situations") or {}
    for s in rec.get("situations", []):
        e = sits.get(s["key"], {})
        labels = e.get("options") or {}
        if not e.get("question") or any(not labels.get(o["value"]) for o in s.get("options", [])):
            out.append(f"situations: {s['key']}")
    fields = en.get("fields") or {}
    for f in rec.get("fields", []):
        e = fields.get(f["key"], {})
        labels = e.get("options") or {}
        if not e.get("label") or any(not labels.get(o) for o in f.get("options") or []):
            out.append(f"fields: {f['key']}")
    return out


def validate_bundle(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """(normalised mapping, problems in Chinese) for a bundle's ``en:`` block: name, aliases,
    description, partners."""
    if raw in (None, ""):
        return {}, []
    if not isinstance(raw, dict):
        return {}, ["英文内容应为映射"]
    problems = [f"未知的英文字段 {k}" for k in raw if k not in {"name", "aliases", "description", "partners"}]
    out: dict[str, Any] = {k: str(raw[k]).strip() for k in ("name", "description") if raw.get(k)}
    for key in ("aliases", "partners"):
        value = raw.get(key) or []
        if not isinstance(value, list):
            problems.append(f"英文 {key} 应为列表")
            value = []
        out[key] = [str(v).strip() for v in value if str(v).strip()]
    return prune(out), problems
