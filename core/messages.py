"""The message catalogue: every in-site message and SMS the portal sends, in one place, under gettext
(shared infrastructure: accounts send codes and notices, applications their progress).

Each kind has a title, a body and (where the citizen should be reached at once) an SMS text, written
with named placeholders and extracted like every other string (``make messages``). They are rendered
in Simplified Chinese when the message is written — an SMS is final text, and the citizen's inbox shows
what was sent — whatever language the clerk's own pages use. :func:`compose` is the one door:
an unknown kind or a missing placeholder raises at once, not half-way through a transaction's SMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import has_app_context
from flask_babel import force_locale, gettext

from core.i18n import N_

SMS_SIGNATURE = N_("【临江公安】")


@dataclass(frozen=True)
class Template:
    title: str
    body: str
    sms: str = ""


@dataclass(frozen=True)
class Composed:
    kind: str
    title: str
    body: str
    sms: str


TEMPLATES: dict[str, Template] = {
    "submitted": Template(
        N_("申请已提交"),
        N_("您的「%(item)s」申请已提交，办件编号 %(reference)s，由%(unit)s办理。"),
        N_("您的%(item)s申请已提交，编号%(reference)s。"),
    ),
    "walk_in": Template(
        N_("窗口申请已登记"),
        N_("您在窗口办理的「%(item)s」已登记，办件编号 %(reference)s。"),
    ),
    "withdrawn": Template(N_("申请已撤回"), N_("您的申请 %(reference)s 已撤回。")),
    "bundle_submitted": Template(
        N_("一件事申请已提交"),
        N_(
            "您的「%(bundle)s」申请已提交，编号 %(reference)s，共 %(parts)s 项，将按顺序联办，"
            "可在“我的办件”查看每一项的进度。"
        ),
        N_("您的%(bundle)s申请已提交，编号%(reference)s。"),
    ),
    "bundle_completed": Template(
        N_("一件事已全部办结"),
        N_("您的一件事申请 %(reference)s 的每一项都已办结。欢迎对本次办理作出评价。"),
        N_("您的一件事申请%(reference)s已全部办结。"),
    ),
    "bundle_part_returned": Template(
        N_("一件事中的一项被退回"),
        N_(
            "您的一件事申请 %(reference)s 中的「%(step)s」被退回，"
            "请在“我的办件”查看原因；依赖它的事项暂不办理。"
        ),
        N_("您的一件事申请%(reference)s中的%(step)s被退回，请登录查看。"),
    ),
    "resubmitted": Template(N_("补正材料已提交"), N_("您的申请 %(reference)s 已提交补正材料，等待审核。")),
    "accepted": Template(
        N_("申请已受理"),
        N_("您的申请 %(reference)s 已受理，承诺于 %(due)s 前办结。"),
        N_("您的申请%(reference)s已受理，承诺%(due)s前办结。"),
    ),
    "not_accepted": Template(
        N_("申请不予受理"), N_("您的申请 %(reference)s 不予受理：%(reason)s（依据：%(legal_basis)s）")
    ),
    "correction": Template(
        N_("请补正材料"),
        N_("您的申请 %(reference)s 需要补正：%(items)s"),
        N_("您的申请%(reference)s需补正材料，请登录查看。"),
    ),
    "approved": Template(
        N_("申请已办结"),
        N_("您的申请 %(reference)s 已办结（准予）。%(how)s。"),
        N_("您的申请%(reference)s已办结，%(how)s。"),
    ),
    "refused": Template(N_("申请已办结（不予许可）"), N_("您的申请 %(reference)s 不予许可：%(reason)s")),
    "due_date_moved": Template(
        N_("承诺办结日期调整"),
        N_(
            "因 %(year)s 年法定节假日安排公布，"
            "您的申请 %(reference)s 的承诺办结日期由 %(old)s 调整为 %(new)s。"
        ),
        N_("因%(year)s年节假日安排，您的申请%(reference)s承诺办结日期调整为%(new)s。"),
    ),
    "proxy_confirm": Template(
        N_("请确认代办授权"),
        N_("%(actor)s申请代您办理「%(item)s」，请在“代办授权”中确认或忽略。"),
        N_("有亲友申请代您办理业务，请登录确认授权。"),
    ),
    "proxy_confirmed": Template(
        N_("代办授权已确认"), N_("被代办人已在网上确认授权您代办「%(item)s」，无需再上传授权委托书。")
    ),
    # SMS codes (auth.verification): no in-site message, the code only.
    "code_register": Template(
        N_("短信验证码"),
        "",
        N_("您正在注册网上办事大厅账号，验证码 %(code)s，5分钟内有效。如非本人操作请忽略。"),
    ),
    "code_change_mobile": Template(
        N_("短信验证码"),
        "",
        N_("您正在更换账号绑定的手机号，验证码 %(code)s，5分钟内有效。如非本人操作请忽略。"),
    ),
    "code_reset_password": Template(
        N_("短信验证码"), "", N_("您正在重置登录密码，验证码 %(code)s，5分钟内有效。请勿告诉他人。")
    ),
    "account_activation": Template(
        N_("账号已开通"),
        N_(
            "您在窗口办理业务时开通了网上办事大厅账号（已实名核验）。请在登录页点击“忘记密码”，用本手机号设置密码后登录。"
        ),
        N_("您已开通网上办事大厅账号，请在登录页点击“忘记密码”用本手机号设置密码。"),
    ),
    "account_frozen": Template(
        N_("账号已冻结"),
        N_(
            "另一位已通过人口信息核验的本人使用了您账号登记的身份证号码注册，您的账号已冻结。如有异议，请携带本人身份证到任一公安窗口办理。"
        ),
        N_("您账号登记的身份证号码已由本人实名认领，账号已冻结。如有异议请携带身份证到公安窗口办理。"),
    ),
    "id_claimed": Template(
        N_("身份证号码已认领"),
        N_("您已通过人口信息核验认领本人身份证号码；此前使用该号码注册的账号已被冻结。"),
    ),
    # 容缺受理: a deferred document arrived (补交); staff read it in their inbox, no SMS
    "deferred_given": Template(
        N_("容缺材料已补交"),
        N_("办件 %(reference)s 的容缺材料“%(document)s”已补交（补交期限 %(due)s），请在办件详情中查看。"),
    ),
    "deferred_given_late": Template(
        N_("容缺材料已补交（逾期）"),
        N_(
            "办件 %(reference)s 的容缺材料“%(document)s”已补交，但已超过补交期限 %(due)s，"
            "请在办件详情中查看并决定是否要求补正。"
        ),
    ),
    "signoff_request": Template(
        N_("再次补正待您审批"),
        N_("%(clerk)s申请对办件 %(reference)s 再次要求补正，请在工作台“待审批”中审核。"),
    ),
    "signoff_decided": Template(
        N_("再次补正审批结果"), N_("办件 %(reference)s 的再次补正申请：%(outcome)s。")
    ),
    "rating_invite": Template(
        N_("请对本次办事进行评价"),
        N_("您的申请 %(reference)s 已办结，欢迎对本次服务进行“好差评”，您的意见将帮助我们改进。"),
        N_("您的申请%(reference)s已办结，请登录网站对本次服务进行评价。"),
    ),
    "appointment_booked": Template(
        N_("预约成功"),
        N_(
            "您已预约%(unit)s办理「%(item)s」，时间 %(when)s，预约码 %(code)s。"
            "请按时携带材料到场，出示预约码。"
        ),
        N_("您已预约%(when)s到%(unit)s办理%(item)s，预约码%(code)s。"),
    ),
    "appointment_moved": Template(
        N_("预约已改约"),
        N_("您「%(item)s」的预约已改到 %(when)s（%(unit)s），预约码 %(code)s 不变。"),
        N_("您的%(item)s预约已改到%(when)s（%(unit)s），预约码%(code)s。"),
    ),
    "appointment_cancelled": Template(
        N_("预约已取消"),
        N_("您 %(when)s 办理「%(item)s」的预约（预约码 %(code)s）已取消。"),
        N_("您%(when)s的%(item)s预约已取消。"),
    ),
    "appointment_day_before": Template(
        N_("明天有预约"),
        N_(
            "提醒：您已预约明天 %(when)s 到%(unit)s办理「%(item)s」，预约码 %(code)s。"
            "请携带材料按时到场；如不能前往，请在开始前1小时以前取消或改约。"
        ),
        N_("提醒：您预约了%(when)s到%(unit)s办理%(item)s，预约码%(code)s，请按时到场。"),
    ),
    "appointment_hour_before": Template(
        N_("预约即将开始"),
        N_("您预约的「%(item)s」将于 %(when)s 在%(unit)s办理，预约码 %(code)s，请准时到场。"),
        N_("您预约的%(item)s将于%(when)s在%(unit)s办理，预约码%(code)s，请准时到场。"),
    ),
    "appointment_closed": Template(
        N_("预约因停止办公取消"),
        N_(
            "因%(unit)s %(day)s 停止对外办公，您 %(when)s 办理「%(item)s」的预约（预约码 %(code)s）已取消。"
            "给您带来不便，敬请谅解。请重新预约其他时间：%(link)s"
        ),
        N_("因%(unit)s%(day)s停止办公，您%(when)s的%(item)s预约已取消，请登录网站重新预约。"),
    ),
    # Scheduled reminders (applications/jobs/reminders.py)
    "due_soon_digest": Template(
        N_("即将到期办件提醒"),
        N_(
            "您有 %(count)s 件办件将在 %(days)s 个工作日内（%(last)s 前）到期，"
            "最早 %(first)s：%(references)s。请在工作台“即将超期”中查看。"
        ),
    ),
    "correction_deadline": Template(
        N_("补正期限即将届满"),
        N_("您的申请 %(reference)s 需补正材料，请于 %(deadline)s 前在“我的办件”中提交补正。"),
        N_("您的申请%(reference)s需于%(deadline)s前提交补正材料，请登录办理。"),
    ),
    "deferred_deadline": Template(
        N_("容缺材料补交期限即将届满"),
        N_("您的申请 %(reference)s 已容缺受理，请于 %(deadline)s 前补交：%(documents)s。"),
        N_("您的申请%(reference)s容缺材料须于%(deadline)s前补交，请登录查看。"),
    ),
    "rating_follow_up": Template(
        N_("收到差评，请跟进整改"),
        N_("办件 %(reference)s 收到“%(level)s”评价，请于 %(due)s 前核实整改并记录结果。"),
        N_("办件%(reference)s收到差评，请于%(due)s前跟进。"),
    ),
}


def compose(kind: str, **params: Any) -> Composed:
    """The message of ``kind`` with ``params`` filled in, in Simplified Chinese.

    Raises KeyError for an unknown kind or a placeholder left without a value."""
    template = TEMPLATES[kind]
    values = {k: ("" if v is None else v) for k, v in params.items()}

    def render(text: str, signed: bool = False) -> str:
        if not text:
            return ""
        out = _translate(text) % values
        return _translate(SMS_SIGNATURE) + out if signed else out

    return Composed(
        kind, _translate(template.title), render(template.body), render(template.sms, signed=True)
    )


def _translate(text: str) -> str:
    if not has_app_context():
        return text
    with force_locale("zh_CN"):
        return gettext(text)
