"""免提交: a document the applicant already holds as a valid e-certificate is taken from the register
instead of asked for; the clerk sees the certificate and its verification; the scoreboard counts it."""

from __future__ import annotations

from sqlalchemy import select

from applications.ecert.models import CertificateUse
from applications.models import Application
from auth.models import Role, User, user_units
from catalog.queries import catalog
from core.audit import AuditLog
from core.db import db
from tests.applications.helpers import ID_DOC, ITEM, PHOTO_DOC, item_form, jpeg, post_form, start, upload
from tests.auth.helpers import login_as
from tests.clerk.helpers import login_staff
from tests.ecert.helpers import cert, issue, login_citizen

HELD = "已从电子证照库调取"


def _rule(world, doc_name="居民身份证", types=("无犯罪记录证明",)):
    admin = world.test_client()
    login_as(world, admin, "admin")
    return admin, admin.post("/admin/ecerts/sources", data={"doc_name": doc_name, "cert_types": list(types)})


def test_the_admin_marks_which_certificates_satisfy_a_document(world):
    admin, r = _rule(world)
    assert r.status_code == 302
    page = admin.get("/admin/ecerts/sources")
    assert "居民身份证" in page.text and "无犯罪记录证明" in page.text
    bad = admin.post(
        "/admin/ecerts/sources", data={"doc_name": "不存在的材料", "cert_types": ["无犯罪记录证明"]}
    )
    assert bad.status_code == 422 and "事项目录中没有这个材料名称" in bad.text
    assert 'value="不存在的材料"' in bad.text  # what was typed is kept
    with world.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "ecert.sources"))


def test_a_held_certificate_replaces_the_upload_and_the_clerk_sees_it_verified(world):
    (number,) = issue(world)
    _rule(world)
    client = world.test_client()
    login_citizen(client)
    aid = start(client)
    assert post_form(client, aid, item_form()).status_code == 302
    page = client.get(f"/applications/{aid}/documents")
    assert HELD in page.text and number in page.text
    assert f'name="doc-{ID_DOC}"' not in page.text and f'name="doc-{PHOTO_DOC}"' in page.text
    assert upload(client, aid, {PHOTO_DOC: (jpeg(), "照片.jpg")}, next="1").status_code == 302
    r = client.post(f"/applications/{aid}/submit")
    assert r.status_code == 302, r.text[:300]
    with world.app_context():
        app = db.session.get(Application, aid)
        assert app.reference is not None
        (use,) = db.session.scalars(select(CertificateUse).where(CertificateUse.application_id == aid))
        assert use.position == ID_DOC and use.certificate_id == cert(number).id
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "ecert.used"))
        clerk = db.session.scalar(
            select(User)
            .join(user_units, user_units.c.user_id == User.id)
            .where(user_units.c.unit_id == app.unit_id, User.role == Role.CLERK.value)
        )
        clerk_name = clerk.username
    staff = world.test_client()
    login_staff(staff, clerk_name)
    detail = staff.get(f"/clerk/applications/{aid}")
    assert detail.status_code == 200
    assert 'data-testid="ecert-use"' in detail.text and number in detail.text
    assert 'data-reason="ok"' in detail.text
    board = world.test_client().get("/stats/public")
    assert 'data-testid="not-asked"' in board.text
    with world.app_context():
        name = catalog().items[ITEM].name
    row = board.text.split('data-testid="not-asked"')[1].split("</table>")[0]
    assert name in row and ">1<" in row


def test_without_a_rule_or_with_a_revoked_certificate_the_upload_is_asked_for(world):
    (number,) = issue(world)
    client = world.test_client()
    login_citizen(client)
    aid = start(client)
    assert post_form(client, aid, item_form()).status_code == 302
    assert HELD not in client.get(f"/applications/{aid}/documents").text  # no rule yet
    admin, _ = _rule(world)
    assert HELD in client.get(f"/applications/{aid}/documents").text
    with world.app_context():
        cid = cert(number).id
    assert admin.post(f"/admin/ecerts/{cid}/revoke", data={"reason": "cancelled"}).status_code == 302
    page = client.get(f"/applications/{aid}/documents")
    assert HELD not in page.text and f'name="doc-{ID_DOC}"' in page.text
    r = client.post(f"/applications/{aid}/submit")  # the ID document is missing again
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/applications/{aid}/review")
    assert "请上传原件的照片或扫描件：居民身份证" in client.get(f"/applications/{aid}/review").text
    with world.app_context():
        assert db.session.get(Application, aid).reference is None


def test_someone_elses_certificate_does_not_count(world):
    issue(world)  # the demo citizen's
    _rule(world)
    client = world.test_client()
    login_as(world, client, "citizen")
    aid = start(client)
    assert post_form(client, aid, item_form()).status_code == 302
    assert HELD not in client.get(f"/applications/{aid}/documents").text
