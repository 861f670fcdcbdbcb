"""One readable Chinese line per audit event: who (masked name and role), what (a label for every action
code the code base writes), which record (reference number, item code, masked account) and what changed
(before → after per field, field names in Chinese where known).

The raw row stays the record of truth: the list shows it one click away and the export keeps its raw
columns beside this line. :data:`ACTION_LABELS` must name every code passed to ``audit.record`` (a test
reads the source tree and fails on a code without a label).

The viewer sits beside ``applications`` (not above it), so application reference numbers are read
through a bare ``table()`` clause rather than the applications package's model; state names are
repeated here and a test checks them against the workflow's own labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import column, select, table

from auth.models import Unit, User
from core.db import db
from core.i18n import N_
from core.masking import mask_text, mask_value

#: Every action code written to the trail → what happened, in Chinese.
ACTION_LABELS: dict[str, str] = {
    # sign-in and accounts
    "login.success": N_("登录成功"),
    "login.failure": N_("登录失败"),
    "login.lockout": N_("连续登录失败，账号被临时锁定"),
    "login.refused_locked": N_("账号锁定期间尝试登录，被拒绝"),
    "logout": N_("退出登录"),
    "account.register": N_("注册账号"),
    "account.password_change": N_("修改密码"),
    "account.password_reset_by_sms": N_("通过短信验证码重设密码"),
    "account.mobile_change": N_("更换手机号码"),
    "account.assurance_raise": N_("提升实名认证等级"),
    "account.assurance_refused": N_("人口信息核验未通过"),
    "population.match": N_("人口信息库比对（解密住户记录）"),
    "account.id_dispute": N_("身份证号码争议，冻结原账号"),
    "account.counter_create": N_("窗口为群众建立账号"),
    "account.counter_attach": N_("窗口登记使用群众已有账号（当面核验）"),
    # staff administration
    "staff.create": N_("新建工作人员账号"),
    "staff.update": N_("修改工作人员账号"),
    "staff.enable": N_("启用工作人员账号"),
    "staff.disable": N_("停用工作人员账号"),
    "staff.password_reset": N_("重置工作人员密码"),
    # applications: the citizen's side
    "application.start": N_("开始申请（草稿）"),
    "application.document_upload": N_("上传材料"),
    "application.document_from_wallet": N_("从“我的材料”选用材料"),
    "application.document_remove": N_("删除已上传材料"),
    "application.principal_confirmation_requested": N_("请被代办人网上确认授权"),
    "application.principal_confirmed": N_("被代办人确认代办授权"),
    # 一件事: the citizen's one-form application, its fan-out and its progress (issue 22)
    "bundle.start": N_("开始一件事申请（草稿）"),
    "bundle.document_upload": N_("上传一件事共用材料"),
    "bundle.document_from_wallet": N_("一件事共用材料从“我的材料”选用"),
    "bundle.document_remove": N_("删除一件事共用材料"),
    "bundle.submit": N_("提交一件事申请（分送各事项）"),
    "bundle.part_status": N_("一件事中一项的进度变化"),
    "bundle.complete": N_("一件事全部办结"),
    # applications: transitions (application.<Action>)
    "application.submit": N_("提交申请"),
    "application.withdraw": N_("撤回申请"),
    "application.accept": N_("受理"),
    "application.not_accept": N_("不予受理"),
    "application.request_correction": N_("一次性告知补正"),
    "application.resubmit": N_("提交补正材料"),
    "application.approve": N_("办结（准予）"),
    "application.refuse": N_("办结（不予许可）"),
    "application.deliver": N_("结果已送达"),
    # applications: the clerk's side
    "application.claim": N_("领取办件"),
    "application.release": N_("退回队列"),
    "application.reassign": N_("改派办件"),
    "application.transfer": N_("转办到其他单位"),
    "application.visit": N_("记录到场"),
    "application.reveal_id": N_("查看完整身份证号码"),
    "application.document_view": N_("查看申请材料"),
    "application.refused_transition": N_("不允许的办理操作（已拒绝）"),
    "application.signoff_request": N_("申请再次补正（待科室负责人审批）"),
    "application.signoff_approve": N_("同意再次补正"),
    "application.signoff_reject": N_("不同意再次补正"),
    "application.due_dates_recomputed": N_("重新计算办结期限"),
    # ratings
    "rating.invite": N_("邀请评价"),
    "rating.create": N_("群众评价"),
    "rating.follow_up_open": N_("差评回访立项"),
    "rating.follow_up_close": N_("差评回访办结"),
    # wallet
    "wallet.delete": N_("删除“我的材料”中的文件"),
    # catalog
    "catalog.load": N_("导入事项目录"),
    "catalog.item_create": N_("新建事项"),
    "catalog.item_update": N_("修改事项草稿"),
    "catalog.draft_create": N_("建立事项修改草稿"),
    "catalog.draft_discard": N_("放弃事项草稿"),
    "catalog.publish": N_("发布事项"),
    "catalog.retire": N_("停用事项"),
    "catalog.reinstate": N_("恢复事项"),
    "catalog.documents_add": N_("新增申请材料"),
    "catalog.documents_update": N_("修改申请材料"),
    "catalog.documents_remove": N_("删除申请材料"),
    "catalog.documents_reorder": N_("调整申请材料顺序"),
    "catalog.situations_add": N_("新增情形"),
    "catalog.situations_update": N_("修改情形"),
    "catalog.situations_remove": N_("删除情形"),
    "catalog.situations_reorder": N_("调整情形顺序"),
    "catalog.fields_add": N_("新增表单字段"),
    "catalog.fields_update": N_("修改表单字段"),
    "catalog.fields_remove": N_("删除表单字段"),
    "catalog.fields_reorder": N_("调整表单字段顺序"),
    "catalog.bundle_create": N_("新建一件事"),
    "catalog.bundle_update": N_("修改一件事"),
    "catalog.bundle_delete": N_("删除一件事"),
    "catalog.bundle_flow_draft": N_("修改一件事联办流程草稿"),
    "catalog.bundle_flow_discard": N_("放弃一件事联办流程草稿"),
    "catalog.bundle_flow_publish": N_("发布一件事联办流程"),
    "catalog.department_create": N_("添加协办部门"),
    "catalog.department_update": N_("修改协办部门"),
    "ask.question_resolve": N_("未答问题加入事项别名或常见问题"),
    "ask.question_dismiss": N_("移除未答问题"),
    "unit.create": N_("新建单位"),
    "unit.update": N_("修改单位"),
    "routing.rule_create": N_("新建分派规则"),
    "routing.rule_toggle": N_("启用/停用分派规则"),
    "calendar.override_add": N_("新增工作日调整"),
    "calendar.override_delete": N_("删除工作日调整"),
    "calendar.arrangement_set": N_("录入年度放假安排"),
    # exports and maintenance
    "audit.export": N_("导出审计日志"),
    "audit.reference_restored": N_("补记办件编号（审计修复）"),
    "stats.export": N_("导出统计数据"),
    # 一件事 (bundle.submit/part_status/complete: labels also needed by the apply and exchange branches)
    "bundle.rate": N_("评价一件事（好差评）"),
    "bundle.corrections_answered": N_("一次提交一件事各事项的补正"),
    "demo.simulate": N_("生成演示数据"),
    "application.document_verdict": N_("核验材料（核验通过 / 需补正）"),
    "wallet.rejected": N_("材料被退回补正，我的材料中不再提供复用"),
    "correction_reason.create": N_("新增预设补正原因"),
    "correction_reason.update": N_("修改预设补正原因"),
    "correction_reason.delete": N_("删除预设补正原因"),
    "application.deferred_document_given": N_("补交容缺材料"),
    "account.data_export": N_("下载本人数据（我的数据）"),
    "account.delete": N_("注销账号（个人信息已删除或匿名化）"),
    # 预约
    "appointment.booked": N_("预约到场办理"),
    "appointment.moved": N_("改约"),
    "appointment.cancelled": N_("取消预约"),
    "appointment.checked_in": N_("预约签到（记录到场）"),
    "appointment.no_show": N_("预约未到"),
    "appointment.served": N_("预约叫号（开始办理）"),
    "appointment.hours_added": N_("新增预约办公时间"),
    "appointment.hours_removed": N_("删除预约办公时间"),
    "appointment.exception_added": N_("新增预约例外日（闭馆或加开）"),
    "appointment.exception_removed": N_("删除预约例外日"),
    "appointment.slots_opened": N_("开放预约时段"),
    "appointment.closed_cancelled": N_("因停止办公取消预约"),
    "appointment.group_added": N_("新增预约事项分组"),
    "appointment.group_changed": N_("修改预约事项分组"),
    "appointment.group_removed": N_("删除预约事项分组"),
    "appointment.slots_reconciled": N_("按办公时间调整预约时段（移除或停约）"),
    # 电子证照
    "ecert.key_create": N_("创建电子证照签名密钥"),
    "ecert.issue": N_("签发电子证照"),
    "ecert.revoke": N_("撤销电子证照"),
    "ecert.sources": N_("修改免提交设置（电子证照替代材料）"),
    "ecert.used": N_("从电子证照库调取材料（免提交）"),
    "ecert.share": N_("生成电子证照一次性核验链接"),
    "ecert.share_used": N_("打开电子证照一次性核验链接"),
    "backup.created": N_("生成备份"),
    "backup.restored": N_("从备份恢复"),
    "outbox.released_after_restore": N_("放行恢复后暂扣的消息"),
    # 一件事: the progress of a bundle's parts and the exchange with other departments
    "bundle.callback": N_("协办部门回执一件事推送"),
    "exchange.secret_shown": N_("查看协办部门的交换密钥"),
    "exchange.secret_rotated": N_("更换协办部门的交换密钥"),
    "job.run_now": N_("手动运行定时任务"),
    # retention (数据保存期限)
    "retention.draft_deleted": N_("按保存期限删除长期未动的草稿"),
    "retention.uploads_deleted": N_("按保存期限删除已办结办件的材料文件"),
    "retention.rejected_files_deleted": N_("删除已被替换的退回材料"),
    "retention.login_throttle_purged": N_("清理过期的登录限制记录"),
    "retention.verification_codes_purged": N_("清理过期的短信验证码"),
}

#: Names of the fields that details, before and after carry.
FIELD_LABELS: dict[str, str] = {
    "name": N_("名称"),
    "aliases": N_("别名"),
    "category_id": N_("类别"),
    "category": N_("类别"),
    "item_type": N_("事项类型"),
    "unit_kind": N_("实施单位类型"),
    "legal_basis": N_("设定依据"),
    "conditions": N_("受理条件"),
    "description": N_("说明"),
    "legal_days": N_("法定时限"),
    "promised_days": N_("承诺时限"),
    "day_kind": N_("计时方式"),
    "instant": N_("即办件"),
    "min_assurance": N_("申请人账号要求"),
    "fee": N_("收费"),
    "fee_note": N_("收费说明"),
    "visits": N_("到现场次数"),
    "visit_reason": N_("到现场事由"),
    "online_depth": N_("网办深度"),
    "delivery": N_("送达方式"),
    "result_name": N_("结果名称"),
    "e_certificate": N_("电子证照"),
    "proxy_allowed": N_("允许代办"),
    "counters": N_("办理窗口"),
    "hours": N_("办公时间"),
    "phone": N_("电话"),
    "complaint_phone": N_("投诉电话"),
    "popular": N_("热门"),
    "faq": N_("常见问题"),
    "form": N_("材料形式"),
    "copies": N_("份数"),
    "requirement": N_("材料"),
    "source": N_("来源"),
    "issuer": N_("出具单位"),
    "notes": N_("备注"),
    "accept": N_("接受格式"),
    "blank_form": N_("空白表格"),
    "sample": N_("示例"),
    "when": N_("适用情形"),
    "key": N_("键"),
    "label": N_("名称"),
    "type": N_("类型"),
    "required": N_("必填"),
    "options": N_("选项"),
    "question": N_("问题"),
    "help": N_("填写说明"),
    "value": N_("值"),
    "items": N_("事项"),
    "partners": N_("协同部门"),
    "username": N_("用户名"),
    "real_name": N_("姓名"),
    "role": N_("角色"),
    "units": N_("所属单位"),
    "active": N_("启用"),
    "district": N_("辖区"),
    "parent_id": N_("上级单位"),
    "address": N_("地址"),
    "kind": N_("单位类型"),
    "position": N_("顺序"),
    "item": N_("事项"),
    "unit": N_("单位"),
    "approving_unit": N_("审批单位"),
    "note": N_("说明"),
    "reason": N_("理由"),
    "working": N_("上班"),
    "state": N_("状态"),
    "action": N_("操作"),
    "purpose": N_("事由"),
    "place": N_("地点"),
    "which": N_("号码"),
    "document": N_("材料编号"),
    "size": N_("文件大小（字节）"),
    "channel": N_("渠道"),
    "version": N_("版本"),
    "index": N_("序号"),
    "identifier": N_("登录账号"),
    "minutes": N_("锁定分钟"),
    "frozen": N_("冻结账号"),
    "claimed_by": N_("认领账号"),
    "signoff": N_("审批单号"),
    "rating": N_("评价编号"),
    "level": N_("评价"),
    "reasons": N_("评价理由"),
    "outcome": N_("回访结果"),
    "due_on": N_("回访期限"),
    "notified": N_("已通知"),
    "doc_type": N_("材料类型"),
    "file_kept": N_("文件保留"),
    "wallet_document": N_("材料库文件"),
    "promised_due": N_("承诺办结日期"),
    "legal_due": N_("法定办结日期"),
    "format": N_("格式"),
    "filters": N_("筛选条件"),
    "row_cap": N_("导出上限"),
    "scanned": N_("扫描文件数"),
    "deferred": N_("容缺后补"),
    "days": N_("天数"),
    "per_day": N_("每日件数"),
    "submitted": N_("提交件数"),
    # 一件事 (issue 22)
    "step": N_("步骤"),
    "steps": N_("联办步骤"),
    "applications": N_("生成的办件"),
    "doc_key": N_("共用材料"),
    "bundle": N_("一件事"),
}

#: What a scalar before → after is, by action (a dict before/after is compared field by field).
SCALAR_CHANGE: dict[str, str] = {
    "bundle.part_status": N_("进度"),
    "account.assurance_raise": N_("认证等级"),
    "routing.rule_toggle": N_("启用"),
    "calendar.arrangement_set": N_("放假安排"),
    "account.mobile_change": N_("手机号码"),
}

#: The workflow's state names (``applications.workflow.states.STATE_LABELS``, checked by a test).
STATE_LABELS: dict[str, str] = {
    "draft": N_("草稿"),
    "submitted": N_("已提交，待受理"),
    "accepted": N_("已受理，办理中"),
    "correction_requested": N_("待补正"),
    "resubmitted": N_("已补正，待审核"),
    "approved": N_("办结（准予）"),
    "refused": N_("办结（不予许可）"),
    "not_accepted": N_("不予受理"),
    "withdrawn": N_("已撤回"),
    "delivered": N_("已送达"),
}

OBJECT_NAMES: dict[str, str] = {
    "application": N_("办件"),
    "user": N_("账号"),
    "service_item": N_("事项"),
    "bundle": N_("一件事"),
    "bundle_application": N_("一件事申请"),
    "department": N_("协办部门"),
    "external_department": N_("协办部门"),
    "unit": N_("单位"),
    "routing_rule": N_("分派规则"),
    "wallet_document": N_("材料库文件"),
    "calendar": N_("工作日历"),
    "rating_follow_up": N_("差评回访"),
    "catalog": N_("事项目录"),
    "stats": N_("统计数据"),
    "demo": N_("演示数据"),
    "ask_question": N_("未答问题"),
}

#: Coded values a reader would not know, by field.
#: A 一件事 part's progress (``bundle.part_status`` from → to).
PART_STATUS_LABELS = {
    "waiting": N_("等待前序事项"),
    "started": N_("已提交办理"),
    "pushed": N_("已推送"),
    "received": N_("已接收"),
    "done": N_("已办结"),
    "returned": N_("退回"),
    "cancelled": N_("已取消"),
}

VALUE_LABELS: dict[str, dict[str, str]] = {
    "from": PART_STATUS_LABELS,
    "to": PART_STATUS_LABELS,
    "channel": {"counter": N_("窗口"), "online": N_("网上")},
    "which": {"applicant": N_("申请人"), "principal": N_("被代办人")},
    "delivery": {"mail": N_("邮寄"), "counter": N_("窗口领取"), "ecert": N_("电子证照")},
    "role": {
        "citizen": N_("群众"),
        "clerk": N_("窗口/审核人员"),
        "unit_lead": N_("科室负责人"),
        "admin": N_("管理员"),
        "auditor": N_("审计员"),
    },
}

#: Details that say nothing to a reader (kept in the raw record).
HIDDEN_DETAILS = frozenset({"sha256", "reference", "args", "row"})
MAX_VALUE = 60
MAX_PARTS = 8


def mask_name(name: str | None) -> str:
    """A person's name with its middle hidden: 张晓明 → 张*明, 王五 → 王*, 欧阳娜娜 → 欧**娜."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass
class Names:
    """What the lines of one page need from other tables, looked up once for all of them."""

    users: dict[int, User] = field(default_factory=dict)
    references: dict[int, str] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)

    @classmethod
    def for_rows(cls, rows: Iterable[Any]) -> Names:
        rows = list(rows)
        user_ids: set[int] = set()
        app_ids: set[int] = set()
        unit_ids: set[int] = set()
        for row in rows:
            if row.actor_id:
                user_ids.add(row.actor_id)
            if row.object_type == "user" and str(row.object_id or "").isdigit():
                user_ids.add(int(row.object_id))
            if row.object_type == "application" and str(row.object_id or "").isdigit():
                app_ids.add(int(row.object_id))
            details = row.details or {}
            for key in ("from_user", "to_user", "frozen", "claimed_by"):
                if isinstance(details.get(key), int):
                    user_ids.add(details[key])
            for key in ("from_unit", "to_unit", "unit"):
                if isinstance(details.get(key), int):
                    unit_ids.add(details[key])
        names = cls()
        if user_ids:
            names.users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if app_ids:
            apps = table("applications", column("id"), column("reference"))
            names.references = {
                i: r
                for i, r in db.session.execute(
                    select(apps.c.id, apps.c.reference).where(apps.c.id.in_(app_ids))
                )
                if r
            }
        if unit_ids:
            names.units = dict(
                db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all()
            )
        return names

    def person(self, user_id: Any) -> str:
        user = self.users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            return f"#{user_id}"
        who = mask_name(user.real_name) or user.audit_label
        if user.username:
            return f"{who}（{user.username}）"
        return f"{who}（{mask_text(user.masked_mobile or '')}）" if user.masked_mobile else who


def _value(value: Any, key: str = "") -> str:
    """One value as a reader sees it (masked again: the raw row may predate the masking)."""
    value = mask_value(value)
    if value is None or value == "":
        return _("（空）")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if key in ("from", "to", "state") and isinstance(value, str) and value in STATE_LABELS:
        return _(STATE_LABELS[value])
    if isinstance(value, str) and value in VALUE_LABELS.get(key, {}):
        return _(VALUE_LABELS[key][value])
    if isinstance(value, list):
        text = "、".join(_value(v) for v in value) if value else _("（无）")
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _label(key: str) -> str:
    return _(FIELD_LABELS[key]) if key in FIELD_LABELS else key


def changes(action: str, details: Mapping[str, Any], names: Names) -> list[str]:
    """What the event changed or carried, one short phrase each: ``字段：旧 → 新`` or ``字段：值``."""
    parts: list[str] = []
    rest = dict(details or {})
    if "before" in rest or "after" in rest:
        before, after = rest.pop("before", None), rest.pop("after", None)
        if isinstance(before, dict) or isinstance(after, dict):
            old, new = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
            for key in [*old, *(k for k in new if k not in old)]:
                if before is None:  # created: what it was created with
                    parts.append(f"{_label(key)}：{_value(new.get(key), key)}")
                elif after is None:  # deleted: what it was
                    parts.append(f"{_label(key)}：{_value(old.get(key), key)}")
                elif old.get(key) != new.get(key):
                    parts.append(f"{_label(key)}：{_value(old.get(key), key)} → {_value(new.get(key), key)}")
        else:
            what = _(SCALAR_CHANGE[action]) if action in SCALAR_CHANGE else _("值")
            parts.append(f"{what}：{_value(before)} → {_value(after)}")
    if "from" in rest or "to" in rest:
        old, new = rest.pop("from", None), rest.pop("to", None)
        what = _(SCALAR_CHANGE.get(action, N_("状态")))
        parts.append(f"{what}：{_value(old, 'from')} → {_value(new, 'to')}")
    for pair, what in (("user", N_("经办人")), ("unit", N_("受理单位"))):
        old_key, new_key = f"from_{pair}", f"to_{pair}"
        if old_key in rest or new_key in rest:
            lookup = names.person if pair == "user" else (lambda i: names.units.get(i, f"#{i}"))
            old, new = rest.pop(old_key, None), rest.pop(new_key, None)
            parts.append(
                f"{_(what)}：{lookup(old) if old else _('（无）')} → {lookup(new) if new else _('（无）')}"
            )
    for key, value in rest.items():
        if key in HIDDEN_DETAILS:
            continue
        if key in ("frozen", "claimed_by"):
            parts.append(f"{_label(key)}：{names.person(value)}")
        else:
            parts.append(f"{_label(key)}：{_value(value, key)}")
    if len(parts) > MAX_PARTS:
        parts = [*parts[:MAX_PARTS], _("等 %(n)s 项", n=len(parts))]
    return parts


def record_name(row: Any, names: Names) -> str:
    """Which record: 办件 + reference number, 事项 + code, 账号 + masked person, or kind + id."""
    kind, oid = row.object_type or "", str(row.object_id or "")
    if not kind:
        return ""
    label = _(OBJECT_NAMES[kind]) if kind in OBJECT_NAMES else kind
    details = row.details or {}
    if kind == "application":
        ref = (oid.isdigit() and names.references.get(int(oid))) or details.get("reference")
        return f"{label} {ref}" if ref else f"{label} #{oid}"
    if kind == "user" and oid.isdigit():
        return f"{label} {names.person(int(oid))}"
    if kind in ("service_item", "bundle", "unit", "calendar", "department"):
        return f"{label} {mask_text(oid)}"
    return f"{label} #{oid}" if oid else label


def readable_line(row: Any, names: Names, role_labels: Mapping[str, str]) -> str:
    """The event as one Chinese sentence: ``王*官（窗口/审核人员）受理 办件 LJ…：状态：已提交 → 已受理``."""
    role = row.actor_role or ""
    if row.actor_id and row.actor_id in names.users:
        who = mask_name(names.users[row.actor_id].real_name) or mask_text(row.actor_label or "")
    else:
        who = mask_text(row.actor_label or "") or _("系统")
    if role:
        who = f"{who}（{role_labels.get(role, role)}）"
    what = _(ACTION_LABELS[row.action]) if row.action in ACTION_LABELS else row.action
    which = record_name(row, names)
    line = f"{who} {what}" + (f" {which}" if which else "")
    parts = changes(row.action, row.details or {}, names)
    return line + ("：" + "；".join(parts) if parts else "")
