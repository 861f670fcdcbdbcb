"""预约 pages: the citizen's booking (pick a day, then a time), confirmation with QR code and .ics,
cancel and move; the clerk's 今日预约 with check-in by code, the queue of checked-in bookings with
叫号, and no-shows; the admin's opening hours; the public ``/api/v1/appointments/slots``."""

from __future__ import annotations

from datetime import date, datetime

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from icalendar import Calendar, Event
from sqlalchemy import or_, select

from applications.appointments import operations as ops
from applications.appointments import queries, schemas
from applications.appointments.forms import (
    CheckInForm,
    ConfirmForm,
    ExceptionForm,
    GroupForm,
    HoursForm,
    SlotForm,
)
from applications.appointments.models import Appointment, AppointmentStatus, ItemGroup, OpeningHours
from applications.models import Application
from auth.models import Role, Unit
from auth.policies import role_required
from catalog.queries import ItemView, catalog
from core import api
from core.clock import SHANGHAI, local_date, now
from core.db import db
from core.errors import NotFound
from core.transaction import transaction

bp = Blueprint("appointments", __name__)
clerk_bp = Blueprint("appointments_clerk", __name__, url_prefix="/clerk/appointments")
admin_bp = Blueprint("appointments_admin", __name__, url_prefix="/admin/appointments")
api_bp = Blueprint("appointments_api", __name__, url_prefix="/api/v1/appointments")
citizen_only = role_required(Role.CITIZEN)
staff_only = role_required(Role.CLERK, Role.UNIT_LEAD)
admin_only = role_required(Role.ADMIN)

#: The counter's check-in page scans QR codes with the camera: allowed for this origin there only.
CAMERA_SELF = "camera=(self), microphone=(), geolocation=()"

STATUS_LABELS = {
    AppointmentStatus.BOOKED: "已预约",
    AppointmentStatus.CANCELLED: "已取消",
    AppointmentStatus.CHECKED_IN: "已签到",
    AppointmentStatus.NO_SHOW: "未到",
}


@bp.app_context_processor
def _labels():
    return {"appointment_status_labels": STATUS_LABELS, "weekday_names": ops.WEEKDAYS}


# Citizen -----------------------------------------------------------------------------------------


def _item_or_404(code: str) -> ItemView:
    item = queries.bookable_item(code)
    if item is None:
        abort(404)
    return item


def _parse_day(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%Y-%m-%d").date()
    except ValueError:
        return None


def _picker(item: ItemView, day_text: str | None, *, exclude: int | None = None):
    """(units by id, days with a free place, the chosen day, that day's free slots)."""
    units = {u.id: u for u in queries.serving_units(item)}
    days = queries.free_days(
        list(units), local_date(now()), queries.last_day(), exclude=exclude, item_id=item.id
    )
    day = _parse_day(day_text)
    if day not in days:
        day = days[0] if days else None
    if day is None:
        return units, days, None, []
    slots = queries.free_slots(list(units), day, day, item_id=item.id)
    return units, days, day, [s for s in slots if s.id != exclude]


def _own_application(item: ItemView) -> Application | None:
    raw = request.values.get("application", type=int)
    if raw is None:
        return None
    app = db.session.get(Application, raw)
    if app is None or app.applicant_id != current_user.id or app.item_id != item.id:
        abort(404)
    return app


def _slot_choices(form: SlotForm, slots, units) -> None:
    form.slot.choices = [
        (s.id, f"{s.starts_at.astimezone(SHANGHAI):%H:%M}-{s.ends_at.astimezone(SHANGHAI):%H:%M}")
        for s in slots
    ]


@bp.route("/items/<code>/book", methods=["GET", "POST"])
@citizen_only
def book(code: str):
    item = _item_or_404(code)
    application = _own_application(item)
    existing = queries.active_booking(current_user.id, item.id)
    if existing is not None:
        flash(_("您已预约该事项，可以改约或取消。"), "info")
        return redirect(url_for("appointments.detail", appointment_id=existing.id))
    form = SlotForm()
    units, days, day, slots = _picker(item, request.values.get("day"))
    _slot_choices(form, slots, units)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            with transaction(form) as tx:
                appt = ops.book(current_user, item, form.slot.data, application=application)
            if tx.ok:
                flash(_("预约成功。"), "success")
                return redirect(url_for("appointments.detail", appointment_id=appt.id))
            if isinstance(tx.error, ops.AlreadyBooked):
                flash(tx.message, "info")
                return redirect(url_for("appointments.mine"))
            # a slot that filled while the page was open: show the day's free ones again
            units, days, day, slots = _picker(item, request.values.get("day"))
            _slot_choices(form, slots, units)
    return render_template(
        "appointments/book.html",
        item=item,
        form=form,
        units=units,
        days=days,
        day=day,
        slots=slots,
        application=application,
        moving=None,
        blocked=queries.blocked_until(current_user.id),
        closed=queries.closure_cancelled(current_user.id, item.id),
        no_show_rule=queries.no_show_rule(),
    ), status


@bp.route("/me/appointments")
@citizen_only
def mine():
    rows = queries.my_appointments(current_user.id)
    names = {i.id: i.name for i in catalog().items.values()}
    return render_template("appointments/mine.html", rows=rows, names=names)


def _own(appointment_id: int) -> Appointment:
    appt = queries.own_appointment(current_user.id, appointment_id)
    if appt is None:
        abort(404)
    return appt


def _item_of(appt: Appointment) -> ItemView:
    try:
        return ops._item_view(appt)
    except NotFound:
        abort(404)


def booking_qr(code: str) -> segno.QRCode:
    """The QR code the citizen shows at the counter: always a full QR code — ``segno.make`` would pick
    a Micro QR for an 8-character code, which jsQR (the counter's 扫码签到) and most phones cannot read."""
    return segno.make_qr(code, error="m")


@bp.route("/me/appointments/<int:appointment_id>")
@citizen_only
def detail(appointment_id: int):
    appt = _own(appointment_id)
    item = _item_of(appt)
    qr = booking_qr(appt.code).svg_inline(scale=6, title=_("预约码 %(code)s", code=appt.code))
    changeable = appt.status == AppointmentStatus.BOOKED and appt.slot.starts_at >= queries.earliest_start()
    return render_template(
        "appointments/detail.html",
        appt=appt,
        item=item,
        qr=qr,
        changeable=changeable,
        cutoff=queries.cutoff_minutes(),
        closed=queries.cancelled_by_closure(appt),
        rebook=appt.status == AppointmentStatus.CANCELLED
        and queries.active_booking(current_user.id, appt.item_id) is None,
    )


@bp.route("/me/appointments/<int:appointment_id>/calendar.ics")
@citizen_only
def ics(appointment_id: int):
    appt = _own(appointment_id)
    item = _item_of(appt)
    cal = Calendar()
    cal.add("prodid", "-//临江市公安局网上办事大厅//预约//ZH")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"appointment-{appt.code}@portal")
    event.add("dtstamp", now())
    event.add("dtstart", appt.slot.starts_at.astimezone(SHANGHAI))
    event.add("dtend", appt.slot.ends_at.astimezone(SHANGHAI))
    event.add("summary", _("预约办理：%(item)s", item=item.name))
    event.add("location", " ".join(x for x in (appt.unit.name, appt.unit.address or "") if x))
    event.add("description", _("预约码 %(code)s，请携带材料按时到场。", code=appt.code))
    if appt.status == AppointmentStatus.CANCELLED:
        event.add("status", "CANCELLED")
    cal.add_component(event)
    return Response(
        cal.to_ical(),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appt.code}.ics"'},
    )


@bp.route("/me/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@citizen_only
def cancel(appointment_id: int):
    appt = _own(appointment_id)
    item = _item_of(appt)
    form = ConfirmForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.cancel(appt, current_user)
        if tx.ok:
            flash(_("预约已取消。"), "success")
            return redirect(url_for("appointments.mine"))
    status = 422 if request.method == "POST" else 200
    return render_template("appointments/cancel.html", appt=appt, item=item, form=form), status


@bp.route("/me/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@citizen_only
def move(appointment_id: int):
    appt = _own(appointment_id)
    item = _item_of(appt)
    if appt.status != AppointmentStatus.BOOKED:
        abort(404)
    form = SlotForm()
    units, days, day, slots = _picker(item, request.values.get("day"), exclude=appt.slot_id)
    _slot_choices(form, slots, units)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            with transaction(form) as tx:
                ops.move(appt, current_user, form.slot.data)
            if tx.ok:
                flash(_("已改约。"), "success")
                return redirect(url_for("appointments.detail", appointment_id=appt.id))
            appt = _own(appointment_id)
            units, days, day, slots = _picker(item, request.values.get("day"), exclude=appt.slot_id)
            _slot_choices(form, slots, units)
    return render_template(
        "appointments/book.html",
        item=item,
        form=form,
        units=units,
        days=days,
        day=day,
        slots=slots,
        application=None,
        moving=appt,
    ), status


# Clerk -------------------------------------------------------------------------------------------


def _today_page(form: CheckInForm, status: int = 200):
    unit_ids = [u.id for u in current_user.units]
    today = local_date(now())
    rows = queries.day_list(unit_ids, today)
    waiting = queries.waiting(unit_ids, today)
    names = {i.id: i.name for i in catalog().items.values()}
    response = make_response(
        render_template(
            "appointments/today.html",
            rows=rows,
            waiting=waiting,
            names=names,
            form=form,
            noshow_form=ConfirmForm(),
            serve_form=ConfirmForm(),
            today=today,
            mask_name=queries.masked_name,
            now=now(),
        ),
        status,
    )
    # the one page that may use the camera (扫码签到); every other page keeps camera=()
    response.headers["Permissions-Policy"] = CAMERA_SELF
    return response


@clerk_bp.route("/")
@staff_only
def today():
    return _today_page(CheckInForm(formdata=None))


@clerk_bp.route("/check-in", methods=["POST"])
@staff_only
def check_in():
    form = CheckInForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            appt = ops.check_in(current_user, form.code.data)
        if tx.ok:
            flash(_("预约 %(code)s 已签到。", code=appt.code), "success")
            return redirect(url_for("appointments_clerk.today"))
    return _today_page(form, 422)


@clerk_bp.route("/no-shows", methods=["POST"])
@staff_only
def no_shows():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _today_page(CheckInForm(formdata=None), 422)
    with transaction() as tx:
        count = ops.mark_no_shows(unit_ids=[u.id for u in current_user.units])
    if tx.ok:
        flash(_("已将 %(n)d 个已结束时段的预约标记为未到。", n=count), "success")
    return redirect(url_for("appointments_clerk.today"))


@clerk_bp.route("/<int:appointment_id>/serve", methods=["POST"])
@staff_only
def serve(appointment_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        try:
            appt, called = ops.serve(current_user, appointment_id)
        except NotFound:
            abort(404)
    if tx.ok:
        if called:
            flash(_("已叫号：预约 %(code)s，请开始办理。", code=appt.code), "success")
        else:
            flash(_("预约 %(code)s 已叫号，无需重复操作。", code=appt.code), "info")
    else:
        flash(tx.message, "danger")
    return redirect(url_for("appointments_clerk.today"))


# Admin -------------------------------------------------------------------------------------------


def _unit_or_404(code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        abort(404)
    return unit


@admin_bp.route("/")
@admin_only
def units():
    kinds = {i.unit_kind for i in catalog().items.values() if i.visits >= 1}
    with_hours = select(OpeningHours.unit_id)
    rows = list(
        db.session.scalars(
            select(Unit).where(or_(Unit.kind.in_(kinds), Unit.id.in_(with_hours))).order_by(Unit.code)
        )
    )
    counts = dict(
        db.session.execute(select(OpeningHours.unit_id, db.func.count()).group_by(OpeningHours.unit_id)).all()
    )
    return render_template("appointments/admin_units.html", rows=rows, counts=counts)


def _group_choices(unit: Unit, *forms) -> None:
    choices = [(0, _("本单位其他事项（未分组）"))] + [(g.id, g.name) for g in queries.groups_of(unit.id)]
    for form in forms:
        form.group.choices = choices


def _unit_page(
    unit: Unit,
    hours_form: HoursForm | None = None,
    exception_form: ExceptionForm | None = None,
    group_form: GroupForm | None = None,
    status: int = 200,
):
    today = local_date(now())
    hours_form = hours_form or HoursForm(formdata=None)
    exception_form = exception_form or ExceptionForm(formdata=None)
    group_form = group_form or GroupForm(formdata=None)
    _group_choices(unit, hours_form, exception_form)
    served = queries.items_served(unit)
    group_form.items.choices = [(i.code, f"{i.name}（{i.code}）") for i in served]
    names = {i.id: i.name for i in catalog().items.values()}
    return render_template(
        "appointments/admin_unit.html",
        unit=unit,
        hours=queries.hours_of(unit.id),
        exceptions=queries.exceptions_of(unit.id, today),
        groups=queries.groups_of(unit.id),
        item_names=names,
        hours_form=hours_form,
        exception_form=exception_form,
        group_form=group_form,
        delete_form=ConfirmForm(),
    ), status


def _flash_reconciled(result: ops.Reconciled) -> None:
    if result.removed:
        flash(_("已移除 %(n)d 个不在开放时间内、尚无预约的时段。", n=result.removed), "info")
    if result.bookings_outside:
        flash(
            _(
                "注意：有 %(n)d 个预约已不在新的开放时间内。这些预约仍然有效（未取消），"
                "相应时段已停止接受新预约，请联系群众改约或按原时间接待。",
                n=result.bookings_outside,
            ),
            "warning",
        )


@admin_bp.route("/<code>", methods=["GET", "POST"])
@admin_only
def unit(code: str):
    unit = _unit_or_404(code)
    form = HoursForm()
    _group_choices(unit, form)
    if request.method == "POST":
        if form.validate_on_submit():
            with transaction(form) as tx:
                ops.add_hours(
                    unit,
                    weekday=form.weekday.data,
                    start=form.start.data,
                    end=form.end.data,
                    slot_minutes=form.slot_minutes.data,
                    windows=form.windows.data,
                    group_id=form.group.data,
                )
                ops.open_slots(30, unit_ids=[unit.id])
                result = ops.reconcile_slots(unit)
            if tx.ok:
                flash(_("已添加开放时间，并生成未来30天的预约时段。"), "success")
                _flash_reconciled(result)
                return redirect(url_for("appointments_admin.unit", code=code))
        return _unit_page(unit, hours_form=form, status=422)
    return _unit_page(unit, hours_form=form)


@admin_bp.route("/<code>/groups", methods=["POST"])
@admin_only
def add_group(code: str):
    unit = _unit_or_404(code)
    form = GroupForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            group = ops.add_group(unit, name=form.name.data, item_codes=form.items.data or [])
        if tx.ok:
            flash(_("已添加事项分组“%(name)s”，可为该分组设置开放时间和窗口数。", name=group.name), "success")
            return redirect(url_for("appointments_admin.unit", code=code))
    return _unit_page(unit, group_form=form, status=422)


@admin_bp.route("/<code>/groups/<int:group_id>", methods=["GET", "POST"])
@admin_only
def edit_group(code: str, group_id: int):
    unit = _unit_or_404(code)
    group = db.session.get(ItemGroup, group_id)
    if group is None or group.unit_id != unit.id:
        abort(404)
    codes = {i.id: i.code for i in catalog().items.values()}
    form = GroupForm(data={"name": group.name, "items": [codes.get(m.item_id) for m in group.members]})
    form.items.choices = [(i.code, f"{i.name}（{i.code}）") for i in queries.items_served(unit)]
    if request.method == "POST":
        if form.validate_on_submit():
            with transaction(form) as tx:
                ops.update_group(unit, group.id, name=form.name.data, item_codes=form.items.data or [])
            if tx.ok:
                flash(_("已保存事项分组。已有的预约不受影响。"), "success")
                return redirect(url_for("appointments_admin.unit", code=code))
        return render_template("appointments/admin_group.html", unit=unit, group=group, form=form), 422
    return render_template("appointments/admin_group.html", unit=unit, group=group, form=form)


@admin_bp.route("/<code>/groups/<int:group_id>/delete", methods=["POST"])
@admin_only
def remove_group(code: str, group_id: int):
    unit = _unit_or_404(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        try:
            ops.remove_group(unit, group_id)
        except NotFound:
            abort(404)
    if tx.ok:
        flash(_("已删除事项分组，其中的事项改用本单位未分组的时段。"), "success")
    else:
        flash(tx.message, "danger")
    return redirect(url_for("appointments_admin.unit", code=code))


@admin_bp.route("/<code>/exceptions", methods=["POST"])
@admin_only
def add_exception(code: str):
    unit = _unit_or_404(code)
    form = ExceptionForm()
    _group_choices(unit, form)
    if form.validate_on_submit():
        with transaction(form) as tx:
            _row, cancelled = ops.add_exception(
                unit,
                day=form.day.data,
                closed=form.kind.data == "closed",
                start=form.start.data,
                end=form.end.data,
                slot_minutes=form.slot_minutes.data,
                windows=form.windows.data,
                note=form.note.data or "",
                group_id=form.group.data,
            )
            ops.open_slots(30, unit_ids=[unit.id])
        if tx.ok:
            if form.kind.data == "closed":
                flash(_("已保存例外日期；已取消 %(n)d 个预约并通知群众。", n=cancelled), "success")
            else:
                flash(_("已保存例外日期。"), "success")
            return redirect(url_for("appointments_admin.unit", code=code))
    return _unit_page(unit, exception_form=form, status=422)


@admin_bp.route("/<code>/hours/<int:hours_id>/delete", methods=["POST"])
@admin_only
def remove_hours(code: str, hours_id: int):
    unit = _unit_or_404(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        try:
            result = ops.remove_hours(unit, hours_id)
        except NotFound:
            abort(404)
    if tx.ok:
        flash(_("已删除该开放时间。"), "success")
        _flash_reconciled(result)
    return redirect(url_for("appointments_admin.unit", code=code))


@admin_bp.route("/<code>/exceptions/<int:exception_id>/delete", methods=["POST"])
@admin_only
def remove_exception(code: str, exception_id: int):
    unit = _unit_or_404(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        try:
            result = ops.remove_exception(unit, exception_id)
        except NotFound:
            abort(404)
        ops.open_slots(30, unit_ids=[unit.id])
    if tx.ok:
        flash(_("已删除例外日期。"), "success")
        _flash_reconciled(result)
    return redirect(url_for("appointments_admin.unit", code=code))


# Public API --------------------------------------------------------------------------------------


@api_bp.route("/slots")
@api.operation(
    summary="一个事项可预约的时段",
    description="办理该事项的各单位在日期范围内（北京时间，含首尾）开放的时段与剩余名额；零跑动事项无时段。",
    tags=("appointments",),
    query=schemas.SlotsQuery,
    response=schemas.SlotList,
    errors=(404,),
)
def slots(query: schemas.SlotsQuery):
    item = catalog().items.get(query.item)
    if item is None:
        raise api.ApiError(404, "unknown_item", _("未找到该事项"), "item")
    first, last = query.date_from, query.date_to
    units = queries.serving_units(item) if item.visits >= 1 else []
    if query.unit:
        units = [u for u in units if u.code == query.unit]
        if not units:
            raise api.ApiError(400, "unknown_unit", _("该单位不办理此事项"), "unit")
    codes = {u.id: u.code for u in units}
    rows = queries.slot_rows(list(codes), first, last, item_id=item.id)
    return schemas.SlotList(
        slots=[
            schemas.SlotOut(
                unit=codes[unit_id],
                start=starts.astimezone(SHANGHAI),
                end=ends.astimezone(SHANGHAI),
                capacity=capacity,
                remaining=max(0, capacity - booked),
            )
            for unit_id, starts, ends, capacity, booked in rows
        ]
    )
