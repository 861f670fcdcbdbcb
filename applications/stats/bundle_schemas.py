"""The public API's shapes for ``GET /api/v1/stats/bundles`` (一件事 figures)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from applications.stats.schemas import PeriodQuery
from core.api import Field


class BundleStatsQuery(PeriodQuery):
    by: Literal["bundle", "month"] = Field("bundle", description="分组：bundle 按一件事、month 按办结月份")


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
