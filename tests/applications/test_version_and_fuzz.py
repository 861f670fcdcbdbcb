"""An application keeps the item version it was filed under; random input never makes a 500."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from applications.models import Application
from applications.submission import operations as ops
from catalog.loader import load
from catalog.queries import catalog
from core.db import db
from tests.catalog.helpers import demo_files, item_in, write_catalog

from .helpers import ITEM, PHOTO_DOC, start, submitted


def test_an_application_keeps_its_version_after_the_item_changes(app, citizen_client, tmp_path):
    aid = submitted(citizen_client)
    with app.app_context():
        v1 = db.session.get(Application, aid).version_id
        old_name = catalog().items[ITEM].documents[PHOTO_DOC].name
    files = demo_files()
    item = item_in(files, ITEM)
    doc = next(d for d in item["documents"] if d["name"] == old_name)
    doc["name"] = "近期白底免冠彩色照片"
    with app.app_context():
        load(write_catalog(tmp_path / "v2", files))
        db.session.commit()
        app.extensions["catalog_cache"].invalidate()  # the worker's 1-second revision check
        new = catalog().items[ITEM]
        assert new.version_id != v1
        assert new.documents[PHOTO_DOC].name == "近期白底免冠彩色照片"
    page = citizen_client.get(f"/applications/{aid}").text
    assert old_name in page and "近期白底免冠彩色照片" not in page
    with app.app_context():
        pinned = ops.pinned_item(db.session.get(Application, aid))
        assert pinned.version_id == v1 and pinned.documents[PHOTO_DOC].name == old_name
    # A new application is filed under the new version.
    new_aid = start(citizen_client)
    documents = citizen_client.get(f"/applications/{new_aid}/documents").text
    assert "近期白底免冠彩色照片" in documents
    with app.app_context():
        rows = db.session.scalars(select(Application).order_by(Application.id)).all()
        assert rows[0].version_id == v1 and rows[1].version_id == new.version_id


# hypothesis ----------------------------------------------------------------------------------------

FIELDS = (
    "district",
    "contact_mobile",
    "principal_name",
    "principal_id_number",
    "relationship_to_principal",
    "delivery_method",
    "recipient",
    "recipient_mobile",
    "mail_district",
    "mail_address",
    "pickup_unit",
    "f_dog_name",
    "f_breed",
    "f_chip_no",
    "f_keep_address",
    "f_mobile",  # no longer a field (it repeated 联系电话): posted anyway, ignored
)
garbage = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=20),
    st.text(alphabet="😀🐶👨‍👩‍👧\u202e\u200b\ufeff中文", max_size=30),
    st.text(min_size=3000, max_size=5000, alphabet="长x"),
    st.sampled_from(
        ["东城区", "mail", "ecert", "父母", "13912345678", "330102195806154214", "2026-02-30", ""]
    ),
)


def test_random_form_input_never_makes_a_500(app, citizen_client):
    from .helpers import PROXY_ANSWERS, PROXY_ITEM

    aid = start(citizen_client, PROXY_ITEM, PROXY_ANSWERS)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(FIELDS), garbage), st.booleans())
    def post(data, next_step):
        response = citizen_client.post(
            f"/applications/{aid}/form", data={**data, ("next" if next_step else "save"): "1"}
        )
        assert response.status_code in (302, 422), (response.status_code, data)
        if response.status_code == 422:
            assert re.search(r'class="invalid-feedback', response.text)

    post()
    with app.app_context():
        assert db.session.get(Application, aid).state == "draft"
    assert citizen_client.get(f"/applications/{aid}/form").status_code == 200
    assert citizen_client.get(f"/applications/{aid}/review").status_code == 200
