"""The public API's shapes for the catalog (``/api/v1/items``, ``/api/v1/categories``): the views
build their answers with these models and the OpenAPI document is generated from them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from catalog.loader import CATEGORIES
from catalog.models import Delivery, DocForm, DocSource, FieldType, ItemType, Requirement
from core.api import Field

CategoryCode = Literal[tuple(c[0] for c in CATEGORIES)]  # type: ignore[valid-type]
Condition = dict[str, list[str]]


def _values(enum_cls) -> object:
    return Literal[tuple(e.value for e in enum_cls)]  # type: ignore[valid-type]


class Out(BaseModel):
    """An answer: exactly these fields, nothing else."""

    model_config = ConfigDict(extra="forbid")


PASSPORT = {
    "code": "LJ-CR-001",
    "name": "普通护照签发",
    "category": "exit_entry",
    "online_depth": 4,
    "visits_required": 1,
    "promised_days": 5,
    "legal_days": 15,
    "fee": 120.0,
    "instant": False,
    "url": "/items/LJ-CR-001",
}


class ItemSummary(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PASSPORT]})

    code: str = Field(description="事项编码", examples=["LJ-CR-001"])
    name: str = Field(description="事项名称")
    category: CategoryCode = Field(
        description="类别：户籍 huji · 车驾管 vehicle · 出入境 exit_entry · 治安管理 public_order"
    )
    online_depth: int = Field(ge=1, le=5, description="网办深度 ★1–★5（★5 全程网办、零跑动）")
    visits_required: int = Field(ge=0, le=2, description="到现场次数")
    promised_days: int = Field(ge=0, description="承诺时限（天，见 day_kind）")
    legal_days: int = Field(ge=0, description="法定时限（天，见 day_kind）")
    fee: float = Field(ge=0, description="收费（元），0 为免费")
    instant: bool = Field(description="即办件")
    url: str = Field(description="办事指南页面的路径", examples=["/items/LJ-CR-001"])


class Option(Out):
    value: str
    label: str
    fee: float | None = Field(ge=0, description="选此项时的收费（元）；null 时按事项收费")


class SituationOut(Out):
    key: str = Field(description="情形的参数名（作为查询参数回答）")
    question: str
    options: list[Option]


class DocumentOut(Out):
    name: str
    form: _values(DocForm) = Field(description="原件 / 复印件 / 电子")  # type: ignore[valid-type]
    copies: int = Field(ge=0)
    requirement: _values(Requirement) = Field(description="必须 / 可选 / 容缺后补")  # type: ignore[valid-type]
    source: _values(DocSource) = Field(description="申请人自备 / 部门共享获取（无需提交）")  # type: ignore[valid-type]
    issuer: str
    notes: str
    accept: list[str] = Field(description="接受的文件类型")
    condition: Condition = Field(description="适用的情形：情形 → 选项；空对象为总是需要")


class FormFieldOut(Out):
    key: str
    label: str
    type: _values(FieldType)  # type: ignore[valid-type]
    required: bool
    options: list[str]
    condition: Condition


class Faq(Out):
    q: str
    a: str


class GuideOut(Out):
    answers: dict[str, str] = Field(description="采用的情形回答（未回答的取默认选项）")
    fee: float = Field(ge=0)
    documents: list[str] = Field(description="按回答需要提交的材料")


class ItemDetail(ItemSummary):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="事项版本")
    aliases: list[str]
    item_type: _values(ItemType) = Field(description="行政许可 / 行政确认 / 公共服务 / 其他")  # type: ignore[valid-type]
    legal_basis: str
    conditions: str
    description: str
    day_kind: Literal["working", "calendar"] = Field(description="时限按工作日或自然日计")
    fee_note: str
    visit_reason: str
    delivery: list[_values(Delivery)]  # type: ignore[valid-type]
    result_name: str
    e_certificate: bool
    proxy_allowed: bool
    counters: str
    hours: str
    phone: str
    complaint_phone: str
    faq: list[Faq]
    situations: list[SituationOut]
    documents: list[DocumentOut]
    fields: list[FormFieldOut]
    guide: GuideOut | None = Field(
        None, description="仅当以查询参数回答了情形时出现：该回答下的材料与收费（一次性告知）"
    )


class ItemList(Out):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [PASSPORT], "total": 3, "page": 1, "per_page": 20}]},
    )

    items: list[ItemSummary]
    total: int = Field(ge=0, description="符合条件的事项总数")
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=100)


class CategoryOut(Out):
    code: CategoryCode
    name: str
    description: str
    items: int = Field(ge=0, description="已发布事项数")
    url: str


class CategoryList(Out):
    categories: list[CategoryOut]


class ItemsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = Field(
        "", description="搜索词：名称、别名、俗称、拼音或首字母", examples=["护照", "hz"]
    )
    category: CategoryCode | None = Field(None, description="只列出这一类别")
    page: int = Field(1, ge=1, le=10000, description="页码")
    per_page: int = Field(20, ge=1, le=100, description="每页条数")
