"""统计分析 pages, the public 公开数据 page, the exports and ``GET /api/v1/stats``.

Who sees what: unit leads see the applications of their units, admins and auditors see everything
(staff pages, item/unit groupings, drill-downs and the staff tables' exports); everybody, without a
login, sees the category and month groupings (whole-city figures), the public page and its exports.
Every figure comes from :mod:`applications.stats.metrics`.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from applications.ecert.queries import not_asked_by_item
from applications.stats import exports, metrics, schemas
from applications.stats.forms import DEFAULT_DAYS, StatsFilterForm, first_error, too_long, with_defaults
from applications.stats.metrics import Period, Visibility
from auth.policies import role_required
from core import api, audit
from core.clock import local_now, local_today
from core.db import db, writes_on_get
from core.downloads import content_disposition
from core.extensions import login_manager
from core.i18n import N_
from core.pagecache import anonymous_cache
from core.transaction import commit

bp = Blueprint("stats", __name__, url_prefix="/stats")
api_bp = Blueprint("stats_api", __name__, url_prefix="/api/v1")

STAFF_ROLES = ("unit_lead", "admin", "auditor")
ALL_SEEING = frozenset({"admin", "auditor"})
API_BY = ("item", "category", "unit", "month")

METRIC_LABELS = {
    "completed": N_("办结"),
    "zero_visit": N_("跑零次办结"),
    "at_most_once": N_("最多跑一次办结"),
    "over_once": N_("跑动两次及以上"),
    "over_declared": N_("跑动次数超过承诺"),
    "on_time": N_("按时办结"),
    "late": N_("超期办结"),
    "no_due": N_("无承诺时限（未经受理即办结）"),
    "accepted": N_("经受理后办结"),
    "corrected": N_("需补正"),
    "corrected_once": N_("一次补正到位"),
    "rated": N_("已评价"),
    "satisfied": N_("满意或非常满意"),
    "unsatisfied": N_("基本满意及以下"),
    "bad_rating": N_("不满意或非常不满意"),
    "submitted": N_("提交申请"),
    "online": N_("网上申请"),
    "counter": N_("窗口申请"),
}
STAFF_TABLES = (
    "summary",
    "monthly",
    "units",
    "appointments",
    "reform_visits",
    "reform_guide",
    "reform_ontime",
    "drill",
    "appointment_drill",
)
APPOINTMENT_METRIC_LABELS = {"bookings": N_("预约件数"), "no_shows": N_("预约未到")}
PUBLIC_TABLES = ("public_categories", "public_cases")


def today() -> date:
    return local_today()


def visibility_of(user: Any) -> Visibility:
    """None (everything) for admins and auditors; a unit lead's own unit ids otherwise."""
    if user.role_value in ALL_SEEING:
        return None
    return frozenset(u.id for u in user.units)


def _is_staff_viewer() -> bool:
    return current_user.is_authenticated and current_user.role_value in STAFF_ROLES


def _form(by_choices: tuple[str, ...] = API_BY, default_by: str = "month") -> StatsFilterForm:
    return StatsFilterForm(formdata=with_defaults(request.args, today(), default_by), by_choices=by_choices)


def _period(form: StatsFilterForm) -> Period:
    return Period(form.date_from.data, form.date_to.data)


def _drill_url(period: Period, by: str):
    def build(metric: str, key: str = metrics.ALL_KEY, group: str | None = None) -> str:
        return url_for("stats.drill", metric=metric, by=group or by, key=key, **period.args())

    return build


def _chart(kind: str, stats: metrics.Stats, series: list[tuple[str, str]]) -> dict[str, Any]:
    """Chart.js input: labels and one dataset per (label, metric attribute), rates 0–1."""
    return {
        "type": kind,
        "labels": [r.label for r in stats.rows],
        "datasets": [
            {"label": label, "data": [getattr(r, name) for r in stats.rows]} for label, name in series
        ],
    }


# Staff dashboard ----------------------------------------------------------------------------------


@bp.get("")
@role_required(*STAFF_ROLES)
def dashboard():
    form = _form()
    if not form.validate():
        return render_template("stats/dashboard.html", form=form, ready=False), 422
    period = _period(form)
    vis = visibility_of(current_user)
    by = form.by.data
    main = metrics.compute(period, by, vis)
    monthly = main if by == "month" else metrics.compute(period, "month", vis)
    units = main if by == "unit" else metrics.compute(period, "unit", vis)
    export_args = {**period.args(), "by": by}
    bookings = metrics.appointment_figures(period, vis)
    return render_template(
        "stats/dashboard.html",
        form=form,
        ready=True,
        period=period,
        by=by,
        by_label=dict(form.by.choices)[by],
        main=main,
        monthly=monthly,
        units=units,
        totals=main.totals,
        monthly_chart=_chart("line", monthly, [(_("跑零次率"), "zero_visit_rate")]),
        units_chart=_chart(
            "bar", units, [(_("跑零次率"), "zero_visit_rate"), (_("最多跑一次率"), "at_most_once_rate")]
        ),
        drill=_drill_url(period, by),
        bookings=bookings,
        appointment_drill=_appointment_drill_url(period),
        export_args=export_args,
        restricted=vis is not None,
    )


def _appointment_drill_url(period: Period):
    def build(metric: str, unit: str = metrics.ALL_KEY, month: str = metrics.ALL_KEY) -> str:
        return url_for("stats.appointment_drill", metric=metric, unit=unit, month=month, **period.args())

    return build


def _appointment_drill_args() -> tuple[str, str, str, str | None]:
    metric = request.args.get("metric", "bookings")
    unit = request.args.get("unit", metrics.ALL_KEY) or metrics.ALL_KEY
    month = request.args.get("month", metrics.ALL_KEY) or metrics.ALL_KEY
    error = None
    if metric not in metrics.APPOINTMENT_DRILL_METRICS:
        error = _("未知的统计指标")
    return metric, unit, month, error


@bp.get("/appointments")
@role_required(*STAFF_ROLES)
def appointment_drill():
    """The bookings behind one 预约 number (a unit × month's bookings or no-shows)."""
    form = _form(by_choices=(*API_BY, "none"), default_by="none")
    metric, unit, month, error = _appointment_drill_args()
    if error:
        form.form_errors.append(error)
    if not form.validate() or form.form_errors:
        return render_template("stats/appointment_drill.html", form=form, ready=False), 400
    period = _period(form)
    result = metrics.appointment_drill(metric, period, visibility_of(current_user), unit, month)
    return render_template(
        "stats/appointment_drill.html",
        form=form,
        ready=True,
        period=period,
        result=result,
        metric_label=_(APPOINTMENT_METRIC_LABELS[metric]),
        key_label=" · ".join(
            [_key_label("unit", unit) if unit != metrics.ALL_KEY else _("全部单位")]
            + ([month] if month != metrics.ALL_KEY else [])
        ),
        export_args={**period.args(), "metric": metric, "unit": unit, "month": month},
    )


@bp.get("/drill")
@role_required(*STAFF_ROLES)
def drill():
    form = _form(by_choices=(*API_BY, "none"), default_by="none")
    metric = request.args.get("metric", "completed")
    key = request.args.get("key", metrics.ALL_KEY)
    if metric not in metrics.DRILL_METRICS:
        form.form_errors.append(_("未知的统计指标"))
    if not form.validate() or form.form_errors:
        return render_template("stats/drill.html", form=form, ready=False), 400
    period = _period(form)
    result = metrics.drill_down(metric, key, period, visibility_of(current_user), by=form.by.data)
    return render_template(
        "stats/drill.html",
        form=form,
        ready=True,
        period=period,
        result=result,
        metric_label=_(METRIC_LABELS[metric]),
        key_label=_key_label(form.by.data, key),
        export_args={**period.args(), "by": form.by.data, "metric": metric, "key": key},
    )


def _key_label(by: str, key: str) -> str:
    if by == "none":
        return _("全部")
    if by == "month":
        return key
    if by == "item":
        info = next((i for i in metrics.item_infos().values() if i.code == key), None)
        return info.name if info else key
    from sqlalchemy import select

    from auth.models import Unit
    from catalog.models import Category

    model = Unit if by == "unit" else Category
    name = db.session.scalar(select(model.name).where(model.code == key))
    return name or key


@bp.get("/reform")
@role_required(*STAFF_ROLES)
def reform():
    form = _form()
    if not form.validate():
        return render_template("stats/reform.html", form=form, ready=False), 422
    period = _period(form)
    result = metrics.reform_list(period, visibility_of(current_user))
    return render_template(
        "stats/reform.html",
        form=form,
        ready=True,
        period=period,
        reform=result,
        excess=metrics.excess_visits,
        drill=_drill_url(period, "item"),
        export_args=period.args(),
    )


# Public page --------------------------------------------------------------------------------------


def _public_data() -> tuple[Period, metrics.Stats, list[metrics.PublicCase]]:
    period = metrics.last_twelve_months(today())
    return period, metrics.compute(period, "category"), metrics.recent_completed()


@bp.get("/public")
@anonymous_cache(lambda: int(time.time() // 60))
def public():
    from applications.stats import bundles as bundle_figures

    period, categories, cases = _public_data()
    return render_template(
        "stats/public.html",
        period=period,
        bundles=bundle_figures.compute(period, "bundle"),
        categories=categories,
        cases=cases,
        not_asked=not_asked_by_item(period.lower, period.upper),
        chart=_chart("bar", categories, [(_("跑零次率"), "zero_visit_rate"), (_("满意度"), "satisfaction")]),
    )


# Exports ------------------------------------------------------------------------------------------


def _table(name: str) -> exports.Table | tuple[str, int]:
    """The table ``name`` for the current request's filters (or an error message and status)."""
    if name in PUBLIC_TABLES:
        period, categories, cases = _public_data()
        if name == "public_categories":
            return exports.public_categories_table(categories)
        return exports.public_cases_table(cases)
    form = _form(by_choices=(*API_BY, "none"))
    if not form.validate():
        return first_error(form), 400
    period = _period(form)
    vis = visibility_of(current_user)
    if name == "summary":
        stats = metrics.compute(period, form.by.data, vis)
        return exports.stats_table(_("统计分析"), stats)
    if name == "monthly":
        return exports.stats_table(_("月度跑零次率"), metrics.compute(period, "month", vis))
    if name == "units":
        return exports.stats_table(_("各单位统计"), metrics.compute(period, "unit", vis))
    if name == "appointments":
        return exports.appointments_table(metrics.appointment_figures(period, vis))
    if name == "appointment_drill":
        metric, unit, month, error = _appointment_drill_args()
        if error:
            return error, 400
        result = metrics.appointment_drill(metric, period, vis, unit, month)
        return exports.appointment_drill_table(
            _("预约明细") + "-" + _(APPOINTMENT_METRIC_LABELS[metric]), result
        )
    if name.startswith("reform_"):
        result = metrics.reform_list(period, vis)
        builder = {
            "reform_visits": exports.reform_visits_table,
            "reform_guide": exports.reform_guide_table,
            "reform_ontime": exports.reform_on_time_table,
        }[name]
        return builder(result)
    metric = request.args.get("metric", "completed")
    if metric not in metrics.DRILL_METRICS:
        return _("未知的统计指标"), 400
    key = request.args.get("key", metrics.ALL_KEY)
    result = metrics.drill_down(metric, key, period, vis, by=form.by.data)
    return exports.drill_table(_("办件明细") + "-" + _(METRIC_LABELS[metric]), result)


def _export(kind: str):
    name = request.args.get("table", "summary")
    if name not in STAFF_TABLES + PUBLIC_TABLES:
        return _bad_request(_("未知的导出表格"))
    if name in STAFF_TABLES:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not _is_staff_viewer():
            abort(403)
    table = _table(name)
    if isinstance(table, tuple):
        return _bad_request(table[0])
    stamp = local_now().strftime("%Y%m%d-%H%M%S")
    if kind == "csv":
        body, mimetype = exports.to_csv(table), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(table)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if name in STAFF_TABLES:  # exports of staff figures are on the record (public tables are public)
        audit.record(
            "stats.export",
            object_type="stats",
            object_id=name,
            details={"format": kind, "args": request.args.to_dict()},
        )
        commit()
    response = Response(body, headers={"Content-Type": mimetype})
    response.headers["Content-Disposition"] = content_disposition(
        f"{table.title}-{stamp}.{kind}", f"stats-{name}-{stamp}.{kind}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _bad_request(message: str):
    return render_template("errors/error.html", code=400, title=_("请求有误"), message=message), 400


@bp.get("/export.csv")
@writes_on_get
def export_csv():
    return _export("csv")


@bp.get("/export.xlsx")
@writes_on_get
def export_xlsx():
    return _export("xlsx")


# JSON API -----------------------------------------------------------------------------------------


@api_bp.get("/stats")
@api.operation(
    summary="最多跑一次统计：办结、跑零次率、网办率、按时办结率、满意度",
    description=(
        "按月（month）或按类别（category）为全市公开数据；按事项（item）或按单位（unit）仅对科室负责人"
        "（本单位）、管理员和审计员开放，其他人 403。日期为北京时间，含首尾两天，时段最长 3 年。"
    ),
    tags=("stats",),
    query=schemas.StatsQuery,
    response=schemas.StatsOut,
    errors=(403,),
    cacheable=True,
)
def api_stats(query: schemas.StatsQuery):
    by = query.by
    end = query.date_to or today()
    start = query.date_from or min(end, today()) - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or too_long(start, end):
        raise api.ApiError(400, "invalid_range", _("结束日期不能早于开始日期"), "to")
    vis: Visibility = None
    if by not in metrics.PUBLIC_BY:
        if not _is_staff_viewer():
            raise api.ApiError(
                403,
                "login_required",
                _("按事项或按单位的统计仅对科室负责人、管理员和审计员开放，请登录后再试。"),
            )
        vis = visibility_of(current_user)
    stats = metrics.compute(Period(start, end), by, vis)
    body = schemas.StatsOut(
        date_from=start,
        date_to=end,
        by=by,
        rows=[schemas.StatRowOut(**r.as_dict(extra=True)) for r in stats.rows],
        totals=schemas.StatRowOut(**stats.totals.as_dict(extra=True)),
    )
    response = api.json_response(body)
    if by in metrics.PUBLIC_BY and not current_user.is_authenticated:
        response.headers["Cache-Control"] = "public, max-age=60"
        response.add_etag()  # from the content: a new figure is a new tag
        response = response.make_conditional(request)
    return response


NAV_PUBLIC = _l("公开数据")
NAV_STAFF = _l("统计分析")
