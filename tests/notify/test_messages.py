"""The message catalogue: every kind renders, in Chinese, signed when it is an SMS, and nothing else in
the code writes message text of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.messages import TEMPLATES, compose

PARAMS = {
    "item": "居民身份证换领",
    "reference": "LJ202612070000011",
    "unit": "东城派出所",
    "due": "2026-12-14",
    "reason": "材料不全",
    "legal_basis": "《居民身份证法》",
    "items": "照片：背景不是白色",
    "how": "请到窗口领取",
    "year": 2027,
    "old": "2027-02-12",
    "new": "2027-02-15",
    "actor": "张三",
    "level": "不满意",
    "code": "123456",
    "clerk": "李窗口",
    "outcome": "同意，补正告知已发出",
    # scheduled reminders
    "deadline": "2026-12-20",
    "documents": "初中以上学历证明",
    "count": 2,
    "days": 2,
    "last": "2026-12-09",
    "first": "2026-12-08",
    "references": "LJ202612070000011、LJ202612070000012",
    "document": "初中以上学历证明",
    # 预约
    "when": "2026-12-08 09:00",
    "day": "2026-12-08",
    "link": "/items/LJ-CR-001/book",
    # 一件事
    "bundle": "出生一件事",
    "parts": 4,
    "step": "城乡居民医保参保登记",
}


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_kind_renders_completely(app_ctx, kind):
    text = compose(kind, **PARAMS)
    assert text.kind == kind and text.title
    assert text.body or text.sms  # an SMS-only kind (a code) has no inbox text
    for part in (text.title, text.body, text.sms):
        assert "%(" not in part
    if TEMPLATES[kind].sms:
        assert text.sms.startswith("【临江公安】")
    else:
        assert text.sms == ""


def test_placeholders_are_filled_with_the_values(app_ctx):
    text = compose("accepted", reference="LJ1", due="2026-12-14")
    assert text.body == "您的申请 LJ1 已受理，承诺于 2026-12-14 前办结。"
    assert text.sms == "【临江公安】您的申请LJ1已受理，承诺2026-12-14前办结。"


def test_an_unknown_kind_or_a_missing_value_fails_loudly(app_ctx):
    with pytest.raises(KeyError):
        compose("no_such_kind")
    with pytest.raises(KeyError):
        compose("accepted", reference="LJ1")  # no due date


def test_no_message_text_is_written_outside_the_catalogue():
    root = Path(__file__).resolve().parents[2]
    signed = sorted(
        str(p.relative_to(root))
        for package in ("core", "auth", "catalog", "applications", "demo")
        for p in (root / package).rglob("*.py")
        if p.name != "messages.py" and re.search(r"【临江公安】|sms_text=", p.read_text(encoding="utf-8"))
    )
    assert signed == ["core/outbox.py"], signed  # the one writer of the composed text
