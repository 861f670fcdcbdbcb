"""The probes of issue 16 that failed against the running site, kept as tests so they stay fixed:
two citizens, the draft form, the 代办 request, and the URLs and filters that used to answer 500."""

from __future__ import annotations

from sqlalchemy import func, select

from applications.models import Application
from applications.workflow.states import State
from auth.models import User
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from tests.applications.helpers import (
    PRINCIPAL_ID,
    PROXY_ANSWERS,
    PROXY_ITEM,
    post_form,
    proxy_form,
    ready_draft,
    start,
    submit,
)
from tests.auth.helpers import login, make_account
from tests.factories import CitizenFactory


def test_values_saved_at_the_form_step_are_validated_again_at_submit(app, citizen_client):
    """A draft saved with a bad mobile (a hand-made request) is sent back to the field, not submitted."""
    aid = ready_draft(citizen_client)
    with app.app_context():
        a = db.session.get(Application, aid)
        a.contact_mobile = "00000000000"
        db.session.commit()
    r = submit(citizen_client, aid)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/applications/{aid}/review")
    page = citizen_client.get(f"/applications/{aid}/review").text
    assert "联系电话：请输入11位中国大陆手机号码" in page
    with app.app_context():
        assert db.session.get(Application, aid).state == State.DRAFT


def test_an_off_list_relationship_or_a_bad_principal_id_is_refused_at_submit(app, citizen_client):
    aid = start(citizen_client, PROXY_ITEM, PROXY_ANSWERS)
    assert post_form(citizen_client, aid, proxy_form(), next_step=False).status_code in (200, 302)
    with app.app_context():
        a = db.session.get(Application, aid)
        a.relationship_to_principal = "邻居"  # not one of the listed relationships
        a.principal_id_number = "000000000000000000"
        db.session.commit()
        from applications.submission.operations import check_complete

        problems = [m for _anchor, m in check_complete(db.session.get(Application, aid))]
    assert any("与被代办人的关系" in m for m in problems)
    assert any("被代办人居民身份证号码" in m for m in problems)


def _proxy_draft(app, client) -> int:
    aid = start(client, PROXY_ITEM, PROXY_ANSWERS)
    post_form(client, aid, proxy_form(), next_step=False)
    return aid


def test_asking_a_relative_to_confirm_answers_the_same_whoever_holds_the_number(app, citizen_client):
    """No account, an L1 account, an L2 account: one neutral answer; only the L2 holder is asked."""
    aid = _proxy_draft(app, citizen_client)
    first = citizen_client.post(f"/applications/{aid}/principal", follow_redirects=True).text
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "proxy_confirm")) == 0
        CitizenFactory(id_number=PRINCIPAL_ID, assurance=1)  # registered, not verified
        db.session.commit()
    second = citizen_client.post(f"/applications/{aid}/principal", follow_redirects=True).text
    marker = "如被代办人已注册并完成实名认证"
    assert marker in first and marker in second
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "proxy_confirm")) == 0


def test_twenty_requests_make_one_sms_to_the_relative(app, citizen_client):
    with app.app_context():
        relative = CitizenFactory(id_number=PRINCIPAL_ID)  # L2
        db.session.commit()
        relative_id = relative.id
    aid = _proxy_draft(app, citizen_client)
    for _ in range(20):
        citizen_client.post(f"/applications/{aid}/principal")
    with app.app_context():
        sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "proxy_confirm")).all()
        assert [m.user_id for m in sent] == [relative_id]
        asked = db.session.scalar(
            select(func.count()).where(AuditLog.action == "application.principal_confirmation_requested")
        )
        assert asked == 5  # then the applicant's own daily cap refuses them


def test_confirming_an_authorisation_needs_real_name_verification(app, citizen_client):
    with app.app_context():
        relative = CitizenFactory(id_number=PRINCIPAL_ID)
        db.session.commit()
        relative_login = relative.mobile
    aid = _proxy_draft(app, citizen_client)
    citizen_client.post(f"/applications/{aid}/principal")
    with app.app_context():
        db.session.scalar(select(User).where(User.id_number_is(PRINCIPAL_ID))).assurance = 1  # lost L2
        db.session.commit()
    relative_client = app.test_client()
    assert login(relative_client, relative_login).status_code == 302
    page = relative_client.post(f"/me/authorisations/{aid}/confirm", follow_redirects=True).text
    assert "实名认证" in page
    with app.app_context():
        assert db.session.get(Application, aid).principal_confirmed_at is None


def test_an_l1_citizen_cannot_start_an_item_that_releases_personal_records(app, demo):
    account = make_account(app, "citizen", assurance=1)
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    r = client.post("/apply/LJ-HJ-021", data={"token": "t" * 24}, follow_redirects=True)
    assert "须实名认证（L2）" in r.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_huge_ids_and_far_dates_answer_404_or_a_field_error_never_500(app, citizen_client):
    for url in (
        "/applications/99999999999999999999",
        "/applications/99999999999999999999/form",
        "/me/wallet/99999999999999999999/file",
    ):
        assert citizen_client.get(url).status_code == 404, url
    clerk = app.test_client()
    make_account(app, "clerk", username="probe_clerk")
    assert login(clerk, "probe_clerk").status_code == 302
    for query in ("date_from=0001-01-01", "date_to=9999-12-31", "date_from=2026-13-45"):
        r = clerk.get(f"/clerk/?{query}")
        assert r.status_code in (200, 302), query


def test_a_huge_anonymous_post_is_refused_before_it_is_read(app, client):
    r = client.post("/login", data={"identifier": "x" * (13 * 1024 * 1024), "password": "x"})
    assert r.status_code == 413


def test_a_client_cannot_choose_its_own_address(app, client, make_app):
    """X-Forwarded-For is ignored unless TRUSTED_PROXY_HOPS says a proxy sets it."""
    client.post(
        "/login", data={"identifier": "nobody", "password": "x"}, headers={"X-Forwarded-For": "6.6.6.6"}
    )
    with app.app_context():
        ips = set(db.session.scalars(select(AuditLog.ip)))
        assert "6.6.6.6" not in ips
    proxied = make_app(TRUSTED_PROXY_HOPS=1)
    proxied.test_client().post(
        "/login", data={"identifier": "nobody2", "password": "x"}, headers={"X-Forwarded-For": "7.7.7.7"}
    )
    with proxied.app_context():
        assert "7.7.7.7" in set(db.session.scalars(select(AuditLog.ip)))


def test_hsts_only_on_https_even_when_https_is_configured(make_app):
    app = make_app(HTTPS=True, PAGE_MICROCACHE=False)
    c = app.test_client()
    assert "Strict-Transport-Security" not in c.get("/healthz").headers
    assert "Strict-Transport-Security" in c.get("/healthz", base_url="https://localhost").headers
    forged = c.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers
