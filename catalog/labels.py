"""Chinese labels for catalog codes (through gettext so English can follow)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS: dict[str, dict[str, object]] = {
    "form": {"original": _l("原件"), "copy": _l("复印件"), "electronic": _l("电子")},
    "requirement": {"required": _l("必须"), "optional": _l("可选"), "deferrable": _l("容缺后补")},
    "source": {"applicant": _l("申请人自备"), "government": _l("部门共享获取，无需提交")},
    "delivery": {"mail": _l("免费邮寄"), "counter": _l("窗口领取"), "ecert": _l("电子证照")},
    "item_type": {
        "permit": _l("行政许可"),
        "confirmation": _l("行政确认"),
        "public_service": _l("公共服务"),
        "other": _l("其他"),
    },
    "day_kind": {"working": _l("个工作日"), "calendar": _l("个自然日")},
    "depth": {
        1: _l("办事指南"),
        2: _l("表格下载"),
        3: _l("网上预审"),
        4: _l("网上申请，跑一次"),
        5: _l("全程网办，零跑动"),
    },
    "unit_kind": {
        "bureau": _l("市公安局"),
        "branch": _l("公安分局"),
        "police_station": _l("派出所"),
        "vehicle_office": _l("车管所"),
        "exit_entry": _l("出入境管理大队"),
        "public_order": _l("治安管理支队"),
    },
    "filter": {
        "zero_visit": _l("零跑动"),
        "online": _l("网上可办（★4 以上）"),
        "instant": _l("即办件"),
        "free": _l("免费"),
    },
}


def label(kind: str, code: object) -> object:
    return LABELS.get(kind, {}).get(code, code)
