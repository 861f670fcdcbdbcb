"""我的材料 after a correction (issue 17, item 6): the file the clerk sent back is marked rejected and
never offered again, the corrected file is kept in the wallet, and a file the clerk checked
(核验通过) rises to trust level B."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from applications.clerk import operations as clerk_ops
from applications.clerk import verdicts
from applications.models import Application, TrustLevel, WalletDocument
from auth.models import User
from core.db import db
from tests.auth.helpers import make_account

from .helpers import ID_DOC, PHOTO_DOC, jpeg, start, submitted

PHOTO = "近期免冠照片"


def _offered(client, aid: int, position: int) -> list[int]:
    """The wallet documents the documents page offers for requirement ``position``."""
    page = client.get(f"/applications/{aid}/documents").text
    select_html = re.search(rf'<select[^>]*name="wallet-{position}".*?</select>', page, re.S)
    return [int(v) for v in re.findall(r'value="(\d+)"', select_html.group(0))] if select_html else []


def _wallet(app, owner_id: int) -> dict[int, WalletDocument]:
    with app.app_context():
        rows = db.session.scalars(select(WalletDocument).where(WalletDocument.owner_id == owner_id)).all()
        for r in rows:
            db.session.expunge(r)
        return {r.id: r for r in rows}


def test_correction_rejects_the_old_file_keeps_the_new_one_and_a_checked_file_rises_to_b(
    app, citizen_client, citizen
):
    aid = submitted(citizen_client)
    clerk = make_account(app, "clerk")
    with app.app_context():
        row = db.session.get(Application, aid)
        docs = {d.requirement: d for d in row.documents}
        id_doc, photo_doc = docs[ID_DOC], docs[PHOTO_DOC]
        id_wallet, photo_wallet = id_doc.wallet_document_id, photo_doc.wallet_document_id
        assert db.session.get(WalletDocument, photo_wallet).trust_level == TrustLevel.C
        row.claimed_by_id = clerk.id
        staff = db.session.get(User, clerk.id)
        verdicts.record_verdict(row, staff, id_doc.id, "ok")
        verdicts.record_verdict(row, staff, photo_doc.id, "correct", "照片模糊不清")
        db.session.commit()
        assert verdicts.correction_prefill(row) == {PHOTO: "照片模糊不清"}
        clerk_ops.request_correction(row, staff, [{"target": PHOTO, "note": "照片模糊不清"}])
        db.session.commit()
    wallet = _wallet(app, citizen.id)
    assert wallet[id_wallet].trust_level == TrustLevel.B and wallet[id_wallet].rejected_at is None
    assert wallet[photo_wallet].rejected_at is not None
    assert wallet[photo_wallet].rejected_reason == "照片模糊不清"

    # 我的材料 shows it marked; a new application does not offer it (the checked ID card, yes)
    page = citizen_client.get("/me/wallet").text
    assert 'data-testid="wallet-rejected"' in page and "照片模糊不清" in page
    draft = start(citizen_client)
    assert photo_wallet not in _offered(citizen_client, draft, PHOTO_DOC)
    assert id_wallet in _offered(citizen_client, draft, ID_DOC)
    # a hand-made form choosing it anyway is refused with a message, nothing attached
    response = citizen_client.post(
        f"/applications/{draft}/documents", data={f"wallet-{PHOTO_DOC}": str(photo_wallet)}
    )
    assert response.status_code == 422 and "曾被工作人员退回补正" in response.text
    with app.app_context():
        assert db.session.get(Application, draft).documents == []

    # the citizen answers with a new photo: it is kept in the wallet, and offered next time
    response = citizen_client.post(
        f"/applications/{aid}/correction",
        data={f"doc-{PHOTO_DOC}": (io.BytesIO(jpeg(color="white")), "清晰照片.jpg"), "resubmit": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Application, aid)
        corrected = next(d for d in row.documents if d.for_correction)
        new_wallet = corrected.wallet_document_id
    wallet = _wallet(app, citizen.id)
    assert new_wallet is not None and new_wallet != photo_wallet
    fresh = wallet[new_wallet]
    assert (fresh.doc_type, fresh.display_name, fresh.trust_level) == (PHOTO, "清晰照片.jpg", TrustLevel.C)
    assert fresh.rejected_at is None and fresh.source_application_id == aid
    assert _offered(citizen_client, draft, PHOTO_DOC) == [new_wallet]

    # the clerk checks the corrected photo: it rises to B
    with app.app_context():
        row = db.session.get(Application, aid)
        verdicts.record_verdict(row, db.session.get(User, clerk.id), corrected.id, "ok")
        db.session.commit()
        assert db.session.get(WalletDocument, new_wallet).trust_level == TrustLevel.B
        # the file sent back stays rejected (and below B)
        old = db.session.get(WalletDocument, photo_wallet)
        assert old.rejected_at is not None and old.trust_level == TrustLevel.C
