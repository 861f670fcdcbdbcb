"""免提交 in a 一件事: a shared document the applicant holds as a valid e-certificate is not asked for —
the documents page says where it comes from, the check does not miss it, the submit goes through and
each item records the certificate it used; a revoked certificate is asked for again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from applications.bundles.models import BundleApplication, BundleState
from applications.ecert.models import Certificate, CertificateUse, DocumentSource
from applications.models import Application
from core.clock import now
from core.db import db
from core.transaction import commit
from tests.auth.helpers import login, make_account
from tests.clerk.helpers import load_world
from tests.ecert.helpers import cert, issue

from .apply_helpers import BIRTH, BIRTH_SHARED, BIRTH_SITUATIONS, MAIL, pdf, post, start, upload

PARENTS_ID = "父母双方居民身份证"


@pytest.fixture
def holder(app):
    """A citizen holding a valid e-certificate that the admin marked as satisfying 父母双方居民身份证."""
    with app.app_context():
        load_world()
    account = make_account(app, "citizen")
    (number,) = issue(app, applicant_id=account.id)
    with app.app_context():
        db.session.add(DocumentSource(doc_name=PARENTS_ID, cert_type=cert(number).cert_type))
        commit()
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    client.number = number
    return client


def _fill_without_parents_id(client) -> int:
    bid = start(client, BIRTH)
    assert post(client, bid, "shared", BIRTH_SHARED).status_code == 302
    assert post(client, bid, "situations", BIRTH_SITUATIONS).status_code == 302
    assert upload(client, bid, {"hukou_book": (pdf(), "户口簿.pdf")}).status_code == 302
    assert post(client, bid, "delivery", MAIL).status_code == 302
    return bid


def test_a_held_certificate_replaces_the_shared_upload(app, holder):
    bid = _fill_without_parents_id(holder)
    page = holder.get(f"/bundle-applications/{bid}/documents").text
    assert "已从电子证照库调取" in page and holder.number in page
    review = holder.get(f"/bundle-applications/{bid}/review").text
    assert "还差以下内容" not in review and "已从电子证照库调取，无需上传" in review
    assert holder.post(f"/bundle-applications/{bid}/submit").status_code == 302
    with app.app_context():
        bundle = db.session.get(BundleApplication, bid)
        assert bundle.state == BundleState.SUBMITTED
        part = next(p for p in bundle.parts if p.step_key == "hukou")
        hukou = db.session.get(Application, part.application_id)
        assert PARENTS_ID not in {d.requirement_name for d in hukou.documents}
        (use,) = db.session.scalars(select(CertificateUse).where(CertificateUse.application_id == hukou.id))
        assert use.doc_name == PARENTS_ID and use.certificate_id == cert(holder.number).id


def test_a_revoked_certificate_is_asked_for_again(app, holder):
    with app.app_context():
        c = db.session.scalar(select(Certificate).where(Certificate.number == holder.number))
        c.revoked_at = now()
        commit()
    bid = _fill_without_parents_id(holder)
    assert "已从电子证照库调取" not in holder.get(f"/bundle-applications/{bid}/documents").text
    review = holder.get(f"/bundle-applications/{bid}/review").text
    assert "还差以下内容" in review and PARENTS_ID in review
    holder.post(f"/bundle-applications/{bid}/submit")
    with app.app_context():
        assert db.session.get(BundleApplication, bid).state == BundleState.DRAFT
