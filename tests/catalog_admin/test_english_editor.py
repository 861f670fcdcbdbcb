"""Editing an item's English in the admin editor, and the "missing English" publish warning for
items marked foreigner-facing (issue 23)."""

from __future__ import annotations

import yaml
from sqlalchemy import func, select

from catalog.admin import operations as ops
from catalog.queries import catalog
from core.audit import AuditLog
from core.db import db
from tests.catalog_admin.helpers import admin_client, item_form_data

CODE = "LJ-HJ-001"


def _draft(app):
    with app.app_context():
        v = ops.working_version(ops.get_item(CODE))
        return bool(v.foreigner_facing), dict(v.english or {})


def test_english_is_saved_to_the_draft_and_published(app, small):
    client = admin_client(app)
    page = client.get(f"/admin/catalog/items/{CODE}")
    assert 'name="parts_en"' in page.text and 'name="foreigner_facing"' in page.text
    with app.app_context():
        v = ops.working_version(ops.get_item(CODE))
        parts = {
            "documents": {d.name: {"name": f"EN {d.name}"} for d in v.documents},
            "situations": {
                s.key: {"question": f"Q {s.key}?", "options": {o.value: f"L {o.value}" for o in s.options}}
                for s in v.situations
            },
            "fields": {
                f.key: {"label": f"F {f.key}", "options": {o: f"O {o}" for o in f.options}} for f in v.fields
            },
        }
        n_faq = len(v.faq or [])
    data = item_form_data(
        app,
        CODE,
        foreigner_facing="y",
        name_en="First-time resident ID card",
        aliases_en="ID card, identity card\nChinese ID card",
        description_en="Apply for your first ID card.",
        conditions_en="Chinese citizens living in China.",
        visit_reason_en="Photo and fingerprints",
        result_name_en="Resident ID card",
        fee_note_en="Card fee 20 yuan",
        counters_en="Household registration counter of your police station",
        hours_en="Monday to Friday 9:00-12:00, 13:30-17:00",
        faq_en="\n".join(f"Question {i}|Answer {i}" for i in range(n_faq)),
        parts_en=yaml.safe_dump(parts, allow_unicode=True),
    )
    response = client.post(f"/admin/catalog/items/{CODE}", data=data)
    assert response.status_code in (200, 302), response.text[:500]
    facing, en = _draft(app)
    assert facing is True
    assert en["name"] == "First-time resident ID card"
    assert en["aliases"] == ["ID card", "identity card", "Chinese ID card"]
    assert en["situations"]
    page = client.get(f"/admin/catalog/items/{CODE}")
    assert 'data-testid="missing-english"' not in page.text, page.text[page.text.find("missing-english") :][
        :600
    ]
    # saving the page as it is keeps every English text and audits nothing new
    with app.app_context():
        audits = db.session.scalar(select(func.count()).where(AuditLog.action == "catalog.item_update"))
    client.post(f"/admin/catalog/items/{CODE}", data=item_form_data(app, CODE))
    assert _draft(app)[1] == en
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).where(AuditLog.action == "catalog.item_update")) == audits
        )
    published = client.post(
        f"/admin/catalog/items/{CODE}/publish", data={"draft": _token(app)}, follow_redirects=True
    )
    assert "缺少英文" not in published.text
    with app.app_context():
        assert catalog().search("identity card")[0][0].code == CODE
        assert catalog().items[CODE].english["name"] == "First-time resident ID card"


def test_missing_english_warns_but_does_not_block_publishing(app, small):
    client = admin_client(app)
    data = item_form_data(app, CODE, foreigner_facing="y", name_en="First-time resident ID card")
    client.post(f"/admin/catalog/items/{CODE}", data=data)
    page = client.get(f"/admin/catalog/items/{CODE}")
    assert 'data-testid="missing-english"' in page.text
    assert "description" in page.text
    published = client.post(
        f"/admin/catalog/items/{CODE}/publish", data={"draft": _token(app)}, follow_redirects=True
    )
    assert "已发布" in published.text
    assert "缺少英文" in published.text
    with app.app_context():
        assert catalog().items[CODE].english["name"] == "First-time resident ID card"


def test_an_item_not_for_foreigners_gets_no_warning(app, small):
    client = admin_client(app)
    client.post(f"/admin/catalog/items/{CODE}", data=item_form_data(app, CODE, name_en="ID card"))
    assert 'data-testid="missing-english"' not in client.get(f"/admin/catalog/items/{CODE}").text


def test_bad_english_yaml_is_refused_at_the_field_and_kept(app, small):
    client = admin_client(app)
    data = item_form_data(app, CODE, parts_en="documents: [oops", name_en="Kept name")
    response = client.post(f"/admin/catalog/items/{CODE}", data=data)
    assert response.status_code == 422
    assert "YAML 格式有误" in response.text
    assert "Kept name" in response.text
    data = item_form_data(app, CODE, parts_en="prices: {a: 1}")
    assert (
        "应为 documents / situations / fields" in client.post(f"/admin/catalog/items/{CODE}", data=data).text
    )


def _token(app):
    with app.app_context():
        return ops.draft_token(ops.get_item(CODE))
