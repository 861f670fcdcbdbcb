"""The public API's shapes for ``GET /api/v1/stats``: the view validates its parameters and builds its
answer with these models; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from applications.stats.forms import MAX_YEARS, too_long
from core.api import DateField, Field

Rate = float | None


class PeriodQuery(BaseModel):
    """A statistics period, ``from`` and ``to`` (both optional, at most ``MAX_YEARS`` apart): what every
    figures endpoint takes, each adding its own ``by``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    date_from: date | None = DateField(
        None,
        alias="from",
        description="开始日期（北京时间，含当天）；默认为 90 天前",
        examples=["2026-01-01"],
    )
    date_to: date | None = DateField(
        None,
        alias="to",
        description="结束日期（含当天）；默认为今天；时段最长 3 年",
        examples=["2026-03-31"],
    )

    @model_validator(mode="after")
    def _period(self) -> Self:
        start, end = self.date_from, self.date_to
        if start and end and end < start:
            raise PydanticCustomError("invalid_range", _("结束日期不能早于开始日期"), {"field": "to"})
        if start and end and too_long(start, end):
            raise PydanticCustomError(
                "invalid_range", _("统计时段最长 %(n)s 年，请缩短日期范围", n=MAX_YEARS), {"field": "to"}
            )
        return self


class StatsQuery(PeriodQuery):
    by: Literal["month", "category", "item", "unit"] = Field(
        "month",
        description=(
            "分组：month 按月、category 按类别（公开）；"
            "item 按事项、unit 按单位（仅科室负责人、管理员、审计员）"
        ),
    )


class StatRowOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="分组的键：月份 YYYY-MM、类别代码、事项编码或单位代码；合计行为 all")
    label: str
    completed: int = Field(ge=0, description="办结件数")
    zero_visit: int = Field(ge=0, description="跑零次办结件数")
    zero_visit_rate: Rate = Field(ge=0, le=1, description="跑零次率（无办结时为 null）")
    at_most_once_rate: Rate = Field(ge=0, le=1, description="最多跑一次率")
    online_rate: Rate = Field(ge=0, le=1, description="网办率")
    on_time_rate: Rate = Field(ge=0, le=1, description="按时办结率")
    avg_working_days: float | None = Field(ge=0, description="平均办理时长（工作日，扣除补正暂停）")
    satisfaction: Rate = Field(ge=0, le=1, description="满意度")
    at_most_once: int = Field(ge=0)
    submitted: int = Field(ge=0)
    online: int = Field(ge=0)
    with_due: int = Field(ge=0)
    on_time: int = Field(ge=0)
    one_time_rate: Rate = Field(ge=0, le=1, description="一次性告知率")
    corrected: int = Field(ge=0)
    rated: int = Field(ge=0)
    mean_visits: float | None = Field(ge=0)
    declared_visits: int | None = Field(ge=0, le=2, description="按事项分组时：事项承诺的到现场次数")
    exceeds_declared: bool = Field(description="实测跑动超过承诺")


class StatsOut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-01-01",
                    "to": "2026-01-31",
                    "by": "category",
                    "rows": [],
                    "totals": {
                        "key": "all",
                        "label": "合计",
                        "completed": 0,
                        "zero_visit": 0,
                        "zero_visit_rate": None,
                        "at_most_once_rate": None,
                        "online_rate": None,
                        "on_time_rate": None,
                        "avg_working_days": None,
                        "satisfaction": None,
                        "at_most_once": 0,
                        "submitted": 0,
                        "online": 0,
                        "with_due": 0,
                        "on_time": 0,
                        "one_time_rate": None,
                        "corrected": 0,
                        "rated": 0,
                        "mean_visits": None,
                        "declared_visits": None,
                        "exceeds_declared": False,
                    },
                }
            ]
        },
    )

    date_from: date = Field(alias="from", serialization_alias="from")
    date_to: date = Field(alias="to", serialization_alias="to")
    by: Literal["month", "category", "item", "unit"]
    rows: list[StatRowOut]
    totals: StatRowOut
