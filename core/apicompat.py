"""Is a new OpenAPI document a breaking change from the released one?

Breaking, unless the major version went up:

- an operation removed;
- a parameter removed, made required, or accepting less (a type, an enum value or a format gone, a
  tighter minimum/maximum/length, a new pattern);
- in an answer: a field removed or no longer required, or its type widened (a new type, a new enum
  value, a looser limit) — clients rely on what answers contain and on what they may contain.

Adding operations, optional parameters, answer fields and error statuses is not breaking.
Pure: documents (dicts) in, a list of readable findings out.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def major(version: str) -> int:
    return int(version.split(".")[0])


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` breaks a client of ``old`` (empty when nothing, or when the major version rose)."""
    if major(new["info"]["version"]) > major(old["info"]["version"]):
        return []
    out: list[str] = []
    for path, item in old.get("paths", {}).items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            new_op = new.get("paths", {}).get(path, {}).get(method)
            if new_op is None:
                out.append(f"{where}: operation removed")
                continue
            out += _parameters(where, old, op, new, new_op)
            for status, answer in op.get("responses", {}).items():
                new_answer = new_op.get("responses", {}).get(status)
                if new_answer is None:
                    out.append(f"{where} {status}: answer removed")
                    continue
                for media, content in _resolve(old, answer).get("content", {}).items():
                    new_content = _resolve(new, new_answer).get("content", {}).get(media)
                    if new_content is None:
                        out.append(f"{where} {status}: {media} removed")
                        continue
                    out += _answer(
                        f"{where} {status}",
                        old,
                        content.get("schema", {}),
                        new,
                        new_content.get("schema", {}),
                    )
    return out


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _parameters(where: str, old: dict, op: dict, new: dict, new_op: dict) -> list[str]:
    out = []
    new_params = {(p["name"], p["in"]): p for p in new_op.get("parameters", [])}
    old_keys = set()
    for p in op.get("parameters", []):
        key = (p["name"], p["in"])
        old_keys.add(key)
        q = new_params.get(key)
        if q is None:
            out.append(f"{where}: parameter {p['name']} removed")
            continue
        if q.get("required") and not p.get("required"):
            out.append(f"{where}: parameter {p['name']} made required")
        out += [
            f"{where}: parameter {p['name']} {m}" for m in _accepts_less(old, p["schema"], new, q["schema"])
        ]
    for key, q in new_params.items():
        if key not in old_keys and q.get("required"):
            out.append(f"{where}: new required parameter {key[0]}")
    return out


def _types(schema: Schema) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(_types(s) for s in schema["anyOf"]))
    kind = schema.get("type")
    if kind is None:
        return {"object"} if "properties" in schema else {"any"}
    types = set(kind) if isinstance(kind, list) else {kind}
    if "number" in types:
        types.add("integer")
    return types


_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _limits(schema: Schema) -> dict[str, Any]:
    if "anyOf" in schema:
        merged: dict[str, Any] = {}
        for s in schema["anyOf"]:
            merged.update(_limits(s))
        return merged
    return {k: schema[k] for k in (*_LOWER, *_UPPER, "enum", "pattern", "format") if k in schema}


def _accepts_less(old: dict, a: Schema, new: dict, b: Schema) -> list[str]:
    """How ``b`` (new) accepts less than ``a`` (old), for values a client sends."""
    a, b = _resolve(old, a), _resolve(new, b)
    out = []
    lost = _types(a) - _types(b) if "any" not in _types(b) else set()
    if lost:
        out.append(f"no longer accepts type {', '.join(sorted(lost))}")
    la, lb = _limits(a), _limits(b)
    if "enum" in lb and set(la.get("enum", lb["enum"])) - set(lb["enum"]):
        out.append(f"no longer accepts {sorted(set(la.get('enum', [])) - set(lb['enum']))}")
    if "enum" in lb and "enum" not in la:
        out.append("restricted to an enum")
    for k in _LOWER:
        if k in lb and (k not in la or lb[k] > la[k]):
            out.append(f"{k} raised to {lb[k]}")
    for k in _UPPER:
        if k in lb and (k not in la or lb[k] < la[k]):
            out.append(f"{k} lowered to {lb[k]}")
    for k in ("pattern", "format"):
        if k in lb and lb[k] != la.get(k):
            out.append(f"{k} now {lb[k]}")
    return out


def _answer(where: str, old: dict, a: Schema, new: dict, b: Schema) -> list[str]:
    """How ``b`` (new) breaks a client that reads answers shaped like ``a`` (old)."""
    a, b = _resolve(old, a), _resolve(new, b)
    out = []
    if "any" not in _types(a):
        gained = _types(b) - _types(a)
        if gained:
            out.append(f"{where}: may now be {', '.join(sorted(gained))}")
    la, lb = _limits(a), _limits(b)
    if "enum" in la and set(lb.get("enum", ["<any>"])) - set(la["enum"]):
        out.append(f"{where}: new values {sorted(set(lb.get('enum', ['<any>'])) - set(la['enum']))}")
    for k in _LOWER:
        if k in la and (k not in lb or lb[k] < la[k]):
            out.append(f"{where}: {k} lowered")
    for k in _UPPER:
        if k in la and (k not in lb or lb[k] > la[k]):
            out.append(f"{where}: {k} raised")
    a_props, b_props = _properties(old, a), _properties(new, b)
    b_required = _required(new, b)
    for name in _required(old, a):
        if name not in b_props:
            out.append(f"{where}: field {name} removed")
        elif name not in b_required:
            out.append(f"{where}: field {name} no longer always present")
    for name, schema in a_props.items():
        if name in b_props:
            out += _answer(f"{where}.{name}", old, schema, new, b_props[name])
        elif name not in _required(old, a):
            out.append(f"{where}: field {name} removed")
    a_items, b_items = _branch(old, a, "items"), _branch(new, b, "items")
    if a_items is not None and b_items is not None:
        out += _answer(f"{where}[]", old, a_items, new, b_items)
    a_extra, b_extra = _branch(old, a, "additionalProperties"), _branch(new, b, "additionalProperties")
    if isinstance(a_extra, dict) and isinstance(b_extra, dict):
        out += _answer(f"{where}{{}}", old, a_extra, new, b_extra)
    return out


def _branches(doc: dict, schema: Schema) -> list[Schema]:
    schema = _resolve(doc, schema)
    if "anyOf" in schema:
        return [_resolve(doc, s) for s in schema["anyOf"]]
    return [schema]


def _properties(doc: dict, schema: Schema) -> dict[str, Schema]:
    props: dict[str, Schema] = {}
    for s in _branches(doc, schema):
        props.update(s.get("properties", {}))
    return props


def _required(doc: dict, schema: Schema) -> set[str]:
    required: set[str] = set()
    for s in _branches(doc, schema):
        required |= set(s.get("required", ()))
    return required


def _branch(doc: dict, schema: Schema, key: str) -> Any:
    for s in _branches(doc, schema):
        if key in s:
            return s[key]
    return None
