"""The auditor's read-only view of the audit trail: a filtered list, one object's history, a CSV export.

三权分立: only the ``auditor`` role may open these pages — admins run the system and cannot read (or
erase) its trail. There is no write route here; the rows themselves are append-only (:mod:`core.audit`).
The only thing this module writes is a new audit row for each export (reading may append, never change).

The role check is written against ``current_user.role_value`` rather than ``auth.policies`` because
``core`` imports no feature package outside ``create_app``. Details were masked when they were written;
they are masked again on the way out, so a row that reached the table some other way (raw SQL, an old
script) cannot show a full ID or mobile number on screen or in the export.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, and_, or_, select
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from audit_viewer.readable import Names, readable_line
from core import audit
from core.audit import AuditLog
from core.clock import SHANGHAI, local_now
from core.db import db, writes_on_get
from core.exports import CSV_MIMETYPE, csv_stream, download_response
from core.extensions import login_manager
from core.forms import LocalDateField, PortalForm, strip
from core.i18n import N_, translated_labels
from core.masking import mask_text, mask_value
from core.nav import add_nav
from core.transaction import commit

bp = Blueprint("audit", __name__, url_prefix="/audit")

AUDITOR_ROLE = "auditor"
PAGE_SIZE = 50
EXPORT_ROW_CAP = 100_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Role names as shown (``auth.models.Role.label`` lives in a feature package core may not import).
ROLE_LABELS = {
    "citizen": N_("群众"),
    "clerk": N_("窗口/审核人员"),
    "unit_lead": N_("科室负责人"),
    "admin": N_("管理员"),
    "auditor": N_("审计员"),
}
OBJECT_LABELS = {
    "application": N_("办件"),
    "user": N_("账号"),
    "catalog": N_("事项目录"),
    "item": N_("事项"),
    "wallet_document": N_("材料库文件"),
    "routing_rule": N_("分派规则"),
}
FILTER_NAMES = ("actor", "action", "object_type", "object_id", "date_from", "date_to")


# Authorisation ------------------------------------------------------------------------------------


@bp.before_request
def _auditors_only():
    """Every route of this blueprint: anonymous → the login page, any role but auditor → 403."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if getattr(current_user, "role_value", None) != AUDITOR_ROLE:
        abort(403)
    return None


# The filter form ----------------------------------------------------------------------------------


class AuditFilterForm(PortalForm):
    """The GET filter form of the audit list and its export (no CSRF token: it changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField(
        _l("操作人"),
        filters=[strip],
        validators=[Optional(), Length(max=64, message=_l("操作人不能超过64个字符"))],
        description=_l("用户名或账号标识中包含的文字"),
    )
    action = StringField(
        _l("操作类型"),
        filters=[strip],
        validators=[Optional(), Length(max=64, message=_l("操作类型不能超过64个字符"))],
        description=_l("按开头匹配，例如 login. 或 application."),
    )
    object_type = StringField(
        _l("对象类型"),
        filters=[strip],
        validators=[Optional(), Length(max=64, message=_l("对象类型不能超过64个字符"))],
        description=_l("例如 application、user"),
    )
    object_id = StringField(
        _l("对象编号"),
        filters=[strip],
        validators=[Optional(), Length(max=64, message=_l("对象编号不能超过64个字符"))],
    )
    date_from = LocalDateField(_l("开始日期"), validators=[Optional()])
    date_to = LocalDateField(_l("结束日期"), validators=[Optional()], description=_l("含当天（北京时间）"))

    def validate_date_to(self, field: LocalDateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("结束日期不能早于开始日期"))


@dataclass(frozen=True)
class AuditFilters:
    """Validated filters; empty strings and ``None`` mean "any"."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_form(cls, form: AuditFilterForm) -> AuditFilters:
        return cls(
            actor=form.actor.data or "",
            action=form.action.data or "",
            object_type=form.object_type.data or "",
            object_id=form.object_id.data or "",
            date_from=form.date_from.data,
            date_to=form.date_to.data,
        )

    def as_args(self) -> dict[str, str]:
        """The non-empty filters as query-string values (for links and the export's own audit row)."""
        values = {name: getattr(self, name) for name in FILTER_NAMES}
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items() if v}


# Queries ------------------------------------------------------------------------------------------

COLUMNS = (
    AuditLog.id,
    AuditLog.at,
    AuditLog.actor_id,
    AuditLog.actor_label,
    AuditLog.actor_role,
    AuditLog.action,
    AuditLog.object_type,
    AuditLog.object_id,
    AuditLog.ip,
    AuditLog.details,
)


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in Asia/Shanghai, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def filtered(filters: AuditFilters) -> Select:
    """Audit rows matching ``filters``, newest first (``at`` then ``id``, so ties have a fixed order).

    The actor matches anywhere in the stored label, ignoring case; a full mobile or ID number typed
    by the auditor is masked first, since labels are stored masked. The action matches by prefix.
    ``%`` and ``_`` typed by the auditor are literal characters, not wildcards.
    """
    stmt = select(*COLUMNS)
    if filters.actor:
        stmt = stmt.where(AuditLog.actor_label.icontains(mask_text(filters.actor), autoescape=True))
    if filters.action:
        stmt = stmt.where(AuditLog.action.startswith(filters.action, autoescape=True))
    if filters.object_type:
        stmt = stmt.where(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditLog.object_id == filters.object_id)
    if filters.date_from:
        stmt = stmt.where(AuditLog.at >= local_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditLog.at < local_midnight(filters.date_to + timedelta(days=1)))
    return stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc())


def older_than(stmt: Select, cursor: tuple[datetime, int]) -> Select:
    """Keyset pagination: the rows after ``cursor`` (``(at, id)`` of the last row shown)."""
    at, row_id = cursor
    return stmt.where(or_(AuditLog.at < at, and_(AuditLog.at == at, AuditLog.id < row_id)))


_CURSOR_RE = re.compile(r"^(\d{1,18})-(\d{1,18})$")


def encode_cursor(at: datetime, row_id: int) -> str:
    return f"{(at - EPOCH) // timedelta(microseconds=1)}-{row_id}"


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    """``"<microseconds since 1970 UTC>-<id>"`` → ``(at, id)``; ``None`` when it is not one."""
    match = _CURSOR_RE.match(value or "")
    if not match:
        return None
    try:
        at = EPOCH + timedelta(microseconds=int(match.group(1)))
    except OverflowError:
        return None
    return at, int(match.group(2))


# Presentation -------------------------------------------------------------------------------------


def compact_json(details: Any) -> str:
    """Details as one short line of JSON (Chinese kept readable), masked again on the way out."""
    if not details:
        return ""
    return json.dumps(mask_value(details), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor_label: str
    role: str
    role_label: str
    action: str
    object_type: str
    object_label: str
    object_id: str
    ip: str
    details: str
    line: str = ""


@dataclass(frozen=True)
class Labels:
    """Role and object-type names in the current language, looked up once per page or export."""

    roles: dict[str, str]
    objects: dict[str, str]

    @classmethod
    def current(cls) -> Labels:
        return cls(
            roles=translated_labels(ROLE_LABELS),
            objects=translated_labels(OBJECT_LABELS),
        )


def to_entry(row: Any, labels: Labels, names: Names | None = None) -> Entry:
    role = row.actor_role or ""
    object_type = row.object_type or ""
    names = names if names is not None else Names.for_rows([row])
    return Entry(
        id=row.id,
        at=row.at,
        actor_label=mask_text(row.actor_label or ""),
        role=role,
        role_label=labels.roles.get(role, role),
        action=row.action,
        object_type=object_type,
        object_label=labels.objects.get(object_type, object_type),
        object_id=row.object_id or "",
        ip=row.ip or "",
        details=compact_json(row.details),
        line=readable_line(row, names, labels.roles),
    )


# Pages --------------------------------------------------------------------------------------------


def _context(form: AuditFilterForm, fixed: Mapping[str, str] | None = None) -> dict[str, Any]:
    if fixed:
        kind = OBJECT_LABELS.get(fixed["object_type"])
        heading = _(
            "对象审计记录：%(kind)s %(id)s",
            kind=_(kind) if kind else fixed["object_type"],
            id=fixed["object_id"],
        )
    else:
        heading = _("审计日志")
    return {
        "heading": heading,
        "form": form,
        "fixed": fixed,
        "entries": [],
        "is_first_page": True,
        "older_url": None,
        "newest_url": None,
        "export_url": None,
        "page_size": PAGE_SIZE,
        "export_cap_text": f"{EXPORT_ROW_CAP:,}",
    }


def _list_page(fixed: Mapping[str, str] | None = None):
    """The list (``fixed`` pins object_type/object_id for one object's history)."""
    form = AuditFilterForm(formdata=request.args)
    valid = form.validate()
    if fixed:
        form.object_type.data, form.object_id.data = fixed["object_type"], fixed["object_id"]
    context = _context(form, fixed)
    if not valid:
        return render_template("audit/list.html", **context), 422
    filters = AuditFilters.from_form(form)
    cursor = None
    if "before" in request.args:
        cursor = decode_cursor(request.args["before"])
        if cursor is None:
            abort(400)
    stmt = filtered(filters)
    if cursor:
        stmt = older_than(stmt, cursor)
    rows = db.session.execute(stmt.limit(PAGE_SIZE + 1)).all()
    labels = Labels.current()
    names = Names.for_rows(rows[:PAGE_SIZE])
    entries = [to_entry(r, labels, names) for r in rows[:PAGE_SIZE]]
    args = filters.as_args()
    link_args = {k: v for k, v in args.items() if not (fixed and k in fixed)}
    view_args = dict(request.view_args or {})
    if len(rows) > PAGE_SIZE:
        last = entries[-1]
        context["older_url"] = url_for(
            request.endpoint, **view_args, **link_args, before=encode_cursor(last.at, last.id)
        )
    context.update(
        entries=entries,
        is_first_page=cursor is None,
        newest_url=url_for(request.endpoint, **view_args, **link_args),
        export_url=url_for("audit.export", **args),
    )
    return render_template("audit/list.html", **context)


@bp.get("")
def index():
    return _list_page()


@bp.get("/<object_type>/<object_id>")
def object_history(object_type: str, object_id: str):
    return _list_page({"object_type": object_type, "object_id": object_id})


# Export -------------------------------------------------------------------------------------------

CSV_HEADER = (
    N_("记录号"),
    N_("时间（北京时间）"),
    N_("操作人"),
    N_("角色"),
    N_("操作"),
    N_("对象类型"),
    N_("对象编号"),
    N_("IP地址"),
    N_("详情"),
    N_("事件说明"),
)
CHUNK_ROWS = 500


def _csv_record(row: Any, labels: Labels, names: Names) -> list[Any]:
    entry = to_entry(row, labels, names)
    return [
        entry.id,
        entry.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_label,
        entry.role_label,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.ip,
        entry.details,
        entry.line,
    ]


def _records(stmt: Select, cap: int) -> Iterator[list[Any]]:
    """Up to ``cap`` rows of ``stmt`` as CSV records; when more match, a last line saying so."""
    labels = Labels.current()
    result = db.session.execute(stmt.limit(cap + 1).execution_options(yield_per=CHUNK_ROWS))
    n = 0
    try:
        for chunk in result.partitions(CHUNK_ROWS):
            names = Names.for_rows(chunk)  # the readable line's names, one look-up per chunk
            for row in chunk:
                n += 1
                if n > cap:
                    yield [
                        "",
                        _("已达到导出上限 %(cap)s 条，更早的记录未导出，请缩小日期范围后分批导出。", cap=cap),
                    ]
                    return
                yield _csv_record(row, labels, names)
    finally:
        result.close()


def csv_rows(stmt: Select, cap: int) -> Iterator[bytes]:
    """The BOM, the Chinese header row and up to ``cap`` rows of ``stmt``, a chunk at a time
    (:func:`core.exports.csv_stream`: cells that look like formulas are escaped)."""
    return csv_stream([_(h) for h in CSV_HEADER], _records(stmt, cap), chunk_rows=CHUNK_ROWS)


@bp.get("/export.csv")
@writes_on_get
def export():
    """The rows the list would show for these filters, as CSV; the export is itself audited first."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("audit/list.html", **_context(form)), 422
    filters = AuditFilters.from_form(form)
    row = audit.record("audit.export", details={"filters": filters.as_args(), "row_cap": EXPORT_ROW_CAP})
    db.session.flush()
    own_id = row.id
    commit()
    stmt = filtered(filters).where(AuditLog.id != own_id)  # not the export's own row
    stamp = local_now().strftime("%Y%m%d-%H%M%S")
    return download_response(
        stream_with_context(csv_rows(stmt, EXPORT_ROW_CAP)),
        f"审计日志-{stamp}.csv",
        f"audit-log-{stamp}.csv",
        CSV_MIMETYPE,
    )


def init_audit_viewer(app: Flask) -> None:
    """Register the auditor's pages and their navigation link (auditors only)."""
    from audit_viewer.cli import register_cli

    app.register_blueprint(bp)
    add_nav(app, "audit.index", _l("审计日志"), roles={AUDITOR_ROLE})
    register_cli(app)
