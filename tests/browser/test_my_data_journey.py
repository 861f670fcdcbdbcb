"""我的数据 in Debian's chromium: a citizen opens it from the profile, sees their numbers in full,
downloads the zip, tries to delete the account with an application still open (refused, naming it),
withdraws the application, deletes the account, and can no longer log in. axe checks the pages; the
page fits a 375-px phone."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from applications.models import Application, TrustLevel, WalletDocument
from core.db import db
from core.storage import get_storage
from tests.clerk.helpers import insert_submitted, load_world
from tests.conftest import run_axe
from tests.factories import DEFAULT_PASSWORD, CitizenFactory
from tests.uploads import corpus

pytestmark = pytest.mark.browser


@pytest.fixture
def person(live_server):
    """A citizen with one submitted application and one document in 我的材料."""
    with live_server.app.app_context():
        load_world()
        user = CitizenFactory(real_name="周慧敏")
        db.session.flush()
        (aid,) = insert_submitted(1, applicant=user)
        content = corpus.pdf()
        key = get_storage().save(content, suffix=".pdf")
        db.session.add(
            WalletDocument(
                owner_id=user.id,
                doc_type="居民身份证",
                trust_level=TrustLevel.C,
                storage_key=key,
                kind="pdf",
                mimetype="application/pdf",
                size=len(content),
                sha256="0" * 64,
                display_name="身份证.pdf",
            )
        )
        db.session.commit()
        return {
            "mobile": user.mobile,
            "id_number": user.id_number,
            "aid": aid,
            "reference": db.session.get(Application, aid).reference,
            "key": key,
        }


def _axe_clean(page) -> None:
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def _login(page, base, mobile: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(mobile)
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_my_data_download_refused_then_deleted(live_server, page, person, screenshot):
    base = live_server.url
    _login(page, base, person["mobile"])
    assert "/login" not in page.url
    page.goto(f"{base}/profile")
    page.get_by_test_id("mydata-link").click()
    page.wait_for_url(re.compile(r"/me/data$"))
    assert page.get_by_test_id("id-number").inner_text().strip() == person["id_number"]
    assert page.get_by_test_id("mobile").inner_text().strip() == person["mobile"]
    assert page.get_by_test_id("count-办件").inner_text() == "1"
    assert page.get_by_test_id("count-我的材料").inner_text() == "1"
    assert person["reference"] in page.content()
    screenshot(page, "my-data")
    _axe_clean(page)

    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    download = info.value
    assert download.suggested_filename == "我的数据.zip"
    zf = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    data = json.loads(zf.read("data.json"))
    assert data["账号"]["居民身份证号码"] == person["id_number"]
    assert data["办件"][0]["受理编号"] == person["reference"]
    assert zf.read(data["我的材料"][0]["文件"]) == get_storage_bytes(live_server, person["key"])

    # delete with the application still open: refused, the reference named
    page.get_by_test_id("delete").click()
    page.wait_for_url(re.compile(r"/me/data/delete$"))
    assert person["reference"] in page.get_by_test_id("open-refs").inner_text()
    screenshot(page, "delete-refused-before")
    _axe_clean(page)
    page.get_by_label("登录密码").fill(DEFAULT_PASSWORD)
    page.get_by_test_id("confirm").click()
    page.wait_for_load_state()
    assert "您还有正在办理的申请，暂不能注销账号" in page.locator(".alert-danger").inner_text()
    screenshot(page, "delete-refused")

    # withdraw it, then delete
    page.goto(f"{base}/applications/{person['aid']}/withdraw")
    page.get_by_test_id("confirm").click()
    page.wait_for_url(re.compile(rf"/applications/{person['aid']}$"))
    page.goto(f"{base}/me/data/delete")
    assert page.get_by_test_id("open-refs").count() == 0
    page.get_by_label("登录密码").fill("wrong-password-1")
    page.get_by_test_id("confirm").click()
    page.wait_for_load_state()
    assert "登录密码不正确" in page.content()
    page.get_by_label("登录密码").fill(DEFAULT_PASSWORD)
    page.get_by_test_id("confirm").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "您的账号已注销" in page.locator(".flash-messages").inner_text()
    screenshot(page, "deleted")

    _login(page, base, person["mobile"])
    assert "/login" in page.url and "账号或密码不正确" in page.content()


def get_storage_bytes(live_server, key: str) -> bytes:
    with live_server.app.app_context():
        return get_storage().open(key)


def test_my_data_fits_a_phone(live_server, phone_page, person):
    _login(phone_page, live_server.url, person["mobile"])
    phone_page.goto(f"{live_server.url}/me/data")
    phone_page.wait_for_load_state()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_page.goto(f"{live_server.url}/me/data/delete")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
