"""The clerk's workbench (issue 17, item 10): a verdict per document (核验通过 / 需补正 with a reason),
recorded only by the clerk holding the application, feeding the correction request and the wallet's
trust level; the preset reasons admins keep; one id per form field on the page."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from applications.clerk import verdicts
from applications.models import (
    Application,
    ApplicationDocument,
    CorrectionReason,
    TrustLevel,
    WalletDocument,
)
from applications.submission.operations import matching_wallet, pinned_item
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.errors import NotFound
from core.storage import get_storage
from tests.auth.helpers import field_error, login_as
from tests.clerk.helpers import citizen, insert_submitted, login_staff, user
from tests.uploads import corpus

CLERK = "clerk_ps_dc_01"
ID_CARD = "申请人居民身份证"


def _client(app, username: str = CLERK):
    client = app.test_client()
    login_staff(client, username)
    return client


def _with_document(
    app, *, claimed_by: str | None = CLERK, unit_code: str = "LJ-PS-DC-01", trust=TrustLevel.C
):
    """A submitted application with one uploaded ID-card photo, kept in the citizen's wallet."""
    with app.app_context():
        holder = user(claimed_by).id if claimed_by else None
        (aid,) = insert_submitted(1, claimed_by_id=holder, unit_code=unit_code)
        row = db.session.get(Application, aid)
        requirement = next(d for d in pinned_item(row).documents if d.name == ID_CARD)
        data = corpus.jpeg(color="blue")
        key = get_storage().save(data, suffix=".jpg")
        wallet = WalletDocument(
            owner_id=citizen().id,
            doc_type=ID_CARD,
            trust_level=trust,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=len(data),
            sha256=f"{aid:064d}",
            display_name="身份证.jpg",
            source_application_id=aid,
        )
        db.session.add(wallet)
        db.session.flush()
        doc = ApplicationDocument(
            application_id=aid,
            requirement=requirement.position,
            requirement_name=ID_CARD,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=len(data),
            sha256=wallet.sha256,
            display_name="身份证.jpg",
            wallet_document_id=wallet.id,
        )
        db.session.add(doc)
        db.session.commit()
        return aid, doc.id, wallet.id


def _verdict(client, aid: int, doc_id: int, **data):
    return client.post(
        f"/clerk/applications/{aid}/documents/{doc_id}/verdict",
        data={f"v{doc_id}-{k}": v for k, v in data.items()},
    )


def _doc(app, doc_id) -> ApplicationDocument:
    with app.app_context():
        doc = db.session.get(ApplicationDocument, doc_id)
        db.session.expunge(doc)
        return doc


def _trust(app, wallet_id) -> TrustLevel:
    with app.app_context():
        return db.session.get(WalletDocument, wallet_id).trust_level


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))
        for r in rows:
            db.session.expunge(r)
        return rows


# Verdicts ---------------------------------------------------------------------------------------


def test_the_holder_checks_a_document_and_the_wallet_copy_rises_to_b(world):
    app = world
    aid, doc_id, wallet_id = _with_document(app)
    client = _client(app)
    response = _verdict(client, aid, doc_id, verdict="ok")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#doc-{doc_id}")
    doc = _doc(app, doc_id)
    assert doc.verdict == "ok" and doc.verdict_reason == "" and doc.verdict_at is not None
    assert _trust(app, wallet_id) == TrustLevel.B
    (row,) = _audits(app, "application.document_verdict")
    assert row.object_id == str(aid) and row.details["verdict"] == "ok" and row.details["trust"] == "B"
    page = client.get(f"/clerk/applications/{aid}").text
    assert 'data-testid="verdict">核验通过' in page

    # 需补正 without a reason: refused at the field (422), what was chosen kept, nothing stored
    response = _verdict(client, aid, doc_id, verdict="correct", reason="  ")
    assert response.status_code == 422
    assert field_error(response.text, f"v{doc_id}-reason") == "请选择或填写需补正的原因"
    assert _doc(app, doc_id).verdict == "ok"
    # with a preset reason: stored, and the wallet copy is no longer "checked"
    assert _verdict(client, aid, doc_id, verdict="correct", preset="照片模糊不清").status_code == 302
    doc = _doc(app, doc_id)
    assert (doc.verdict, doc.verdict_reason) == ("correct", "照片模糊不清")
    assert _trust(app, wallet_id) == TrustLevel.C
    # a typed reason wins over the preset
    _verdict(client, aid, doc_id, verdict="correct", preset="照片模糊不清", reason="反面未上传")
    assert _doc(app, doc_id).verdict_reason == "反面未上传"


def test_a_government_issued_document_stays_at_a(world):
    app = world
    aid, doc_id, wallet_id = _with_document(app, trust=TrustLevel.A)
    client = _client(app)
    _verdict(client, aid, doc_id, verdict="ok")
    _verdict(client, aid, doc_id, verdict="correct", reason="与申请信息不一致")
    assert _trust(app, wallet_id) == TrustLevel.A


def test_only_the_claiming_clerk_records_a_verdict(world):
    app = world
    # not claimed by anybody: the unit's lead sees it but may not record
    aid, doc_id, wallet_id = _with_document(app, claimed_by=None)
    lead = _client(app, "lead_dc")
    response = _verdict(lead, aid, doc_id, verdict="ok")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/clerk/applications/{aid}")
    assert "请先领取该申请再核验材料" in lead.get(response.headers["Location"]).text
    # claimed by the clerk: the lead still may not
    aid, doc_id, wallet_id = _with_document(app)
    _verdict(lead, aid, doc_id, verdict="ok")
    assert _doc(app, doc_id).verdict is None and _trust(app, wallet_id) == TrustLevel.C
    assert _audits(app, "application.document_verdict") == []
    # the page offers no check form to anybody but the holder
    assert "保存核验结果" not in lead.get(f"/clerk/applications/{aid}").text
    assert "保存核验结果" in _client(app).get(f"/clerk/applications/{aid}").text
    # the operation itself says no as well
    with app.app_context():
        row = db.session.get(Application, aid)
        with pytest.raises(verdicts.NotHolder):
            verdicts.record_verdict(row, user("lead_dc"), doc_id, "ok")


def test_a_closed_application_takes_no_verdict(world):
    app = world
    aid, doc_id, _wallet = _with_document(app)
    with app.app_context():
        db.session.get(Application, aid).state = State.CORRECTION_REQUESTED
        db.session.commit()
    response = _verdict(_client(app), aid, doc_id, verdict="ok")
    assert response.status_code == 302 and _doc(app, doc_id).verdict is None


def test_another_units_application_or_a_missing_one_is_404(world):
    app = world
    aid, doc_id, wallet_id = _with_document(app, claimed_by="clerk_ps_dc_02", unit_code="LJ-PS-DC-02")
    client = _client(app)
    assert _verdict(client, aid, doc_id, verdict="ok").status_code == 404
    assert _verdict(client, 999999, doc_id, verdict="ok").status_code == 404
    assert _doc(app, doc_id).verdict is None and _trust(app, wallet_id) == TrustLevel.C


def test_a_document_of_another_application_is_404(world):
    app = world
    own, _own_doc, _w = _with_document(app)
    _other, other_doc, other_wallet = _with_document(app)
    client = _client(app)
    assert _verdict(client, own, other_doc, verdict="ok").status_code == 404
    assert _verdict(client, own, 999999, verdict="ok").status_code == 404
    assert _doc(app, other_doc).verdict is None and _trust(app, other_wallet) == TrustLevel.C
    with app.app_context():
        row = db.session.get(Application, own)
        with pytest.raises(NotFound):
            verdicts.record_verdict(row, user(CLERK), other_doc, "ok")


# The correction request ------------------------------------------------------------------------


def test_documents_marked_for_correction_prefill_the_request_and_leave_the_wallet_offer(world):
    app = world
    aid, doc_id, wallet_id = _with_document(app)
    client = _client(app)
    page = client.get(f"/clerk/applications/{aid}").text
    assert 'data-testid="prefill-note"' not in page
    _verdict(client, aid, doc_id, verdict="correct", preset="照片模糊不清")
    page = client.get(f"/clerk/applications/{aid}").text
    assert 'data-testid="prefill-note"' in page
    box = re.search(rf'<input[^>]*name="target" value="{ID_CARD}"[^>]*>', page).group(0)
    assert "checked" in box
    note = re.search(rf'<input[^>]*name="note-{ID_CARD}"[^>]*>', page).group(0)
    assert 'value="照片模糊不清"' in note
    # the clerk sends what was pre-filled
    with app.app_context():
        version = db.session.get(Application, aid).row_version
    response = client.post(
        f"/clerk/applications/{aid}/correction",
        data={"target": ID_CARD, f"note-{ID_CARD}": "照片模糊不清", "version": version},
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Application, aid)
        assert row.state == State.CORRECTION_REQUESTED
        assert row.events[-1].details["items"] == [{"target": ID_CARD, "note": "照片模糊不清"}]
        wallet = db.session.get(WalletDocument, wallet_id)
        assert wallet.rejected_at is not None and wallet.rejected_reason == "照片模糊不清"
        # never offered again for a new application of an item that asks for this document
        assert all(
            wallet_id not in [w.id for w in offered]
            for offered in matching_wallet(citizen(), pinned_item(row)).values()
        )
    assert [a.object_id for a in _audits(app, "wallet.rejected")] == [str(wallet_id)]


# Page structure --------------------------------------------------------------------------------


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "label" and a.get("for"):
            self.label_for.append(a["for"])


@pytest.mark.parametrize("username", [CLERK, "lead_dc"])
def test_the_workbench_has_no_duplicate_ids_and_every_label_finds_its_field(world, username):
    app = world
    aid, _doc_id, _wallet = _with_document(app, claimed_by=username)
    page = _client(app, username).get(f"/clerk/applications/{aid}").text
    parser = _Ids()
    parser.feed(page)
    duplicates = [i for i, n in Counter(parser.ids).items() if n > 1]
    assert duplicates == []
    assert set(parser.label_for) <= set(parser.ids)
    # the 转办理由 label points at the transfer's own field, not at the 不予受理 one
    assert re.search(r'<label[^>]*for="transfer-reason"[^>]*>转办理由</label>', page)
    assert 'id="not-accept-reason"' in page
    # the rarely used decisions sit behind a disclosure; the clock is on top
    assert re.search(r"<summary[^>]*>不予受理</summary>", page)
    assert re.search(r"<summary[^>]*>转办</summary>", page)
    assert "尚未受理，未开始计时" in page


def test_the_clock_shows_the_promised_date_days_left_and_a_pause(world):
    app = world
    aid, _doc_id, _wallet = _with_document(app)
    client = _client(app)
    with app.app_context():
        version = db.session.get(Application, aid).row_version
    assert client.post(f"/clerk/applications/{aid}/accept", data={"version": version}).status_code == 302
    page = client.get(f"/clerk/applications/{aid}").text
    with app.app_context():
        row = db.session.get(Application, aid)
        due = row.promised_due
        version = row.row_version
    assert f'<dd class="fs-5 fw-bold mb-0">{due}</dd>' in page
    days = re.search(r'data-testid="days-left">\s*(.*?)</dd>', page, re.S).group(1)
    assert re.fullmatch(r"剩余 \d+ 个工作日|今天到期", days.strip()), days
    client.post(
        f"/clerk/applications/{aid}/correction",
        data={"target": ID_CARD, f"note-{ID_CARD}": "反面未上传", "version": version},
    )
    page = client.get(f"/clerk/applications/{aid}").text
    assert "计时暂停（待补正）" in page


# Preset reasons (admins) -------------------------------------------------------------------------


def test_admins_keep_the_preset_reasons_and_clerks_pick_from_them(world):
    app = world
    admin = app.test_client()
    login_as(app, admin, "admin")
    page = admin.get("/admin/correction-reasons/")
    assert page.status_code == 200 and "预设补正原因" in page.text
    # add one for the ID card, one for every document
    r = admin.post(
        "/admin/correction-reasons/", data={"doc_type": ID_CARD, "reason": "身份证反面缺失", "position": "5"}
    )
    assert r.status_code == 302
    admin.post("/admin/correction-reasons/", data={"doc_type": "", "reason": "字迹无法辨认"})
    # the same again: refused at the field, what was typed kept
    r = admin.post("/admin/correction-reasons/", data={"doc_type": ID_CARD, "reason": "身份证反面缺失"})
    assert r.status_code == 422 and field_error(r.text, "reason") == "该材料已有相同的预设原因"
    r = admin.post("/admin/correction-reasons/", data={"doc_type": ID_CARD, "reason": ""})
    assert r.status_code == 422 and field_error(r.text, "reason") == "请填写原因"
    with app.app_context():
        row = db.session.scalar(select(CorrectionReason).where(CorrectionReason.reason == "身份证反面缺失"))
        rid = row.id
        assert row.doc_type == ID_CARD and row.position == 5
    assert [a.details["reason"] for a in _audits(app, "correction_reason.create")] == [
        "身份证反面缺失",
        "字迹无法辨认",
    ]
    # the clerk sees the ID card's own reason first, then the general one
    aid, doc_id, _wallet = _with_document(app)
    page = _client(app).get(f"/clerk/applications/{aid}").text
    select_html = re.search(rf'<select[^>]*id="v{doc_id}-preset".*?</select>', page, re.S).group(0)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", select_html)
    assert options.index("身份证反面缺失") < options.index("字迹无法辨认")
    # edit, then delete: both audited
    r = admin.post(
        f"/admin/correction-reasons/{rid}",
        data={f"r{rid}-doc_type": ID_CARD, f"r{rid}-reason": "身份证反面未上传", f"r{rid}-position": "5"},
    )
    assert r.status_code == 302
    r = admin.post(f"/admin/correction-reasons/{rid}", data={f"r{rid}-doc_type": "", f"r{rid}-reason": ""})
    assert r.status_code == 422 and field_error(r.text, f"r{rid}-reason") == "请填写原因"
    (edit,) = _audits(app, "correction_reason.update")
    assert edit.details["before"]["reason"] == "身份证反面缺失"
    assert edit.details["after"]["reason"] == "身份证反面未上传"
    assert admin.post(f"/admin/correction-reasons/{rid}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(CorrectionReason, rid) is None
    (deleted,) = _audits(app, "correction_reason.delete")
    assert deleted.details["reason"] == "身份证反面未上传"


@pytest.mark.parametrize("role", ["clerk", "unit_lead", "auditor", "citizen"])
def test_only_admins_change_the_preset_reasons(world, role):
    app = world
    with app.app_context():
        row = CorrectionReason(doc_type="", reason="测试原因")
        db.session.add(row)
        db.session.commit()
        rid = row.id
    client = app.test_client()
    login_as(app, client, role)
    assert client.get("/admin/correction-reasons/").status_code == 403
    assert client.post("/admin/correction-reasons/", data={"reason": "新原因"}).status_code == 403
    assert client.post(f"/admin/correction-reasons/{rid}", data={f"r{rid}-reason": "改"}).status_code == 403
    assert client.post(f"/admin/correction-reasons/{rid}/delete").status_code == 403
    with app.app_context():
        assert db.session.get(CorrectionReason, rid).reason == "测试原因"
        assert db.session.scalar(select(CorrectionReason).where(CorrectionReason.reason == "新原因")) is None
    assert _audits(app, "correction_reason.create") == []


def test_a_pdf_is_shown_inline_in_the_workbench_and_an_image_stays_sandboxed(world):
    app = world
    aid, image_doc, _wallet = _with_document(app)
    with app.app_context():
        row = db.session.get(Application, aid)
        key = get_storage().save(corpus.pdf(), suffix=".pdf")
        pdf = ApplicationDocument(
            application_id=aid,
            requirement=row.documents[0].requirement,
            requirement_name=ID_CARD,
            storage_key=key,
            kind="pdf",
            mimetype="application/pdf",
            size=10,
            sha256="1" * 64,
            display_name="身份证.pdf",
            for_correction=True,
        )
        db.session.add(pdf)
        db.session.commit()
        pdf_id = pdf.id
    client = _client(app)
    page = client.get(f"/clerk/applications/{aid}").text
    url = f"/clerk/applications/{aid}/files/{pdf_id}"
    assert re.search(rf'<iframe class="viewer-pdf" src="{url}"', page)
    assert f'<a href="{url}" target="_blank"' in page  # the fallback when the browser shows no PDF
    # the superseded photo shows as replaced and takes no check; the PDF (current) does
    assert "已被新文件替换" in page
    assert f'id="v{image_doc}-verdict-0"' not in page and f'id="v{pdf_id}-verdict-0"' in page
    response = client.get(url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    response = client.get(f"/clerk/applications/{aid}/files/{image_doc}")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
