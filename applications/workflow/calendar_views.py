"""Admin pages for a year's 放假安排: see where each year's holidays come from, enter or replace one
(typed or as a small text file), and see which applications' due dates it moved."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from applications.workflow.clock import enter_arrangement
from auth.models import Role
from auth.policies import role_required
from catalog.admin.forms import ArrangementForm
from core.clock import local_today
from core.db import db
from core.transaction import transaction
from core.workdays.models import CalendarYear, entered_years, load_calendar
from core.workdays.rules import (
    ArrangementError,
    format_arrangement,
    missing_arrangement_year,
    parse_arrangement,
    statutory_holidays,
    year_arrangement,
)

bp = Blueprint("calendar_years", __name__, url_prefix="/admin/calendar/years")
admin_only = role_required(Role.ADMIN)
MAX_FILE_BYTES = 16 * 1024
YEARS_AHEAD = 2


def missing_year() -> int | None:
    """Next year, when from 1 November it still has no arrangement (for the dashboards' warning)."""
    return missing_arrangement_year(local_today(), entered_years())


@bp.route("/")
@admin_only
def years():
    today = local_today()
    cal = load_calendar()
    shown = sorted({*range(today.year - 1, today.year + YEARS_AHEAD + 1), *cal.arrangements}, reverse=True)
    rows = [(y, cal.source(y), db.session.get(CalendarYear, y)) for y in shown]
    return render_template("admin/calendar_years.html", rows=rows, missing=missing_year())


@bp.route("/<int:year>", methods=["GET", "POST"])
@admin_only
def year(year: int):
    if not 2000 <= year <= 2100:
        abort(404)
    form = ArrangementForm()
    row = db.session.get(CalendarYear, year)
    cal = load_calendar()
    if request.method == "GET":
        if row is not None:
            form.text.data = format_arrangement(row.arrangement())
            form.note.data = row.note
        else:
            form.text.data = _starting_text(year, cal.source(year))
    if form.validate_on_submit():
        text = form.text.data or ""
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            raw = upload.read(MAX_FILE_BYTES + 1)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.text.errors.append(_("文件应为 UTF-8 编码的文本文件（.txt 或 .csv）。"))
                text = ""
            if len(raw) > MAX_FILE_BYTES:
                form.text.errors.append(_("文件过大：放假安排只需几行文字。"))
                text = ""
            form.text.data = text or form.text.data
        if not form.text.errors:
            try:
                arrangement = parse_arrangement(text, year)
            except ArrangementError as exc:
                form.text.errors.append(str(exc))
            else:
                with transaction(form) as tx:
                    change = enter_arrangement(arrangement, current_user, form.note.data or "")
                if tx.ok:
                    flash(
                        _(
                            "已保存 %(year)s 年放假安排：%(days)s 天的工作日状态改变，"
                            "%(moved)s 件办件的办结期限已重新计算并通知申请人。",
                            year=year,
                            days=len(change.days),
                            moved=len(change.moved),
                        ),
                        "success",
                    )
                    return redirect(url_for("calendar_years.year", year=year))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/calendar_year.html",
        form=form,
        year=year,
        row=row,
        source=cal.source(year),
        statutory=statutory_holidays(year),
    ), status


def _starting_text(year: int, source: str) -> str:
    """What the form starts with for a year nobody entered: the arrangement in force, commented."""
    if source == "published":
        head = f"# {year} 年的放假安排已随系统发布（国务院办公厅通知）；如有变更，修改后保存即以此为准。"
    else:
        head = (
            f"# {year} 年尚未录入放假安排；以下为按《全国年节及纪念日放假办法》推算的法定节假日（含补假）。\n"
            "# 国务院办公厅通知发布后，请按通知修改（含调休上班日）并保存。"
        )
    return head + "\n" + format_arrangement(year_arrangement(year))
