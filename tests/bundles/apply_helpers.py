"""Shared by the 一件事 application tests: the demo catalog with its published flows, logged-in
citizens, and the steps of a bundle application through the test client.

The fixtures are imported by the test modules (``FIXTURES``), not from a conftest: the other 一件事
test files of tests/bundles bring their own."""

from __future__ import annotations

import io
import re
import secrets

import pytest
from flask.testing import FlaskClient

from core.db import db
from tests.auth.helpers import Account, login, make_account
from tests.catalog.helpers import load_demo
from tests.uploads import corpus

BIRTH, CAR = "LJ-YJS-001", "LJ-YJS-003"


@pytest.fixture(name="demo")
def demo_fixture(app):
    """The demo catalog (with the 出生 and 新车上牌 flows published) in ``app``'s database."""
    with app.app_context():
        result = load_demo()
        db.session.remove()
        return result


@pytest.fixture(name="citizen")
def citizen_fixture(app, demo) -> Account:
    return make_account(app, "citizen")


@pytest.fixture(name="citizen_client")
def citizen_client_fixture(app, citizen):
    client = app.test_client()
    assert login(client, citizen.login).status_code == 302
    client.account = citizen
    return client


@pytest.fixture(name="other_client")
def other_client_fixture(app, demo):
    account = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    client.account = account
    return client


FIXTURES = ("demo_fixture", "citizen_fixture", "citizen_client_fixture", "other_client_fixture")


def pdf() -> bytes:
    return corpus.pdf()


def jpeg(**kw) -> bytes:
    return corpus.jpeg(**kw)


BIRTH_SHARED = {
    "district": "东城区",
    "f_baby_name": "王小宝",
    "f_birth_date": "2026-11-20",
    "f_hospital": "临江市妇幼保健院",
    "f_mobile": "13912345678",
    "f_mail_address": "东城区解放路100号1幢201室",
}
BIRTH_SITUATIONS = {"marriage": "married", "follow": "father"}
MAIL = {
    "delivery_method": "mail",
    "recipient": "王大明",
    "recipient_mobile": "13912340000",
    "mail_district": "东城区",
}
CAR_SHARED = {
    "district": "江南区",
    "f_vin": "LSVAU2180N2123456",
    "f_mobile": "13912345678",
    "f_mail_address": "江南区滨江路8号3单元",
    "f_price": "158000",
}
CAR_SITUATIONS = {"origin": "domestic"}
CAR_ITEMS = {
    "temp_plate-f_route": "临江市—杭州市",
    "temp_plate-f_start_date": "2026-12-10",
    "registration-f_plate_choice": "互联网选号",
}


def start(client: FlaskClient, code: str = BIRTH, token: str | None = None) -> int:
    response = client.post(f"/bundles/{code}/apply", data={"token": token or secrets.token_urlsafe(24)})
    assert response.status_code == 302, response.text
    return int(re.search(r"/bundle-applications/(\d+)/shared", response.headers["Location"]).group(1))


def post(client: FlaskClient, bid: int, section: str, data: dict, **kw):
    return client.post(f"/bundle-applications/{bid}/{section}", data={**data, "next": "1"}, **kw)


def upload(client: FlaskClient, bid: int, files: dict[str, tuple[bytes, str]], **extra):
    data = {f"doc-{key}": (io.BytesIO(content), name) for key, (content, name) in files.items()}
    data.update(extra)
    return client.post(f"/bundle-applications/{bid}/documents", data=data, content_type="multipart/form-data")


def ready_birth(client: FlaskClient) -> int:
    """A complete 出生一件事 draft (married, follows the father, mailed)."""
    bid = start(client, BIRTH)
    assert post(client, bid, "shared", BIRTH_SHARED).status_code == 302
    assert post(client, bid, "situations", BIRTH_SITUATIONS).status_code == 302
    r = upload(client, bid, {"hukou_book": (pdf(), "户口簿.pdf"), "parents_id": (jpeg(), "身份证.jpg")})
    assert r.status_code == 302, r.text
    assert post(client, bid, "delivery", MAIL).status_code == 302
    return bid


def ready_car(client: FlaskClient) -> int:
    """A complete 新车上牌一件事 draft (a domestic car, mailed)."""
    bid = start(client, CAR)
    assert post(client, bid, "shared", CAR_SHARED).status_code == 302
    assert post(client, bid, "situations", CAR_SITUATIONS).status_code == 302
    r = post(client, bid, "items", CAR_ITEMS)
    assert r.status_code == 302, r.text
    files = {
        "owner_id": (pdf(), "身份证.pdf"),
        "insurance": (pdf(), "交强险.pdf"),
        "invoice": (jpeg(), "发票.jpg"),
        "factory_cert": (jpeg(color="blue"), "合格证.jpg"),
    }
    r = upload(client, bid, files)
    assert r.status_code == 302, r.text
    assert post(client, bid, "delivery", MAIL).status_code == 302
    return bid
