"""Every statistics table as rows of plain values, written as CSV (UTF-8 with BOM) or .xlsx.

The writing itself, and the escaping of formula-looking text, is :mod:`core.exports`. Numbers stay
numbers. Rates are exported as percentages with one decimal, an empty cell when undefined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from applications.appointments.models import AppointmentStatus
from applications.stats.metrics import (
    AppointmentDrill,
    AppointmentStats,
    Drill,
    PublicCase,
    Reform,
    StatRow,
    Stats,
    excess_visits,
)
from applications.workflow.states import STATE_LABELS, State
from core.clock import SHANGHAI
from core.exports import Sheet, csv_bytes, xlsx_bytes


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]


def pct(value: float | None) -> float | str:
    return "" if value is None else round(value * 100, 1)


def _num(value: Any) -> Any:
    return "" if value is None else value


def _when(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def stat_headers(by: str) -> list[str]:
    first = {
        "item": _("事项"),
        "category": _("类别"),
        "unit": _("单位"),
        "month": _("月份"),
        "none": _("范围"),
    }[by]
    headers = [
        _("编码"),
        first,
        _("办结件数"),
        _("跑零次件数"),
        _("跑零次率（%）"),
        _("最多跑一次率（%）"),
        _("申请件数"),
        _("网办率（%）"),
        _("按时办结率（%）"),
        _("平均办理时长（工作日）"),
        _("一次性告知率（%）"),
        _("评价数"),
        _("满意度（%）"),
    ]
    if by == "item":
        headers += [_("实测平均跑动次数"), _("承诺跑动次数")]
    return headers


def stat_record(row: StatRow, by: str) -> list[Any]:
    record = [
        row.key,
        row.label,
        row.completed,
        row.zero_visit,
        pct(row.zero_visit_rate),
        pct(row.at_most_once_rate),
        row.submitted,
        pct(row.online_rate),
        pct(row.on_time_rate),
        _num(row.avg_working_days),
        pct(row.one_time_rate),
        row.rated,
        pct(row.satisfaction),
    ]
    if by == "item":
        record += [_num(row.mean_visits), _num(row.declared_visits)]
    return record


def stats_table(title: str, stats: Stats, with_totals: bool = True) -> Table:
    rows = [stat_record(r, stats.by) for r in stats.rows]
    if with_totals and stats.by != "none":
        total = stat_record(stats.totals, stats.by)
        total[0], total[1] = "", _("合计")
        rows.append(total)
    return Table(title, stat_headers(stats.by), rows)


def reform_visits_table(reform: Reform) -> Table:
    headers = [
        _("事项编码"),
        _("事项"),
        _("办结件数"),
        _("实测平均跑动次数"),
        _("承诺跑动次数"),
        _("超出次数合计"),
    ]
    rows = [
        [r.key, r.label, r.completed, _num(r.mean_visits), _num(r.declared_visits), excess_visits(r)]
        for r in reform.visits
    ]
    return Table(_("实测跑动超过承诺的事项"), headers, rows)


def reform_guide_table(reform: Reform) -> Table:
    headers = [
        _("事项编码"),
        _("事项"),
        _("办结件数"),
        _("需补正件数"),
        _("一次性告知率（%）"),
        _("差评数"),
        _("指出办事指南问题的差评"),
        _("最常见补正内容"),
        _("最常见差评原因"),
        _("排序分值"),
    ]
    rows = [
        [
            g.row.key,
            g.row.label,
            g.row.completed,
            g.row.corrected,
            pct(g.row.one_time_rate),
            g.bad_ratings,
            g.guide_complaints,
            "；".join(f"{t}（{n}）" for t, n in g.top_targets),
            "；".join(f"{t}（{n}）" for t, n in g.top_reasons),
            g.score,
        ]
        for g in reform.guide
    ]
    return Table(_("办事指南可能不清楚的事项"), headers, rows)


def reform_on_time_table(reform: Reform) -> Table:
    headers = [_("事项编码"), _("事项"), _("有承诺时限的办结件数"), _("超期办结件数"), _("按时办结率（%）")]
    rows = [[r.key, r.label, r.with_due, r.late, pct(r.on_time_rate)] for r in reform.on_time]
    return Table(_("按时办结率最低的事项"), headers, rows)


def drill_table(title: str, drill: Drill) -> Table:
    headers = [
        _("申请编号"),
        _("事项"),
        _("受理单位"),
        _("状态"),
        _("提交时间"),
        _("受理时间"),
        _("办结时间"),
        _("承诺办结日期"),
        _("到场次数"),
        _("补正次数"),
        _("评价等级"),
    ]
    rows = [
        [
            r.reference,
            r.item,
            r.unit,
            _(STATE_LABELS[State(r.state)]),
            _when(r.submitted_at),
            _when(r.accepted_at),
            _when(r.completed_at),
            _day(r.promised_due),
            r.visits,
            r.correction_count,
            _num(r.rating),
        ]
        for r in drill.rows
    ]
    return Table(title, headers, rows)


def public_categories_table(stats: Stats) -> Table:
    headers = [_("类别"), _("办结件数"), _("跑零次率（%）"), _("评价数"), _("满意度（%）")]
    rows = [[r.label, r.completed, pct(r.zero_visit_rate), r.rated, pct(r.satisfaction)] for r in stats.rows]
    return Table(_("各类别跑零次率与满意度"), headers, rows)


def public_cases_table(cases: Sequence[PublicCase]) -> Table:
    headers = [_("申请编号"), _("事项"), _("办结日期"), _("办理结果")]
    rows = [
        [c.reference, c.item, c.completed_on.isoformat(), _("准予许可") if c.approved else _("不予许可")]
        for c in cases
    ]
    return Table(_("办件公示"), headers, rows)


# Writers ------------------------------------------------------------------------------------------


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese), CRLF lines, formula-looking cells escaped."""
    return csv_bytes(table.headers, table.rows)


def to_xlsx(table: Table) -> bytes:
    """One worksheet: the headers in bold, then the rows; text cells escaped and typed as strings."""
    return xlsx_bytes([Sheet(table.title, table.headers, table.rows)])


APPOINTMENT_STATUS_LABELS = {
    AppointmentStatus.BOOKED.value: "已预约",
    AppointmentStatus.CANCELLED.value: "已取消",
    AppointmentStatus.CHECKED_IN.value: "已签到",
    AppointmentStatus.NO_SHOW.value: "未到",
}


def appointments_table(stats: AppointmentStats) -> Table:
    """预约 per unit × month, then the totals (waits in minutes)."""
    headers = [
        _("单位编码"),
        _("单位"),
        _("月份"),
        _("预约件数"),
        _("已结束时段的预约"),
        _("未到"),
        _("未到率（%）"),
        _("已叫号"),
        _("等候时长中位数（分钟）"),
        _("平均等候时长（分钟）"),
    ]

    def record(r: Any, unit_key: str, unit: str, month: str) -> list[Any]:
        return [
            unit_key,
            unit,
            month,
            r.bookings,
            r.ended,
            r.no_shows,
            pct(r.no_show_rate),
            r.served,
            _num(r.median_wait),
            _num(r.mean_wait),
        ]

    rows = [record(r, r.unit_key, r.unit, r.month) for r in stats.rows]
    rows.append(record(stats.totals, "", _("合计"), ""))
    return Table(_("预约统计"), headers, rows)


def appointment_drill_table(title: str, drill: AppointmentDrill) -> Table:
    headers = [
        _("预约码"),
        _("预约时间"),
        _("姓名"),
        _("事项"),
        _("单位"),
        _("状态"),
        _("申请编号"),
        _("签到时间"),
        _("叫号时间"),
    ]
    rows = [
        [
            r.code,
            _when(r.starts_at),
            r.name,
            r.item,
            r.unit,
            _(APPOINTMENT_STATUS_LABELS.get(r.status, r.status)),
            r.reference,
            _when(r.checked_in_at),
            _when(r.served_at),
        ]
        for r in drill.rows
    ]
    return Table(title, headers, rows)
