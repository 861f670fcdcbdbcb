"""What the bureau holds about one citizen, gathered for 我的数据 and its download.

Everything is read for the logged-in holder only and shown to them in full — name, ID number and
mobile unmasked: masking protects a person from *others* (screens of staff, exports, logs); on their
own page it would hide their data from the person it belongs to. Each section is a list of rows
with Chinese keys, the same for the page and for ``data.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from applications.bundles.models import BundleApplication, BundleState
from applications.models import Application, ApplicationDocument, WalletDocument
from applications.ratings.models import Rating
from applications.submission.pinned import item_names
from applications.workflow.states import STATE_LABELS, State
from auth.models import Assurance, User
from core.audit import AuditLog
from core.clock import SHANGHAI
from core.db import db
from core.outbox import OutboxMessage

BUNDLE_STATE_LABELS = {
    BundleState.DRAFT: "草稿",
    BundleState.SUBMITTED: "办理中",
    BundleState.COMPLETED: "已全部办结",
    BundleState.WITHDRAWN: "已撤回",
}

#: Audit actions that are the account's own login history (kept in the audit trail).
LOGIN_ACTIONS = ("login.success", "login.failure", "login.lockout", "login.refused_locked", "logout")
LOGIN_HISTORY_ROWS = 50


def _time(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


@dataclass
class Section:
    key: str  # the data.json key and the page's anchor
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: Columns the page shows (data.json has every key of every row).
    columns: tuple[str, ...] = ()


@dataclass
class Holdings:
    user: User
    account: dict[str, Any]
    identity: dict[str, Any]
    sections: list[Section]
    #: (storage key, path inside the zip) of every file the citizen gave.
    files: list[tuple[str, str]]

    def as_json(self, exported_at: datetime) -> dict[str, Any]:
        return {
            "导出时间": _time(exported_at),
            "说明": _("临江市公安局网上办事大厅依《个人信息保护法》第四十五条向本人提供的个人信息副本。"),
            "账号": self.account,
            "身份认证": self.identity,
            **{s.key: s.rows for s in self.sections},
        }


def _assurance_label(level: int) -> str:
    return {
        Assurance.L0: _("未验证手机（L0）"),
        Assurance.L1: _("手机认证（L1）"),
        Assurance.L2: _("实名认证（L2）"),
    }[Assurance(level or 0)]


def _source_label(user: User) -> str:
    if user.level >= Assurance.L2:
        return _("窗口当面核验") if user.identity_source == "counter" else _("人口信息核验")
    if user.level == Assurance.L1:
        return _("短信验证码验证手机号码")
    return ""


def _safe(name: str) -> str:
    """A display name fit for a path inside the zip (no folders, no control characters)."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or not c.isprintable() else c for c in name).strip(". ")
    return cleaned[:80] or "file"


def holdings(user: User) -> Holdings:
    """Everything the portal keeps about ``user`` (see the module docstring)."""
    account = {"姓名": user.real_name}
    if user.is_passport_holder:  # a foreigner (issue 23): the passport, its nationality, the name in it
        account |= {
            "英文姓名": user.english_name or "",
            "国籍": user.nationality or "",
            "护照号码": user.id_number or "",
        }
    else:
        account["居民身份证号码"] = user.id_number or ""
    account |= {
        "手机号码": user.mobile or "",
        "注册时间": _time(user.created_at),
        "最近登录时间": _time(user.last_login_at),
    }
    identity = {
        "认证级别": _assurance_label(user.assurance),
        "认证方式": _source_label(user),
        "实名认证时间": _time(user.identity_verified_at),
    }
    files: list[tuple[str, str]] = []

    apps = list(
        db.session.scalars(
            select(Application).where(Application.applicant_id == user.id).order_by(Application.created_at)
        )
    )
    names = item_names(apps)
    docs_by_app: dict[int, list[ApplicationDocument]] = {}
    if apps:
        for doc in db.session.scalars(
            select(ApplicationDocument)
            .where(ApplicationDocument.application_id.in_([a.id for a in apps]))
            .order_by(ApplicationDocument.id)
        ):
            docs_by_app.setdefault(doc.application_id, []).append(doc)
    refs_by_id = {a.id: a.reference or "" for a in apps}
    app_rows = []
    for a in apps:
        label = a.reference or f"草稿-{a.id}"
        app_docs = []
        for doc in docs_by_app.get(a.id, []):
            path = f"材料/办件/{label}/{doc.id}-{_safe(doc.display_name)}"
            files.append((doc.storage_key, path))
            app_docs.append({"材料": doc.requirement_name, "文件名": doc.display_name, "文件": path})
        app_rows.append(
            {
                "受理编号": a.reference or "",
                "事项": names.get(a.version_id, ""),
                "状态": _(STATE_LABELS[State(a.state)]),
                "办理渠道": _("窗口") if a.channel == "counter" else _("网上"),
                "创建时间": _time(a.created_at),
                "提交时间": _time(a.submitted_at),
                "办结时间": _time(a.completed_at),
                "承诺办结日期": _day(a.promised_due),
                "代办": bool(a.is_proxy),
                "被代办人": a.principal_name or "",
                "被代办人身份证号码": a.principal_id_number or "",
                "联系电话": a.contact_mobile or "",
                "情形选择": a.answers or {},
                "填写内容": a.form_data or {},
                "送达方式": a.delivery_method or "",
                "送达地址": a.delivery_address or {},
                "提交的材料": app_docs,
            }
        )

    bundle_rows = []
    for b in db.session.scalars(
        select(BundleApplication)
        .where(BundleApplication.applicant_id == user.id)
        .order_by(BundleApplication.created_at)
    ):
        label = b.reference or f"草稿-{b.id}"
        bundle_docs = []
        for doc in b.documents:
            path = f"材料/一件事/{label}/{doc.id}-{_safe(doc.display_name)}"
            files.append((doc.storage_key, path))
            bundle_docs.append({"材料": doc.doc_key, "文件名": doc.display_name, "文件": path})
        bundle_rows.append(
            {
                "编号": b.reference or "",
                "一件事": b.bundle.name if b.bundle else "",
                "状态": _(BUNDLE_STATE_LABELS[BundleState(b.state)]),
                "创建时间": _time(b.created_at),
                "提交时间": _time(b.submitted_at),
                "办结时间": _time(b.completed_at),
                "填写内容": b.answers or {},
                "送达方式": b.delivery_method or "",
                "送达地址": b.delivery_address or {},
                "各项": [{"事项": p.name, "办件编号": refs_by_id.get(p.application_id, "")} for p in b.parts],
                "提交的材料": bundle_docs,
                "评价等级": b.rating_level or "",
                "评价意见": b.rating_comment or "",
            }
        )

    wallet_rows = []
    for doc in db.session.scalars(
        select(WalletDocument).where(WalletDocument.owner_id == user.id).order_by(WalletDocument.id)
    ):
        path = f"材料/我的材料/{doc.id}-{_safe(doc.display_name)}"
        files.append((doc.storage_key, path))
        wallet_rows.append(
            {
                "材料名称": doc.doc_type,
                "文件名": doc.display_name,
                "可信等级": str(
                    doc.trust_level.value if hasattr(doc.trust_level, "value") else doc.trust_level
                ),
                "发证机关": doc.issuer or "",
                "有效期至": _day(doc.expires_on),
                "上传时间": _time(doc.created_at),
                "大小（字节）": doc.size,
                "文件": path,
            }
        )

    message_rows = [
        {
            "时间": _time(m.created_at),
            "标题": m.title,
            "内容": m.body,
            "短信": m.sms_text or "",
            "已读": m.read_at is not None,
        }
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.user_id == user.id).order_by(OutboxMessage.created_at)
        )
    ]

    refs = {a.id: a.reference or "" for a in apps}
    rating_rows = [
        {
            "受理编号": refs.get(r.application_id, ""),
            "评价等级": r.level,
            "原因": list(r.reasons or []),
            "意见": r.comment or "",
            "时间": _time(r.created_at),
        }
        for r in db.session.scalars(
            select(Rating).where(Rating.user_id == user.id).order_by(Rating.created_at)
        )
    ]

    login_labels = {
        "login.success": _("登录成功"),
        "login.failure": _("登录失败"),
        "login.lockout": _("多次失败，账号锁定"),
        "login.refused_locked": _("锁定期间尝试登录"),
        "logout": _("退出登录"),
    }
    login_rows = [
        {"时间": _time(row.at), "事件": login_labels.get(row.action, row.action), "IP地址": row.ip or ""}
        for row in db.session.scalars(
            select(AuditLog)
            .where(
                AuditLog.object_type == "user",
                AuditLog.object_id == str(user.id),
                AuditLog.action.in_(LOGIN_ACTIONS),
            )
            .order_by(AuditLog.id.desc())
            .limit(LOGIN_HISTORY_ROWS)
        )
    ]

    sections = [
        Section(
            "办件", _("办件"), app_rows, ("受理编号", "事项", "状态", "创建时间", "提交时间", "办结时间")
        ),
        Section("一件事", _("一件事"), bundle_rows, ("编号", "一件事", "状态", "提交时间", "办结时间")),
        Section(
            "我的材料", _("我的材料"), wallet_rows, ("材料名称", "文件名", "可信等级", "有效期至", "上传时间")
        ),
        Section("消息", _("消息"), message_rows, ("时间", "标题", "已读")),
        Section("评价", _("评价"), rating_rows, ("受理编号", "评价等级", "意见", "时间")),
        Section(
            "登录记录",
            _("登录记录（最近 %(n)d 次）", n=LOGIN_HISTORY_ROWS),
            login_rows,
            ("时间", "事件", "IP地址"),
        ),
    ]
    return Holdings(user=user, account=account, identity=identity, sections=sections, files=files)
