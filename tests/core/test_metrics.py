"""/metrics (issue 18 item 8): latency by URL rule, the queue and outbox gauges computed at scrape, the
login-failure counter, the gauge hook for other modules — and only for the configured networks or the
bearer token; everybody else gets the ordinary 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from applications.workflow.states import State
from core import metrics
from core.clock import now
from core.db import db
from core.outbox import queue_message
from tests.auth.helpers import make_account
from tests.clerk.helpers import insert_submitted, load_world

OUTSIDER = {"REMOTE_ADDR": "203.0.113.9"}


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return _samples(response.text)


def test_latency_is_labelled_by_url_rule_not_by_raw_path(client):
    assert client.get("/items/NO-SUCH-ITEM").status_code == 404
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'url_rule="/items/<code>"' in text
    assert "NO-SUCH-ITEM" not in text
    samples = _samples(text)
    key = (
        "flask_http_request_duration_seconds_count",
        (("method", "GET"), ("status", "200"), ("url_rule", "/healthz")),
    )
    assert samples[key] == 1.0
    assert "/metrics" not in re.findall(r'url_rule="([^"]*)"', text)  # the scrape does not time itself


def test_queue_and_outbox_gauges_are_counted_at_scrape(app, client):
    with app.app_context():
        load_world()
        insert_submitted(3)
        insert_submitted(2, state=State.ACCEPTED)
        queue_message(
            "code_register", to_mobile="13800000123", code="123456", created_at=now() - timedelta(minutes=10)
        )
        db.session.commit()
    samples = _scrape(client)
    assert samples[("portal_applications_open", (("state", "submitted"),))] == 3
    assert samples[("portal_applications_open", (("state", "accepted"),))] == 2
    assert samples[("portal_applications_open", (("state", "resubmitted"),))] == 0
    assert samples[("portal_applications_unclaimed", ())] == 3
    assert samples[("portal_outbox_pending", ())] >= 1
    assert samples[("portal_outbox_oldest_pending_age_seconds", ())] >= 600
    assert samples[("portal_outbox_given_up", ())] == 0
    assert samples[("portal_metrics_gauge_up", (("gauge", "portal_outbox_pending"),))] == 1


def test_an_empty_outbox_has_no_age(client):
    samples = _scrape(client)
    assert samples[("portal_outbox_pending", ())] == 0
    assert samples[("portal_outbox_oldest_pending_age_seconds", ())] == 0


def test_failed_logins_are_counted(app, client):
    key = ("portal_login_failures_total", (("reason", "bad_credentials"),))
    before = _scrape(client).get(key, 0)
    account = make_account(app, "citizen")
    for _ in range(2):
        response = client.post("/login", data={"identifier": account.login, "password": "not-the-password"})
        assert response.status_code == 422
    assert _scrape(client)[key] == before + 2


def test_another_module_registers_a_gauge_and_a_failing_one_does_not_hide_the_rest(client, monkeypatch):
    monkeypatch.setattr(metrics, "_gauges", dict(metrics._gauges))
    metrics.register_gauge(
        "portal_job_last_success_timestamp_seconds",
        "When each job last succeeded",
        lambda: {("sweep",): 1_700_000_000, ("rollup",): 1_700_000_500},
        labels=("job",),
    )

    def broken() -> float:
        raise RuntimeError("job table missing")

    metrics.register_gauge("portal_broken_gauge", "Always fails", broken)
    samples = _scrape(client)
    assert samples[("portal_job_last_success_timestamp_seconds", (("job", "sweep"),))] == 1_700_000_000
    assert samples[("portal_metrics_gauge_up", (("gauge", "portal_broken_gauge"),))] == 0
    assert (
        samples[("portal_metrics_gauge_up", (("gauge", "portal_job_last_success_timestamp_seconds"),))] == 1
    )
    assert ("portal_outbox_pending", ()) in samples


def test_with_the_database_down_the_request_metrics_still_answer(make_app):
    broken = make_app(SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-directory/for/sure/portal.db")
    client = broken.test_client()
    client.get("/healthz")
    samples = _scrape(client)
    assert samples[("portal_metrics_gauge_up", (("gauge", "portal_applications_open"),))] == 0
    assert any(name == "flask_http_request_duration_seconds_count" for name, _ in samples)


@pytest.mark.parametrize(
    ("environ", "headers", "expected"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, {}, 200),
        ({"REMOTE_ADDR": "::1"}, {}, 200),
        (OUTSIDER, {}, 404),
        (OUTSIDER, {"Authorization": "Bearer s3cret-scrape-token"}, 200),
        (OUTSIDER, {"Authorization": "Bearer wrong-token"}, 404),
        (OUTSIDER, {"Authorization": "s3cret-scrape-token"}, 404),
    ],
    ids=["loopback", "loopback-v6", "outsider", "outsider-with-token", "wrong-token", "token-without-bearer"],
)
def test_metrics_answer_only_to_allowed_networks_or_the_token(make_app, environ, headers, expected):
    app = make_app(METRICS_TOKEN="s3cret-scrape-token")
    response = app.test_client().get("/metrics", environ_base=environ, headers=headers)
    assert response.status_code == expected
    if expected == 404:
        assert "页面不存在" in response.text and "flask_http" not in response.text


def test_configured_networks_replace_loopback(make_app):
    app = make_app(METRICS_ALLOW="10.0.0.0/8, 192.168.1.7")
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.7"}).status_code == 200
    assert client.get("/metrics").status_code == 404  # loopback is no longer in the list
    assert app.test_client().get("/metrics", environ_base=OUTSIDER).status_code == 404


def test_without_a_token_a_bearer_header_is_not_enough(make_app):
    app = make_app()  # METRICS_TOKEN unset
    response = app.test_client().get("/metrics", environ_base=OUTSIDER, headers={"Authorization": "Bearer "})
    assert response.status_code == 404


def test_behind_a_proxy_the_forwarded_address_decides(make_app):
    """With TRUSTED_PROXY_HOPS=1 a public client reaching nginx on the same machine is not loopback."""
    app = make_app(TRUSTED_PROXY_HOPS=1)
    client = app.test_client()
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_each_jobs_last_success_is_a_gauge(app, client):
    """The scheduler's runs reach /metrics: a job that succeeded has its finish time, one that only
    failed has none (an alert on the age or on absent() catches both)."""
    from core.jobs import JobRun

    finished = now() - timedelta(hours=2)
    with app.app_context():
        db.session.add_all(
            [
                JobRun(
                    job="sweep",
                    period="2026-12-06",
                    started_at=finished,
                    lease_until=finished,
                    finished_at=finished,
                    outcome="ok",
                    counts={},
                ),
                JobRun(
                    job="retention",
                    period="2026-12-06",
                    started_at=finished,
                    lease_until=finished,
                    finished_at=finished,
                    outcome="failed",
                    counts={},
                ),
            ]
        )
        db.session.commit()
    samples = _scrape(client)
    assert samples[("portal_job_last_success_timestamp_seconds", (("job", "sweep"),))] == pytest.approx(
        finished.timestamp()
    )
    assert ("portal_job_last_success_timestamp_seconds", (("job", "retention"),)) not in samples
