"""一件事 on the scoreboard: the staff page (per bundle and per month, each number linking to the
bundles behind it), its drill-down, and ``GET /api/v1/stats/bundles`` (whole-city figures, public).
Every figure comes from :mod:`applications.stats.bundles`."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from applications.stats import bundle_schemas as schemas
from applications.stats import bundles as figures
from applications.stats.forms import DEFAULT_DAYS, too_long
from applications.stats.metrics import ALL_KEY, Period
from applications.stats.views import STAFF_ROLES, _form, _period, today, visibility_of
from auth.policies import role_required
from core import api

bp = Blueprint("bundle_stats", __name__, url_prefix="/stats/bundles")
api_bp = Blueprint("bundle_stats_api", __name__, url_prefix="/api/v1")


def init_bundle_stats(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


def _drill_url(period: Period):
    def build(metric: str, bundle: str = ALL_KEY, month: str = ALL_KEY) -> str:
        return url_for("bundle_stats.drill", metric=metric, bundle=bundle, month=month, **period.args())

    return build


@bp.get("")
@role_required(*STAFF_ROLES)
def overview():
    form = _form(by_choices=("month",), default_by="month")
    if not form.validate():
        return render_template("stats/bundles.html", form=form, ready=False), 422
    period = _period(form)
    vis = visibility_of(current_user)
    return render_template(
        "stats/bundles.html",
        form=form,
        ready=True,
        period=period,
        by_bundle=figures.compute(period, "bundle", vis),
        by_month=figures.compute(period, "month", vis),
        drill=_drill_url(period),
        restricted=vis is not None,
    )


@bp.get("/drill")
@role_required(*STAFF_ROLES)
def drill():
    form = _form(by_choices=("month",), default_by="month")
    metric = request.args.get("metric", "completed")
    bundle = request.args.get("bundle", ALL_KEY) or ALL_KEY
    month = request.args.get("month", ALL_KEY) or ALL_KEY
    if metric not in figures.DRILL_METRICS:
        form.form_errors.append(_("未知的统计指标"))
    if not form.validate() or form.form_errors:
        return render_template("stats/bundle_drill.html", form=form, ready=False), 400
    period = _period(form)
    rows, total = figures.drill(metric, period, visibility_of(current_user), bundle, month)
    labels = {"completed": _("办结"), "zero_visit": _("跑零次办结"), "visited": _("有到场记录")}
    return render_template(
        "stats/bundle_drill.html",
        form=form,
        ready=True,
        period=period,
        rows=rows,
        total=total,
        metric_label=labels[metric],
        scope=" · ".join(
            [bundle if bundle != ALL_KEY else _("全部一件事")] + ([month] if month != ALL_KEY else [])
        ),
    )


@api_bp.get("/stats/bundles")
@api.operation(
    summary="一件事统计：办结件数、跑零次率、端到端办理时长",
    description=(
        "按一件事（bundle）或按月（month）的全市公开数据：一件事办结件数、跑零次率（所含公安事项均无"
        "到场记录）、从提交到最后一个环节办结的天数（中位数、平均数）。按办结日期（北京时间）统计，"
        "含首尾两天，时段最长 3 年。"
    ),
    tags=("stats",),
    query=schemas.BundleStatsQuery,
    response=schemas.BundleStatsOut,
    cacheable=True,
)
def api_bundle_stats(query: schemas.BundleStatsQuery):
    end = query.date_to or today()
    start = query.date_from or min(end, today()) - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or too_long(start, end):
        raise api.ApiError(400, "invalid_range", _("结束日期不能早于开始日期"), "to")
    stats = figures.compute(Period(start, end), query.by)
    body = schemas.BundleStatsOut(
        date_from=start,
        date_to=end,
        by=query.by,
        rows=[schemas.BundleRowOut(**r.as_dict()) for r in stats.rows],
        totals=schemas.BundleRowOut(**stats.totals.as_dict()),
    )
    response = api.json_response(body)
    if not current_user.is_authenticated:
        response.headers["Cache-Control"] = "public, max-age=60"
    return response
