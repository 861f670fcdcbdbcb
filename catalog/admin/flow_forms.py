"""Forms of the 一件事 flow editor and the external departments register.

A flow (:mod:`catalog.bundle_spec`) is typed in four sections, each a text box with the house's line
format (as situations' options are typed in the item editor) — one shared question, situation or shared
document per line — and the steps with their maps as YAML (the format of the catalog files). Each
section is parsed on its own, so a mistake is reported in Chinese at the section it is in, with the line
number, and nothing typed is lost. The definition's cross-references (a source naming a missing question,
a dependency cycle …) and the catalog checks are the publish checks; a draft may be saved with them.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from catalog.admin.forms import FIELD_TYPE_CHOICES, KEY_MESSAGE, KEY_RE
from core.forms import PortalForm, strip

_KEY = re.compile(KEY_RE)
_BAR = re.compile(r"[|｜]")
_LIST = re.compile(r"[,，、;；]+")
FIELD_TYPES = {str(value): value for value, _label in FIELD_TYPE_CHOICES}
YES = {"", "必填", "必须", "是", "required", "yes"}
NO = {"选填", "可选", "否", "optional", "no"}
STEP_KEYS = (
    "key",
    "kind",
    "name",
    "item",
    "department",
    "depends_on",
    "field_map",
    "situation_map",
    "document_map",
    "payload_map",
)
MAPS = ("field_map", "situation_map", "document_map", "payload_map")


def _type_of(text: str) -> str | None:
    """A field type from its code (``text``) or its Chinese name (单行文本)."""
    if text in FIELD_TYPES:
        return text
    labels = {str(label): value for value, label in FIELD_TYPE_CHOICES}
    return labels.get(text)


def _key_problem(n: int, key: str) -> str | None:
    if not _KEY.match(key):
        return _("第%(n)s行：标识“%(key)s”%(rule)s", n=n, key=key, rule=str(KEY_MESSAGE))
    return None


def _required(n: int, text: str) -> bool:
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(_("第%(n)s行：是否必填应写“必填”或“选填”，而不是“%(text)s”", n=n, text=text))


def _lines(text: str | None):
    for n, line in enumerate((text or "").splitlines(), 1):
        if line.strip():
            yield n, line


def _check_unique(keys: list[tuple[int, str]]) -> None:
    seen: dict[str, int] = {}
    for n, key in keys:
        if key in seen:
            raise ValueError(_("第%(n)s行：标识“%(key)s”与第%(m)s行重复", n=n, key=key, m=seen[key]))
        seen[key] = n


def parse_questions(text: str | None) -> list[dict[str, Any]]:
    """One shared question per line: ``键|问题|类型|必填或选填|选项（用顿号分隔）|说明``; the type, the
    required flag, the options and the help may be left out. Raises ValueError in Chinese."""
    out, keys = [], []
    for n, line in _lines(text):
        parts = [p.strip() for p in _BAR.split(line)]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(_("第%(n)s行应写成 键|问题|类型|必填或选填|选项|说明（后四项可省略）", n=n))
        if len(parts) > 6:
            raise ValueError(_("第%(n)s行的“|”太多：最多六项", n=n))
        parts += [""] * (6 - len(parts))
        key, label, kind, required, options, help_ = parts
        if problem := _key_problem(n, key):
            raise ValueError(problem)
        if len(label) > 100 or len(help_) > 300:
            raise ValueError(_("第%(n)s行：问题不能超过100个字符，说明不能超过300个字符", n=n))
        field_type = _type_of(kind or "text")
        if field_type is None:
            names = "、".join(f"{v}（{label_}）" for v, label_ in FIELD_TYPE_CHOICES)
            raise ValueError(
                _("第%(n)s行：类型“%(kind)s”不可用，可用：%(names)s", n=n, kind=kind, names=names)
            )
        opts = list(dict.fromkeys(o.strip() for o in _LIST.split(options) if o.strip()))
        if field_type == "select" and len(opts) < 2:
            raise ValueError(_("第%(n)s行：下拉选择至少需要两个选项，用顿号分隔", n=n))
        if field_type != "select" and opts:
            raise ValueError(_("第%(n)s行：只有下拉选择（select）可以有选项", n=n))
        keys.append((n, key))
        out.append(
            {
                "key": key,
                "label": label,
                "type": field_type,
                "required": _required(n, required),
                "options": opts,
                "help": help_,
            }
        )
    _check_unique(keys)
    return out


def format_questions(questions: list[dict[str, Any]]) -> str:
    lines = []
    for q in questions:
        parts = [
            q.get("key", ""),
            q.get("label", ""),
            q.get("type", "text"),
            "必填" if q.get("required", True) else "选填",
            "、".join(q.get("options") or []),
            q.get("help", ""),
        ]
        while parts[-1] == "" and len(parts) > 4:
            parts.pop()
        lines.append("|".join(str(p) for p in parts))
    return "\n".join(lines)


def parse_situations(text: str | None) -> list[dict[str, Any]]:
    """A situation question on one line, ``键|问题``, then its options, one per line, each starting with
    ``-``: ``- 值|显示文字`` (at least two). Raises ValueError in Chinese."""
    out: list[dict[str, Any]] = []
    keys = []
    for n, line in _lines(text):
        stripped = line.strip()
        if stripped.startswith(("-", "－")):
            if not out:
                raise ValueError(_("第%(n)s行：选项前面应先有一行 键|问题", n=n))
            parts = [p.strip() for p in _BAR.split(stripped[1:].strip())]
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise ValueError(_("第%(n)s行：选项应写成 - 值|显示文字", n=n))
            if len(parts[0]) > 40 or len(parts[1]) > 100:
                raise ValueError(_("第%(n)s行：值不能超过40个字符，显示文字不能超过100个字符", n=n))
            if parts[0] in {o["value"] for o in out[-1]["options"]}:
                raise ValueError(_("第%(n)s行：选项值“%(v)s”重复", n=n, v=parts[0]))
            out[-1]["options"].append({"value": parts[0], "label": parts[1]})
            continue
        parts = [p.strip() for p in _BAR.split(stripped)]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(_("第%(n)s行应写成 键|问题；选项另起一行，写成 - 值|显示文字", n=n))
        if problem := _key_problem(n, parts[0]):
            raise ValueError(problem)
        if len(parts[1]) > 200:
            raise ValueError(_("第%(n)s行：问题不能超过200个字符", n=n))
        if out and len(out[-1]["options"]) < 2:
            raise ValueError(_("情形“%(key)s”至少需要两个选项", key=out[-1]["key"]))
        keys.append((n, parts[0]))
        out.append({"key": parts[0], "question": parts[1], "options": []})
    if out and len(out[-1]["options"]) < 2:
        raise ValueError(_("情形“%(key)s”至少需要两个选项", key=out[-1]["key"]))
    _check_unique(keys)
    return out


def format_situations(situations: list[dict[str, Any]]) -> str:
    lines = []
    for s in situations:
        lines.append(f"{s.get('key', '')}|{s.get('question', '')}")
        lines.extend(f"- {o.get('value', '')}|{o.get('label', '')}" for o in s.get("options") or [])
    return "\n".join(lines)


def parse_documents(text: str | None) -> list[dict[str, Any]]:
    """One shared document per line: ``键|材料名称|必须或可选|说明`` (the last two may be left out)."""
    out, keys = [], []
    for n, line in _lines(text):
        parts = [p.strip() for p in _BAR.split(line)]
        if len(parts) < 2 or len(parts) > 4 or not parts[0] or not parts[1]:
            raise ValueError(_("第%(n)s行应写成 键|材料名称|必须或可选|说明（后两项可省略）", n=n))
        parts += [""] * (4 - len(parts))
        key, name, required, help_ = parts
        if problem := _key_problem(n, key):
            raise ValueError(problem)
        if len(name) > 100 or len(help_) > 300:
            raise ValueError(_("第%(n)s行：材料名称不能超过100个字符，说明不能超过300个字符", n=n))
        keys.append((n, key))
        out.append({"key": key, "name": name, "required": _required(n, required), "help": help_})
    _check_unique(keys)
    return out


def format_documents(documents: list[dict[str, Any]]) -> str:
    lines = []
    for d in documents:
        parts = [
            d.get("key", ""),
            d.get("name", ""),
            "必须" if d.get("required", True) else "可选",
            d.get("help", ""),
        ]
        if not parts[-1]:
            parts.pop()
        lines.append("|".join(str(p) for p in parts))
    return "\n".join(lines)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _step_problems(i: int, raw: Any) -> list[str]:
    where = _("第%(i)s个步骤", i=i)
    if not isinstance(raw, dict):
        return [_("%(where)s应为“键: 值”的映射（以“- key: …”开头）", where=where)]
    if _text(raw.get("key")):
        where = _("步骤“%(key)s”", key=raw["key"])
    problems = []
    unknown = [str(k) for k in raw if k not in STEP_KEYS]
    if unknown:
        problems.append(
            _(
                "%(where)s有无法识别的设置：%(keys)s（可用：%(known)s）",
                where=where,
                keys="、".join(unknown),
                known="、".join(STEP_KEYS),
            )
        )
    key = raw.get("key")
    if not _text(key):
        problems.append(_("%(where)s缺少 key（步骤标识）", where=where))
    elif not _KEY.match(str(key)):
        problems.append(_("%(where)s的标识%(rule)s", where=where, rule=str(KEY_MESSAGE)))
    if raw.get("kind") not in ("item", "handoff"):
        problems.append(_("%(where)s的 kind 应为 item（公安事项）或 handoff（协办部门）", where=where))
    if not _text(raw.get("name")) or len(str(raw.get("name"))) > 100:
        problems.append(_("%(where)s的 name（步骤名称）应填写，最多100个字符", where=where))
    for field in ("item", "department"):
        value = raw.get(field)
        if value is not None and (not _text(value) or len(str(value)) > 40):
            problems.append(_("%(where)s的 %(field)s 应为不超过40个字符的编码", where=where, field=field))
    deps = raw.get("depends_on", [])
    if not isinstance(deps, list) or not all(_text(d) for d in deps):
        problems.append(_("%(where)s的 depends_on 应为步骤标识的列表，如 [hukou, insurance]", where=where))
    for name in MAPS:
        value = raw.get(name, {})
        if not isinstance(value, dict) or not all(_text(k) and _text(v) for k, v in value.items()):
            problems.append(
                _(
                    "%(where)s的 %(name)s 应为“键: 来源”的映射，如 {baby_name: shared.baby_name}",
                    where=where,
                    name=name,
                )
            )
    return problems


def parse_steps(text: str | None) -> list[dict[str, Any]]:
    """The steps as YAML: a list of mappings with the keys of :class:`catalog.bundle_spec.Step`.
    Raises ValueError in Chinese naming every structural mistake."""
    if not (text or "").strip():
        raise ValueError(_("至少需要一个步骤"))
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _("第%(n)s行：", n=mark.line + 1) if mark is not None else ""
        raise ValueError(where + _("YAML 格式有误，请检查缩进、冒号和“- ”")) from None
    if not isinstance(data, list) or not data:
        raise ValueError(_("步骤应为列表：每个步骤以“- key: …”开头"))
    problems = []
    for i, raw in enumerate(data, 1):
        problems.extend(_step_problems(i, raw))
    if problems:
        raise ValueError("；".join(problems))
    steps = []
    for raw in data:
        step: dict[str, Any] = {
            "key": str(raw["key"]).strip(),
            "kind": raw["kind"],
            "name": str(raw["name"]).strip(),
            "depends_on": [str(d).strip() for d in raw.get("depends_on") or []],
        }
        for field in ("item", "department"):
            if raw.get(field) is not None:
                step[field] = str(raw[field]).strip()
        for name in MAPS:
            if raw.get(name):
                step[name] = {str(k).strip(): str(v).strip() for k, v in raw[name].items()}
        steps.append(step)
    return steps


def format_steps(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return ""
    ordered = [{k: s[k] for k in STEP_KEYS if k in s and s[k] not in (None, [], {})} for s in steps]
    return yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)


class _Parsed:
    def __init__(self, parse) -> None:
        self.parse = parse

    def __call__(self, form, field) -> None:
        try:
            self.parse(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class FlowForm(PortalForm):
    """The draft of a bundle's flow, one text box per section."""

    questions = TextAreaField(
        _l("共同问题（只问一次）"),
        validators=[Length(max=20000), _Parsed(parse_questions)],
        description=_l(
            "每行一个：键|问题|类型|必填或选填|选项|说明，后四项可省略。"
            "类型：text 单行文本、textarea 多行文本、date 日期、select 下拉选择（选项用顿号分隔）、"
            "id_number 身份证号码、mobile 手机号码、address 地址、checkbox 勾选确认。"
            "例：baby_name|新生儿姓名|text|必填"
        ),
        render_kw={"rows": 6, "spellcheck": "false"},
    )
    situations = TextAreaField(
        _l("情形问题（合并后只答一次）"),
        validators=[Length(max=20000), _Parsed(parse_situations)],
        description=_l(
            "一行 键|问题，下面每个选项一行：- 值|显示文字（至少两个）。例：follow|随父还是随母落户？"
        ),
        render_kw={"rows": 6, "spellcheck": "false"},
    )
    documents = TextAreaField(
        _l("共用材料（只上传一次）"),
        validators=[Length(max=20000), _Parsed(parse_documents)],
        description=_l("每行一个：键|材料名称|必须或可选|说明，后两项可省略。例：birth_cert|出生医学证明"),
        render_kw={"rows": 5, "spellcheck": "false"},
    )
    steps = TextAreaField(
        _l("步骤与映射（YAML）"),
        validators=[Length(max=50000), _Parsed(parse_steps)],
        description=_l(
            "每个步骤以“- key: 标识”开头。kind 为 item（公安事项）时填 item 事项编码"
            "和 field_map / situation_map / document_map；"
            "为 handoff（协办部门）时填 department 部门编码和 payload_map。"
            "depends_on 列出须先办结的步骤。"
            "来源写作 shared.问题键、situation.情形键、result.步骤.名称（须列入 depends_on）"
            "或 const:固定值；"
            "document_map 写作 事项材料名称: 共用材料键。"
        ),
        render_kw={"rows": 16, "spellcheck": "false"},
    )

    def definition(self) -> dict[str, Any]:
        """The definition typed (call after a successful validate)."""
        return {
            "questions": parse_questions(self.questions.data),
            "situations": parse_situations(self.situations.data),
            "documents": parse_documents(self.documents.data),
            "steps": parse_steps(self.steps.data),
        }

    def fill(self, definition: dict[str, Any]) -> None:
        self.questions.data = format_questions(definition.get("questions") or [])
        self.situations.data = format_situations(definition.get("situations") or [])
        self.documents.data = format_documents(definition.get("documents") or [])
        self.steps.data = format_steps(definition.get("steps") or [])


_LOCAL = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d{1,5})?(/|$)")


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` may not receive hand-offs (None: it may): https only, except a local receiver in
    development (``http://127.0.0.1`` or ``http://localhost``)."""
    if not url:
        return None
    if _LOCAL.match(url):
        return None
    if not re.match(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$", url):
        if url.startswith("http://"):
            return _("推送地址须使用 https；只有开发环境的 http://127.0.0.1 或 http://localhost 可以用 http")
        return _("推送地址应为完整的 https 网址，如 https://exchange.example.gov.cn/handoffs")
    return None


class DepartmentForm(PortalForm):
    code = StringField(
        _l("部门编码"),
        filters=[strip],
        validators=[DataRequired(_l("请填写部门编码")), Regexp(KEY_RE, message=KEY_MESSAGE)],
        description=_l("联办流程的步骤用它指定部门，如 wsjk；创建后不能修改"),
    )
    name = StringField(
        _l("部门名称"), filters=[strip], validators=[DataRequired(_l("请填写部门名称")), Length(max=100)]
    )
    english_name = StringField(_l("英文名称"), filters=[strip], validators=[Optional(), Length(max=200)])
    endpoint_url = StringField(
        _l("推送地址"),
        filters=[strip],
        validators=[Optional(), Length(max=300)],
        description=_l("须为 https 网址；留空表示使用开发环境的本地接收器（只记录，不答复）"),
    )
    contract = StringField(
        _l("数据契约"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=40),
            Regexp(
                r"^[a-z0-9][a-z0-9.-]*$", message=_l("只能由小写字母、数字、点和连字符组成，如 sscard-v1")
            ),
        ],
        description=_l("推送消息采用的 JSON 契约名称，如 birth-insurance-v1"),
    )
    active = BooleanField(_l("启用"), default=True)

    def validate_endpoint_url(self, field) -> None:
        problem = endpoint_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.data,
            "english_name": self.english_name.data or "",
            "endpoint_url": self.endpoint_url.data or "",
            "contract": self.contract.data or "",
            "active": bool(self.active.data),
        }
