"""The public API's shapes for ``GET /api/v1/ask`` (智能咨询): the view validates its parameters and
builds its answer with these models, and the OpenAPI document is generated from them (core.api)."""

from __future__ import annotations

from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from catalog.ask.engine import MAX_QUESTION
from core.api import Field

#: no control character, and at least one character that is not a space (the document says so too)
QUESTION_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


class AskQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    q: str = Field(
        description="用自己的话描述要办的事（中文或英文）",
        examples=["女儿满月了还没上户口"],
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION, "pattern": QUESTION_PATTERN},
    )
    item: str | None = Field(
        None, max_length=64, description="澄清后选定的事项编码（可选）", examples=["LJ-HJ-001"]
    )

    @field_validator("q")
    @classmethod
    def _question(cls, value: str) -> str:
        if any(c in _CONTROL for c in value):
            raise PydanticCustomError("invalid_characters", _("问题中含有无法识别的字符，请重新输入"))
        if len(value) > MAX_QUESTION:
            raise PydanticCustomError(
                "question_too_long", _("问题不能超过%(n)s个字，请简要描述", n=MAX_QUESTION)
            )
        if not value.strip():
            raise PydanticCustomError("empty_question", _("请输入您想咨询的问题"))
        return value.strip()


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="事项编码")
    name: str
    score: float = Field(ge=0, le=1, description="匹配程度（0–1）")
    situations: dict[str, str] = Field(description="从问题中推断出的情形回答（情形键 → 选项值）")


class Situation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    question: str
    value: str
    label: str
    inferred: bool = Field(description="是否从问题中推断（否则为默认或已选择）")


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    form: str
    copies: int
    requirement: str
    notes: str


class AnswerCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    url: str = Field(description="办事指南（带已推断的情形）")
    situations: list[Situation]
    documents: list[Document] = Field(description="需要携带或上传的材料")
    fetched: list[str] = Field(description="无需提交、由部门调取的材料")
    fee: float = Field(ge=0)
    fee_note: str
    promised_days: int
    day_kind: str
    instant: bool
    visits: int = Field(ge=0, description="最多到场次数")
    visit_reason: str
    counters: str
    hours: str
    phone: str
    apply_url: str | None = Field(description="在线申请（不能网上申请时为 null）")
    book_url: str | None = Field(description="预约到场（零跑动事项为 null）")
    notice_url: str = Field(description="一次性告知单")


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    label: str


class Clarify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["item", "situation"]
    question: str
    options: list[Option]
    item: str | None = None
    key: str | None = None


class AskOut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "身份证丢了怎么办",
                    "items": [
                        {"code": "LJ-HJ-010", "name": "居民身份证补领", "score": 0.92, "situations": {}}
                    ],
                    "answer": None,
                    "clarify": None,
                }
            ]
        },
    )

    question: str
    items: list[Candidate]
    answer: AnswerCard | None = Field(description="最匹配事项的答复卡片；不确定时为 null")
    clarify: Clarify | None = Field(description="需要澄清时的一个问题；否则为 null")
