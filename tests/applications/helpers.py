"""Shared by the application tests: demo items, files, and the steps of an application through
the test client (start → form → documents → review → submit)."""

from __future__ import annotations

import io
import re
import secrets

from flask.testing import FlaskClient

from tests.auth.helpers import make_id_number
from tests.uploads import corpus

#: 保安员证核发: no applicant question; with channel=self_study it asks for 居民身份证 (0, required,
#: original), 近期免冠照片 (1, required, jpg/png) and 初中以上学历证明 (2, 容缺).
ITEM = "LJ-ZA-007"
ITEM_ANSWERS = {"channel": "self_study"}
ID_DOC, PHOTO_DOC, DEFERRABLE_DOC = 0, 1, 2

#: 犬只登记: has the applicant=self/proxy question; proxy adds document 5 (委托书…).
PROXY_ITEM = "LJ-ZA-001"
PROXY_ANSWERS = {"applicant": "proxy", "keeper": "person"}
PROXY_DOC = 5
PROXY_REQUIRED_DOCS = (0, 1, 2, 5)

PRINCIPAL_ID = make_id_number("330102", "19580615", 421)

MAIL = {
    "delivery_method": "mail",
    "recipient": "王小明",
    "recipient_mobile": "13912340000",
    "mail_district": "西城区",
    "mail_address": "解放路100号1幢201室",
}


def item_form(**overrides) -> dict[str, str]:
    """A complete, valid form for :data:`ITEM` (mail delivery)."""
    data = {
        "district": "东城区",
        "contact_mobile": "13912345678",
        **MAIL,
        "f_exam_date": "2026-11-01",
        "f_live_address": "江南区滨江路8号3单元",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def proxy_form(**overrides) -> dict[str, str]:
    """A complete, valid form for :data:`PROXY_ITEM` applied for someone else (电子证照)."""
    data = {
        "district": "江南区",
        "contact_mobile": "13912345678",
        "delivery_method": "ecert",
        "principal_name": "李大山",
        "principal_id_number": PRINCIPAL_ID,
        "relationship_to_principal": "父母",
        "f_dog_name": "旺财",
        "f_breed": "中华田园犬",
        "f_chip_no": "CN900123456",
        "f_keep_address": "江南区滨江路8号3单元",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def jpeg(**kw) -> bytes:
    return corpus.jpeg(**kw)


def pdf() -> bytes:
    return corpus.pdf()


def start(
    client: FlaskClient, code: str = ITEM, answers: dict | None = None, token: str | None = None
) -> int:
    """POST the start form; return the new draft's id."""
    token = token or secrets.token_urlsafe(24)
    response = client.post(f"/apply/{code}", data={"token": token, **(answers or ITEM_ANSWERS)})
    assert response.status_code == 302, response.text
    return int(re.search(r"/applications/(\d+)/form", response.headers["Location"]).group(1))


def post_form(client: FlaskClient, aid: int, data: dict, *, next_step: bool = True):
    return client.post(
        f"/applications/{aid}/form", data={**data, **({"next": "1"} if next_step else {"save": "1"})}
    )


def upload(client: FlaskClient, aid: int, files: dict[int, tuple[bytes, str]], **extra):
    data = {f"doc-{pos}": (io.BytesIO(content), name) for pos, (content, name) in files.items()}
    data.update(extra)
    return client.post(f"/applications/{aid}/documents", data=data, content_type="multipart/form-data")


def standard_files() -> dict[int, tuple[bytes, str]]:
    return {ID_DOC: (pdf(), "身份证.pdf"), PHOTO_DOC: (jpeg(), "照片.jpg")}


def ready_draft(client: FlaskClient, *, with_deferrable: bool = False) -> int:
    """A complete draft of :data:`ITEM`, ready to submit."""
    aid = start(client)
    assert post_form(client, aid, item_form()).status_code == 302
    files = standard_files()
    if with_deferrable:
        files[DEFERRABLE_DOC] = (jpeg(color="blue"), "学历.jpg")
    assert upload(client, aid, files, next="1").status_code == 302
    return aid


def submit(client: FlaskClient, aid: int):
    return client.post(f"/applications/{aid}/submit")


def submitted(client: FlaskClient, **kw) -> int:
    aid = ready_draft(client, **kw)
    response = submit(client, aid)
    assert response.headers["Location"].endswith(f"/applications/{aid}/done"), response.headers
    return aid
