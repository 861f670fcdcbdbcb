"""The public API's shapes for ``GET /api/v1/appointments/slots``: the view validates its parameters
and builds its answer with these models; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from applications.appointments.queries import API_MAX_DAYS
from core.api import DateField, Field

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SlotsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    item: Code = Field(description="事项编码", examples=["LJ-CR-001"])
    date_from: date = DateField(alias="from", description="开始日期", examples=["2027-01-04"])
    date_to: date = DateField(
        alias="to", description=f"结束日期（含），最多 {API_MAX_DAYS} 天", examples=["2027-01-05"]
    )
    unit: Code | None = Field(None, description="只看这个单位（单位代码）", examples=["LJ-EE"])

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.date_to < self.date_from:
            raise PydanticCustomError("invalid_range", _("结束日期不能早于开始日期"), {"field": "to"})
        if (self.date_to - self.date_from).days + 1 > API_MAX_DAYS:
            raise PydanticCustomError(
                "invalid_range", _("一次最多查询%(days)d天", days=API_MAX_DAYS), {"field": "to"}
            )
        return self


class SlotOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(description="单位代码")
    start: datetime = Field(description="开始时间（北京时间，带时区）")
    end: datetime
    capacity: int = Field(ge=0)
    remaining: int = Field(ge=0, description="尚可预约的名额")


class SlotList(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "slots": [
                        {
                            "unit": "LJ-EE",
                            "start": "2027-01-04T09:30:00+08:00",
                            "end": "2027-01-04T10:00:00+08:00",
                            "capacity": 2,
                            "remaining": 1,
                        }
                    ]
                }
            ]
        },
    )

    slots: list[SlotOut] = Field(description="尚未开始且开放的时段（含已约满的）")
