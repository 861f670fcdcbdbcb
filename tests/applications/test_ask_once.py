"""Forms ask once and show the owner their own data (issue 17, item 7): an item field that repeats the
form's standard part (联系电话, the mailing address, 领证方式) is not asked; what the account knows is
filled in; 核对信息 shows the applicant's own numbers in full (masked everywhere else) and every 修改 link
lands on its field."""

from __future__ import annotations

import re

from applications.models import Application
from catalog.guide import build_guide, repeats_standard
from catalog.queries import FieldView, catalog
from core.db import db
from core.masking import mask_id_number, mask_mobile
from tests.auth.helpers import input_value

from .helpers import ITEM, item_form, post_form, ready_draft, start, submit

PASSPORT = "LJ-CR-001"  # 普通护照签发: asked 领证方式, 邮寄地址 and 联系电话 again beside the standard part


def _field(key, label, type_, **kw) -> FieldView:
    options = tuple(kw.get("options", ()))
    return FieldView(key, label, type_, kw.get("required", True), options, "", kw.get("when", {}))


def test_the_rule_names_the_repeats_and_only_them():
    both = ("mail", "counter")
    assert repeats_standard(_field("mobile", "联系电话", "mobile"), both)
    assert repeats_standard(_field("phone", "联系电话", "mobile"), ("ecert",))
    assert repeats_standard(_field("mail_address", "邮寄地址", "address"), both)
    assert repeats_standard(_field("pickup", "领证方式", "select", options=("邮寄到家", "窗口领取")), both)
    # not repeats: another person's phone, an address the item needs for itself, a choice the form lacks
    assert not repeats_standard(_field("guardian_mobile", "监护人电话", "mobile"), both)
    assert not repeats_standard(_field("live_address", "现居住地址", "address"), both)
    assert not repeats_standard(_field("mail_address", "邮寄地址", "address"), ("counter",))
    assert not repeats_standard(_field("pickup", "领证方式", "select"), ("counter",))
    assert not repeats_standard(_field("mail_address", "纸质件邮寄地址", "address"), both)
    # the 亲友代办 part asks the principal's name and ID number already
    proxy = {"applicant": ("proxy",)}
    assert repeats_standard(_field("principal_name", "当事人姓名", "text", when=proxy), both)
    assert repeats_standard(_field("principal_id", "被代办人公民身份号码", "id_number", when=proxy), both)
    assert not repeats_standard(_field("principal_name", "委托人姓名", "text"), both)  # asked of everyone


def test_the_passport_form_asks_phone_and_address_once_and_fills_in_the_account(app, citizen_client, citizen):
    aid = start(citizen_client, PASSPORT, {})
    page = citizen_client.get(f"/applications/{aid}/form").text
    for repeat in ("f_mobile", "f_mail_address", "f_pickup"):
        assert f'name="{repeat}"' not in page
    assert page.count(">联系电话<") == 1 and page.count("详细地址") == 1
    assert input_value(page, "contact_mobile") == citizen.mobile
    assert input_value(page, "recipient_mobile") == citizen.mobile  # the phone is not typed twice either
    with app.app_context():
        item = catalog().items[PASSPORT]
        assert {f.key for f in item.fields} >= {"mobile", "mail_address", "pickup"}  # still defined
        # (the free 预约日期 field gave way to booking a slot: 预约)
        assert {f.key for f in build_guide(item).fields} == {"purpose"}


def test_a_draft_without_the_repeated_fields_can_be_submitted(app, citizen_client):
    aid = ready_draft(citizen_client)
    form = item_form(f_mobile=None)
    assert post_form(citizen_client, aid, form).status_code == 302
    assert submit(citizen_client, aid).headers["Location"].endswith("/done")


def test_review_shows_the_owner_their_own_numbers_in_full(app, citizen_client, citizen):
    aid = ready_draft(citizen_client)
    page = citizen_client.get(f"/applications/{aid}/review").text
    own_mobile = item_form()["contact_mobile"]
    assert re.search(rf'data-testid="contact-mobile">{own_mobile}<', page)
    assert re.search(rf'data-testid="applicant-id">{citizen.id_number}<', page)
    assert mask_mobile(item_form()["recipient_mobile"]) in page  # someone else's phone: still masked
    # once submitted, the detail page (and the clerk's, tested with the clerk) masks them again
    submit(citizen_client, aid)
    detail = citizen_client.get(f"/applications/{aid}").text
    assert own_mobile not in detail and mask_mobile(own_mobile) in detail
    assert citizen.id_number not in detail and mask_id_number(citizen.id_number) in detail


def test_every_change_link_lands_on_its_field(app, citizen_client):
    aid = ready_draft(citizen_client)
    review = citizen_client.get(f"/applications/{aid}/review").text
    form = citizen_client.get(f"/applications/{aid}/form").text
    anchors = re.findall(rf'href="/applications/{aid}/form#([\w-]+)"', review)
    assert {"district", "contact_mobile", "f_exam_date", "f_live_address", "recipient"} <= set(anchors)
    for anchor in anchors:
        assert f'id="{anchor}"' in form, anchor
    documents = re.findall(rf'href="/applications/{aid}/documents#(doc-\d+)"', review)
    assert documents
    page = citizen_client.get(f"/applications/{aid}/documents").text
    for anchor in documents:
        assert f'id="{anchor}"' in page


def test_what_is_missing_links_to_its_field(app, citizen_client):
    aid = start(citizen_client, ITEM, {"channel": "self_study"})
    post_form(citizen_client, aid, item_form(district="", f_live_address=""), next_step=False)
    review = citizen_client.get(f"/applications/{aid}/review").text
    assert f'href="/applications/{aid}/form#district">请选择办理辖区' in review
    assert f'href="/applications/{aid}/form#f_live_address">请填写：' in review
    assert re.search(rf'href="/applications/{aid}/documents#doc-\d+">请上传', review)
    with app.app_context():
        assert db.session.get(Application, aid).district is None
