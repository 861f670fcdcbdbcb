"""亲友代办: apply for someone else — principal's name, ID and relationship required, the proxy
documents asked, acting person and principal kept, the principal's ID masked everywhere."""

from __future__ import annotations

from applications.models import Application
from applications.workflow.states import State
from core.db import db
from tests.auth.helpers import field_error, input_value, is_chinese

from .helpers import (
    PRINCIPAL_ID,
    PROXY_ANSWERS,
    PROXY_DOC,
    PROXY_ITEM,
    PROXY_REQUIRED_DOCS,
    jpeg,
    pdf,
    post_form,
    proxy_form,
    start,
    submit,
    upload,
)


def _proxy_draft(client) -> int:
    return start(client, PROXY_ITEM, PROXY_ANSWERS)


def test_principal_fields_are_required(citizen_client):
    aid = _proxy_draft(citizen_client)
    form_page = citizen_client.get(f"/applications/{aid}/form").text
    assert "被代办人信息" in form_page
    response = post_form(
        citizen_client,
        aid,
        proxy_form(principal_name="", principal_id_number="", relationship_to_principal=""),
    )
    assert response.status_code == 422
    for name in ("principal_name", "principal_id_number", "relationship_to_principal"):
        assert is_chinese(field_error(response.text, name)), name
    assert input_value(response.text, "f_dog_name") == "旺财"


def test_principal_id_checksum_is_checked(citizen_client):
    aid = _proxy_draft(citizen_client)
    wrong = PRINCIPAL_ID[:-1] + ("0" if PRINCIPAL_ID[-1] != "0" else "1")
    response = post_form(citizen_client, aid, proxy_form(principal_id_number=wrong))
    assert response.status_code == 422
    assert is_chinese(field_error(response.text, "principal_id_number"))
    assert post_form(citizen_client, aid, proxy_form()).status_code == 302


def test_self_application_has_no_principal_section(citizen_client):
    aid = start(citizen_client, PROXY_ITEM, {"applicant": "self", "keeper": "person"})
    assert "被代办人信息" not in citizen_client.get(f"/applications/{aid}/form").text
    docs = citizen_client.get(f"/applications/{aid}/documents").text
    assert f'id="doc-{PROXY_DOC}"' not in docs


def test_proxy_flow_keeps_both_people_and_masks_the_principal(app, citizen, citizen_client):
    aid = _proxy_draft(citizen_client)
    assert post_form(citizen_client, aid, proxy_form()).status_code == 302
    docs_page = citizen_client.get(f"/applications/{aid}/documents").text
    assert f'id="doc-{PROXY_DOC}"' in docs_page and "委托书" in docs_page
    files = {pos: (jpeg(), f"材料{pos}.jpg") for pos in PROXY_REQUIRED_DOCS}
    files[PROXY_DOC] = (pdf(), "委托书.pdf")
    assert upload(citizen_client, aid, files, next="1").status_code == 302
    review = citizen_client.get(f"/applications/{aid}/review").text
    assert "李大山" in review and "父母" in review
    assert submit(citizen_client, aid).headers["Location"].endswith(f"/applications/{aid}/done")
    with app.app_context():
        row = db.session.get(Application, aid)
        assert row.state == State.SUBMITTED
        assert row.is_proxy and row.applicant_id == citizen.id
        assert (row.principal_name, row.principal_id_number, row.relationship_to_principal) == (
            "李大山",
            PRINCIPAL_ID,
            "父母",
        )
        assert PROXY_DOC in {d.requirement for d in row.documents}
    pages = {
        "review-before-submit": review,
        "done": citizen_client.get(f"/applications/{aid}/done").text,
        "detail": citizen_client.get(f"/applications/{aid}").text,
        "list": citizen_client.get("/me/applications").text,
        "wallet": citizen_client.get("/me/wallet").text,
        "messages": citizen_client.get("/me/messages").text,
    }
    masked = PRINCIPAL_ID[:3]
    for name, page in pages.items():
        assert PRINCIPAL_ID not in page, name
        assert PRINCIPAL_ID[6:14] not in page, name  # not even the birth date
        if name == "review-before-submit":
            # 核对信息 is where the applicant checks their own numbers: in full (issue 17, item 7)
            assert citizen.id_number in page and "13912345678" in page
            continue
        assert citizen.id_number not in page, name
        assert citizen.mobile not in page, name
        assert "13912345678" not in page, name  # the contact mobile
    for name in ("review-before-submit", "detail"):
        assert masked in pages[name] and "李大山" in pages[name], name
