"""The public API's shapes for ``GET /api/v1/stats/bundles`` (一件事 figures)."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from applications.stats.forms import MAX_YEARS, too_long
from core.api import DateField, Field


class BundleStatsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    date_from: date | None = DateField(
        None,
        alias="from",
        description="开始日期（北京时间，含当天）；默认为 90 天前",
        examples=["2026-01-01"],
    )
    date_to: date | None = DateField(
        None, alias="to", description="结束日期（含当天）；默认为今天；时段最长 3 年", examples=["2026-03-31"]
    )
    by: Literal["bundle", "month"] = Field("bundle", description="分组：bundle 按一件事、month 按办结月份")

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


class BundleRowOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="一件事编码或月份 YYYY-MM；合计行为 all")
    label: str
    completed: int = Field(ge=0, description="办结的一件事件数（全部环节办结）")
    zero_visit: int = Field(ge=0, description="跑零次的一件事件数（所含公安事项均无到场记录）")
    zero_visit_rate: float | None = Field(ge=0, le=1, description="跑零次率（无办结时为 null）")
    median_days: float | None = Field(ge=0, description="从提交到最后一个环节办结的天数，中位数")
    avg_days: float | None = Field(ge=0, description="从提交到最后一个环节办结的天数，平均数")


class BundleStatsOut(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date = Field(alias="from", serialization_alias="from")
    date_to: date = Field(alias="to", serialization_alias="to")
    by: Literal["bundle", "month"]
    rows: list[BundleRowOut]
    totals: BundleRowOut
