"""Admin forms for the catalog: field types, lengths and formats, with Chinese messages. The
choices that come from the database (categories, items) are filled in by the views."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from auth.models import UnitKind
from catalog import english
from catalog.models import DayKind, Delivery, DocForm, DocSource, FieldType, ItemType, Requirement
from core.forms import LocalDateField, PortalForm, strip

KEY_RE = r"^[a-z][a-z0-9_]{0,39}$"
KEY_MESSAGE = _l("只能由小写字母开头，包含小写字母、数字和下划线，最多40个字符")
ITEM_TYPE_CHOICES = [
    (ItemType.PERMIT.value, _l("行政许可")),
    (ItemType.CONFIRMATION.value, _l("行政确认")),
    (ItemType.PUBLIC_SERVICE.value, _l("公共服务")),
    (ItemType.OTHER.value, _l("其他")),
]
UNIT_KIND_CHOICES = [
    (UnitKind.BUREAU.value, _l("市公安局")),
    (UnitKind.BRANCH.value, _l("公安分局")),
    (UnitKind.POLICE_STATION.value, _l("派出所")),
    (UnitKind.VEHICLE_OFFICE.value, _l("车管所")),
    (UnitKind.EXIT_ENTRY.value, _l("出入境管理大队")),
    (UnitKind.PUBLIC_ORDER.value, _l("治安管理支队")),
]
DAY_KIND_CHOICES = [(DayKind.WORKING.value, _l("工作日")), (DayKind.CALENDAR.value, _l("自然日"))]
DELIVERY_CHOICES = [
    (Delivery.MAIL.value, _l("邮寄")),
    (Delivery.COUNTER.value, _l("窗口领取")),
    (Delivery.ECERT.value, _l("电子证照")),
]
DEPTH_CHOICES = [
    ("1", _l("★1 办事指南")),
    ("2", _l("★2 表格下载")),
    ("3", _l("★3 网上预审（仍需跑两次）")),
    ("4", _l("★4 网上申请，跑一次")),
    ("5", _l("★5 全程网办，零跑动")),
]
VISIT_CHOICES = [("0", "0"), ("1", "1"), ("2", "2")]
DOC_FORM_CHOICES = [
    (DocForm.ORIGINAL.value, _l("原件")),
    (DocForm.COPY.value, _l("复印件")),
    (DocForm.ELECTRONIC.value, _l("电子")),
]
REQUIREMENT_CHOICES = [
    (Requirement.REQUIRED.value, _l("必须")),
    (Requirement.OPTIONAL.value, _l("可选")),
    (Requirement.DEFERRABLE.value, _l("容缺（可后补）")),
]
SOURCE_CHOICES = [
    (DocSource.APPLICANT.value, _l("申请人自备")),
    (DocSource.GOVERNMENT.value, _l("政府部门核发（共享获取）")),
]
ACCEPT_CHOICES = [("jpg", "jpg"), ("png", "png"), ("pdf", "pdf")]
FIELD_TYPE_CHOICES = [
    (FieldType.TEXT.value, _l("单行文本")),
    (FieldType.TEXTAREA.value, _l("多行文本")),
    (FieldType.DATE.value, _l("日期")),
    (FieldType.SELECT.value, _l("下拉选择")),
    (FieldType.ID_NUMBER.value, _l("身份证号码")),
    (FieldType.MOBILE.value, _l("手机号码")),
    (FieldType.ADDRESS.value, _l("地址")),
    (FieldType.CHECKBOX.value, _l("勾选确认")),
]

_SPLIT = re.compile(r"[,，、;；\n]+")


def split_list(text: str | None) -> list[str]:
    """``驾照, 驾驶证、换证`` → ['驾照', '驾驶证', '换证'] (order kept, duplicates dropped)."""
    return list(dict.fromkeys(p.strip() for p in _SPLIT.split(text or "") if p.strip()))


def parse_when(text: str | None) -> dict[str, list[str]]:
    """``applicant=proxy; reason=lost,damaged`` → {'applicant': ['proxy'], 'reason': ['lost', 'damaged']}.
    Raises ValueError with a Chinese message."""
    out: dict[str, list[str]] = {}
    for part in re.split(r"[;；\n]+", text or ""):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"「{part}」应写成 情形键=选项值")
        key, values = (x.strip() for x in part.split("=", 1))
        vals = [v.strip() for v in re.split(r"[,，、|]+", values) if v.strip()]
        if not re.match(KEY_RE, key) or not vals:
            raise ValueError(f"「{part}」应写成 情形键=选项值（多个值用逗号分隔）")
        out[key] = vals
    return out


def format_when(condition: dict | None) -> str:
    return "; ".join(f"{k}={','.join(v)}" for k, v in (condition or {}).items())


def parse_options(text: str | None) -> list[tuple[str, str, Decimal | None]]:
    """One option per line, ``值|显示文字|收费（可省略）``. Raises ValueError with a Chinese message."""
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = [p.strip() for p in re.split(r"[|｜]", line)]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(f"第{n}行应写成 值|显示文字|收费（收费可省略）")
        if len(parts[0]) > 40 or len(parts[1]) > 100:
            raise ValueError(f"第{n}行：值不能超过40个字符，显示文字不能超过100个字符")
        fee = None
        if len(parts) == 3 and parts[2] != "":
            try:
                fee = Decimal(parts[2]).quantize(Decimal("0.01"))
            except InvalidOperation as exc:
                raise ValueError(f"第{n}行：收费应为金额（元）") from exc
            if fee < 0:
                raise ValueError(f"第{n}行：收费不能为负数")
        out.append((parts[0], parts[1], fee))
    if len(out) < 2:
        raise ValueError("至少需要两个选项")
    if len({o[0] for o in out}) != len(out):
        raise ValueError("选项值重复")
    return out


def format_options(options) -> str:
    lines = []
    for o in options:
        fee = "" if o.fee is None else f"|{Decimal(o.fee).normalize():f}"
        lines.append(f"{o.value}|{o.label}{fee}")
    return "\n".join(lines)


def parse_faq(text: str | None) -> list[dict[str, str]]:
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        if "|" not in line and "｜" not in line:
            raise ValueError(f"第{n}行应写成 问题|回答")
        q, a = (p.strip() for p in re.split(r"[|｜]", line, maxsplit=1))
        if not q or not a:
            raise ValueError(f"第{n}行：问题和回答都不能为空")
        out.append({"q": q, "a": a})
    return out


def format_faq(faq) -> str:
    return "\n".join(f"{f['q']}|{f['a']}" for f in faq or [])


def split_english(text: str | None) -> list[str]:
    """English aliases: one per line or comma-separated (spaces belong to the phrase)."""
    parts = re.split(r"[\n,，、;；]+", text or "")
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def parse_english_parts(text: str | None) -> dict:
    """The YAML of the documents', situations' and fields' English (catalog.english). Raises
    ValueError with a Chinese message."""
    import yaml

    if not (text or "").strip():
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark is not None else ""
        raise ValueError(f"{where}YAML 格式有误，请检查缩进和冒号") from exc
    if not isinstance(data, dict) or set(data) - {"documents", "situations", "fields"}:
        raise ValueError("应为 documents / situations / fields 三部分的映射")
    _normalised, problems = english.validate(data)
    if problems:
        raise ValueError("；".join(problems))
    return {k: data[k] for k in ("documents", "situations", "fields") if data.get(k)}


def _field_skeleton(f, en: dict) -> dict:
    out = {"label": en.get("label", ""), "help": en.get("help", "")}
    if f.options:
        out["options"] = {o: (en.get("options") or {}).get(o, "") for o in f.options}
    return out


def english_parts_skeleton(version) -> str:
    """The YAML an admin fills in: every document, situation and field, with its English so far."""
    import yaml

    en = version.english or {}
    docs, sits, fields = en.get("documents") or {}, en.get("situations") or {}, en.get("fields") or {}
    data = {
        "documents": {
            d.name: {
                "name": docs.get(d.name, {}).get("name", ""),
                "notes": docs.get(d.name, {}).get("notes", ""),
            }
            for d in version.documents
        },
        "situations": {
            s.key: {
                "question": sits.get(s.key, {}).get("question", ""),
                "options": {
                    o.value: (sits.get(s.key, {}).get("options") or {}).get(o.value, "") for o in s.options
                },
            }
            for s in version.situations
        },
        "fields": {f.key: _field_skeleton(f, fields.get(f.key, {})) for f in version.fields},
    }
    data = {k: v for k, v in data.items() if v}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000) if data else ""


class _Parsed:
    """A validator running a parse function, so its Chinese ValueError shows next to the field."""

    def __init__(self, parse) -> None:
        self.parse = parse

    def __call__(self, form, field) -> None:
        try:
            self.parse(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class ItemForm(PortalForm):
    """Every 实施清单 field of an item, in the sections of the edit page."""

    # 基本信息
    name = StringField(
        _l("事项名称"),
        filters=[strip],
        validators=[DataRequired(_l("请填写事项名称")), Length(max=100)],
        description=_l("与实施清单一致的正式名称"),
    )
    aliases = TextAreaField(
        _l("别名和俗称"),
        filters=[strip],
        validators=[Length(max=2000)],
        description=_l("群众会搜索的说法，用逗号或顿号分隔，如：驾照到期、换驾照"),
    )
    category_id = SelectField(_l("类别"), coerce=int, validators=[InputRequired(_l("请选择类别"))])
    item_type = SelectField(_l("事项类型"), choices=ITEM_TYPE_CHOICES)
    unit_kind = SelectField(_l("实施单位类型"), choices=UNIT_KIND_CHOICES)
    description = TextAreaField(
        _l("简介"),
        filters=[strip],
        validators=[Length(max=2000)],
        description=_l("一两句话，显示在办事指南和搜索结果中"),
    )
    popular = BooleanField(_l("在首页“常办事项”中显示"))
    # 法律与条件
    legal_basis = TextAreaField(
        _l("设定依据"), filters=[strip], validators=[DataRequired(_l("请填写设定依据")), Length(max=5000)]
    )
    conditions = TextAreaField(_l("受理条件"), filters=[strip], validators=[Length(max=5000)])
    # 时限与收费
    legal_days = IntegerField(
        _l("法定时限（天）"),
        validators=[InputRequired(_l("请填写法定时限")), NumberRange(0, 365, _l("应在 0 到 365 之间"))],
    )
    promised_days = IntegerField(
        _l("承诺时限（天）"),
        validators=[InputRequired(_l("请填写承诺时限")), NumberRange(0, 365, _l("应在 0 到 365 之间"))],
        description=_l("不能长于法定时限；即办件填 0"),
    )
    day_kind = SelectField(_l("计时方式"), choices=DAY_KIND_CHOICES)
    instant = BooleanField(_l("即办件（受理当场办结）"))
    min_assurance = SelectField(
        _l("申请人账号要求"),
        choices=[(1, _l("手机号已验证（L1）")), (2, _l("已实名核验（L2）：出具个人信息的事项"))],
        coerce=int,
        default=1,
        description=_l("户籍证明、亲属关系证明、无犯罪记录证明、出入境记录查询等出具个人信息的事项须 L2"),
    )
    fee = DecimalField(
        _l("收费标准（元）"),
        places=2,
        validators=[
            InputRequired(_l("请填写收费标准，免费填 0")),
            NumberRange(0, 1000000, _l("金额应在 0 到 1000000 元之间")),
        ],
        description=_l("免费填 0"),
    )
    fee_note = StringField(_l("收费说明"), filters=[strip], validators=[Length(max=200)])
    # 跑动与网办
    visits = SelectField(_l("到现场次数"), choices=VISIT_CHOICES, coerce=int)
    visit_reason = StringField(
        _l("到现场原因"),
        filters=[strip],
        validators=[Length(max=200)],
        description=_l("需要到现场时必须说明，如：采集人像和指纹"),
    )
    online_depth = SelectField(
        _l("网办深度"), choices=DEPTH_CHOICES, coerce=int, description=_l("★5 表示全程网办、结果送达、零跑动")
    )
    proxy_allowed = BooleanField(_l("允许亲友代办"))
    # 结果与送达
    result_name = StringField(_l("办理结果名称"), filters=[strip], validators=[Length(max=100)])
    e_certificate = BooleanField(_l("结果以电子证照签发"))
    delivery = SelectMultipleField(
        _l("送达方式"),
        choices=DELIVERY_CHOICES,
        description=_l("可多选；选择电子证照须同时勾选“结果以电子证照签发”"),
    )
    # 办理地点与咨询
    counters = StringField(_l("办理窗口"), filters=[strip], validators=[Length(max=300)])
    hours = StringField(_l("办公时间"), filters=[strip], validators=[Length(max=200)])
    phone = StringField(_l("咨询电话"), filters=[strip], validators=[Length(max=40)])
    complaint_phone = StringField(_l("投诉电话"), filters=[strip], validators=[Length(max=40)])
    faq = TextAreaField(
        _l("常见问题"),
        filters=[strip],
        validators=[_Parsed(parse_faq)],
        description=_l("每行一条：问题|回答"),
    )

    # 英文内容（外国人）
    foreigner_facing = BooleanField(
        _l("面向外国人"), description=_l("勾选后，发布时检查英文内容是否齐全，缺少的会提示")
    )
    name_en = StringField(_l("英文名称"), filters=[strip], validators=[Length(max=200)])
    aliases_en = TextAreaField(
        _l("英文别名"),
        filters=[strip],
        validators=[Length(max=3000)],
        description=_l(
            "外国人会搜索的英文说法，每行一个或用逗号分隔：正式名称、日常说法、英美两种拼写、单数和复数"
        ),
    )
    description_en = TextAreaField(_l("英文简介"), filters=[strip], validators=[Length(max=3000)])
    conditions_en = TextAreaField(_l("英文受理条件"), filters=[strip], validators=[Length(max=5000)])
    visit_reason_en = StringField(_l("英文到现场原因"), filters=[strip], validators=[Length(max=300)])
    result_name_en = StringField(_l("英文办理结果名称"), filters=[strip], validators=[Length(max=200)])
    fee_note_en = StringField(_l("英文收费说明"), filters=[strip], validators=[Length(max=400)])
    counters_en = StringField(_l("英文办理窗口"), filters=[strip], validators=[Length(max=400)])
    hours_en = StringField(_l("英文办公时间"), filters=[strip], validators=[Length(max=300)])
    faq_en = TextAreaField(
        _l("英文常见问题"),
        filters=[strip],
        validators=[_Parsed(parse_faq)],
        description=_l("每行一条：问题|回答"),
    )
    parts_en = TextAreaField(
        _l("材料、情形和表单字段的英文"),
        filters=[strip],
        validators=[Length(max=20000), _Parsed(parse_english_parts)],
        description=_l("YAML：按材料名称、情形键和字段键填写英文；留空的显示中文"),
    )

    def validate_promised_days(self, field) -> None:
        if field.data is not None and self.legal_days.data is not None and field.data > self.legal_days.data:
            raise ValidationError(_l("承诺时限不能长于法定时限"))

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "aliases": split_list(self.aliases.data),
            "category_id": self.category_id.data,
            "item_type": ItemType(self.item_type.data),
            "unit_kind": UnitKind(self.unit_kind.data),
            "legal_basis": self.legal_basis.data,
            "conditions": self.conditions.data or "",
            "description": self.description.data or "",
            "legal_days": self.legal_days.data,
            "promised_days": self.promised_days.data,
            "day_kind": DayKind(self.day_kind.data),
            "instant": bool(self.instant.data),
            "min_assurance": int(self.min_assurance.data or 1),
            "fee": self.fee.data,
            "fee_note": self.fee_note.data or "",
            "visits": self.visits.data,
            "visit_reason": self.visit_reason.data or "",
            "online_depth": self.online_depth.data,
            "delivery": list(self.delivery.data or []),
            "result_name": self.result_name.data or "",
            "e_certificate": bool(self.e_certificate.data),
            "proxy_allowed": bool(self.proxy_allowed.data),
            "counters": self.counters.data or "",
            "hours": self.hours.data or "",
            "phone": self.phone.data or "",
            "complaint_phone": self.complaint_phone.data or "",
            "popular": bool(self.popular.data),
            "faq": parse_faq(self.faq.data),
            "foreigner_facing": bool(self.foreigner_facing.data),
            "english": self.english(),
        }

    def english(self) -> dict:
        raw = {
            "name": self.name_en.data or "",
            "aliases": split_english(self.aliases_en.data),
            "description": self.description_en.data or "",
            "conditions": self.conditions_en.data or "",
            **{key: getattr(self, f"{key}_en").data or "" for key in english.GUIDE_KEYS},
            "faq": parse_faq(self.faq_en.data),
            **parse_english_parts(self.parts_en.data),
        }
        normalised, _problems = english.validate(raw)  # parse_english_parts already refused bad parts
        return {k: v for k, v in normalised.items() if v}


def _code_field(label, required, example: str) -> StringField:
    """A catalog code: what URLs, exports and imports name an item or a bundle by."""
    return StringField(
        label,
        filters=[strip],
        validators=[
            DataRequired(required),
            Length(max=40),
            Regexp(
                r"^[A-Z][A-Z0-9-]{2,39}$", message=_l("由大写字母、数字和连字符组成，如 %(e)s", e=example)
            ),
        ],
    )


class NewItemForm(ItemForm):
    code = _code_field(_l("事项编码"), _l("请填写事项编码"), "LJ-HJ-031")


class DocumentForm(PortalForm):
    name = StringField(
        _l("材料名称"), filters=[strip], validators=[DataRequired(_l("请填写材料名称")), Length(max=100)]
    )
    form = SelectField(_l("材料形式"), choices=DOC_FORM_CHOICES)
    copies = IntegerField(
        _l("份数"),
        default=1,
        validators=[InputRequired(_l("请填写份数")), NumberRange(0, 20, _l("应在 0 到 20 之间"))],
    )
    requirement = SelectField(
        _l("必要性"), choices=REQUIREMENT_CHOICES, description=_l("容缺：可先受理，材料后补")
    )
    source = SelectField(
        _l("来源"),
        choices=SOURCE_CHOICES,
        description=_l("政府部门核发的材料由系统共享获取，不再要求群众提交"),
    )
    issuer = StringField(
        _l("核发单位"),
        filters=[strip],
        validators=[Length(max=100)],
        description=_l("来源为政府部门核发时必填"),
    )
    notes = TextAreaField(_l("备注"), filters=[strip], validators=[Length(max=2000)])
    accept = SelectMultipleField(
        _l("允许上传的文件类型"), choices=ACCEPT_CHOICES, default=["jpg", "png", "pdf"]
    )
    when = StringField(
        _l("适用情形"),
        filters=[strip],
        validators=[Length(max=300), _Parsed(parse_when)],
        description=_l("留空表示总是需要；如 applicant=proxy 表示仅代办时需要，多个值用逗号分隔"),
    )
    blank_form = StringField(_l("空白表格链接"), filters=[strip], validators=[Length(max=200)])
    sample = StringField(_l("填写样例链接"), filters=[strip], validators=[Length(max=200)])

    def validate_issuer(self, field) -> None:
        if self.source.data == DocSource.GOVERNMENT.value and not field.data:
            raise ValidationError(_l("由政府部门核发的材料须写明核发单位"))

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "form": DocForm(self.form.data),
            "copies": self.copies.data,
            "requirement": Requirement(self.requirement.data),
            "source": DocSource(self.source.data),
            "issuer": self.issuer.data or "",
            "notes": self.notes.data or "",
            "accept": list(self.accept.data or []) or ["jpg", "png", "pdf"],
            "condition": parse_when(self.when.data),
            "blank_form": self.blank_form.data or None,
            "sample": self.sample.data or None,
        }


class SituationForm(PortalForm):
    key = StringField(
        _l("情形键"),
        filters=[strip],
        validators=[DataRequired(_l("请填写情形键")), Regexp(KEY_RE, message=KEY_MESSAGE)],
        description=_l("材料和表单字段的“适用情形”用它引用本问题，如 applicant"),
    )
    question = StringField(
        _l("问题"), filters=[strip], validators=[DataRequired(_l("请填写问题")), Length(max=200)]
    )
    options = TextAreaField(
        _l("选项"),
        validators=[DataRequired(_l("请填写选项")), _Parsed(parse_options)],
        description=_l("每行一个：值|显示文字|收费（元，可省略；填写则覆盖事项收费）"),
    )

    def values(self) -> dict:
        return {
            "key": self.key.data,
            "question": self.question.data,
            "options": parse_options(self.options.data),
        }


class FieldForm(PortalForm):
    key = StringField(
        _l("字段键"),
        filters=[strip],
        validators=[DataRequired(_l("请填写字段键")), Regexp(KEY_RE, message=KEY_MESSAGE)],
    )
    label = StringField(
        _l("字段名称"), filters=[strip], validators=[DataRequired(_l("请填写字段名称")), Length(max=100)]
    )
    type = SelectField(_l("类型"), choices=FIELD_TYPE_CHOICES)
    required = BooleanField(_l("必填"))
    options = TextAreaField(
        _l("下拉选项"),
        filters=[strip],
        validators=[Length(max=2000)],
        description=_l("类型为下拉选择时填写，每行一个，至少两个"),
    )
    help = StringField(_l("填写说明"), filters=[strip], validators=[Length(max=300)])
    when = StringField(
        _l("适用情形"),
        filters=[strip],
        validators=[Length(max=300), _Parsed(parse_when)],
        description=_l("留空表示总是显示；如 applicant=proxy"),
    )

    def validate_options(self, field) -> None:
        if self.type.data == FieldType.SELECT.value and len(split_list(field.data)) < 2:
            raise ValidationError(_l("下拉字段至少需要两个选项"))

    def values(self) -> dict:
        return {
            "key": self.key.data,
            "label": self.label.data,
            "type": FieldType(self.type.data),
            "required": bool(self.required.data),
            "options": split_list(self.options.data) if self.type.data == FieldType.SELECT.value else [],
            "help": self.help.data or "",
            "condition": parse_when(self.when.data),
        }


class BundleForm(PortalForm):
    name = StringField(
        _l("名称"), filters=[strip], validators=[DataRequired(_l("请填写名称")), Length(max=100)]
    )
    aliases = StringField(
        _l("别名"), filters=[strip], validators=[Length(max=500)], description=_l("用逗号或顿号分隔")
    )
    description = TextAreaField(_l("说明"), filters=[strip], validators=[Length(max=2000)])
    items = TextAreaField(
        _l("包含的事项编码"),
        filters=[strip],
        validators=[DataRequired(_l("至少包含一个事项"))],
        description=_l("每行一个事项编码，按办理顺序排列"),
    )
    partners = TextAreaField(
        _l("其他部门的事项"),
        filters=[strip],
        validators=[Length(max=2000)],
        description=_l("每行一个，仅作文字说明"),
    )


class NewBundleForm(BundleForm):
    code = _code_field(_l("编码"), _l("请填写编码"), "LJ-YJS-006")


class CalendarForm(PortalForm):
    day = LocalDateField(_l("日期"), validators=[InputRequired(_l("请选择日期"))])
    working = SelectField(_l("该日"), choices=[("0", _l("不上班（休息日）")), ("1", _l("上班（工作日）"))])
    note = StringField(
        _l("说明"),
        filters=[strip],
        validators=[Length(max=100)],
        description=_l("如：市政府临时放假、调休上班"),
    )


class ArrangementForm(PortalForm):
    """A year's 放假安排, typed or pasted (the file upload, when used, is read in the view)."""

    text = TextAreaField(
        _l("放假安排"),
        validators=[Length(max=4000)],
        description=_l("每行一段：名称 日期，或 名称 起始日期 ~ 结束日期；调休上班的日期写“上班 日期”。"),
        render_kw={"rows": 12, "spellcheck": "false"},
    )
    note = StringField(
        _l("依据"),
        filters=[strip],
        validators=[Length(max=200)],
        description=_l("如：国务院办公厅关于2027年部分节假日安排的通知"),
    )


class ImportForm(PortalForm):
    """The file comes from request.files (checked in the view)."""


class ActionForm(PortalForm):
    """Any POST button (publish, retire, delete, move)."""


__all__ = [
    "ActionForm",
    "ArrangementForm",
    "BundleForm",
    "CalendarForm",
    "DocumentForm",
    "FieldForm",
    "ImportForm",
    "ItemForm",
    "NewBundleForm",
    "NewItemForm",
    "Optional",
    "SituationForm",
]
