"""``flask exchange``: the development simulator plays the departments through the real callback (the
demo runs end to end), ``status`` shows what is not delivered, ``secret`` hands over and rotates."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from applications.bundles import gateway
from applications.bundles.models import BundleApplication, BundleState
from applications.models import Application
from core.audit import AuditLog
from core.db import db
from tests.bundles.exchange_helpers import (
    BIRTH,
    CAR,
    approve_item,
    department,
    part,
    statuses,
    submitted_bundle,
)
from tests.clerk.helpers import load_world


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def _deliver(app) -> None:
    result = run(app, "notify", "deliver")
    assert result.exit_code == 0, result.output


def test_the_simulator_answers_through_the_callback_and_the_birth_bundle_completes(world):
    with world.app_context():
        bundle = submitted_bundle(BIRTH)
        bundle_id = bundle.id
        hukou_id = part(bundle_id, "hukou").application_id
        db.session.commit()
    # nothing delivered yet: the simulator has nothing to answer
    assert "changed=0" in run(world, "exchange", "simulate", "--complete").output
    _deliver(world)
    first = run(world, "exchange", "simulate")  # received only
    assert first.exit_code == 0 and "changed=1" in first.output
    with world.app_context():
        assert statuses(bundle_id)["vaccination"] == "received"
        db.session.rollback()
    assert "changed=1" in run(world, "exchange", "simulate", "--department", "wsjk", "--complete").output
    with world.app_context():
        assert statuses(bundle_id)["vaccination"] == "done"
        assert part(bundle_id, "vaccination").result["vaccination_cert_no"].startswith("YJ-")
        approve_item(db.session.get(Application, hukou_id))
        db.session.commit()
    _deliver(world)
    run(world, "exchange", "simulate", "--complete")
    _deliver(world)  # the insurance number started 社保卡
    run(world, "exchange", "simulate", "--complete")
    with world.app_context():
        assert set(statuses(bundle_id).values()) == {"done"}
        assert db.session.get(BundleApplication, bundle_id).state == BundleState.COMPLETED
        db.session.rollback()
    # answering everything again changes nothing
    again = run(world, "exchange", "simulate", "--complete")
    assert "changed=0" in again.output and "refused=0" in again.output


def test_an_unknown_department_is_refused_by_the_simulator(world):
    result = run(world, "exchange", "simulate", "--department", "nobody")
    assert result.exit_code != 0 and "nobody" in result.output


def test_status_lists_what_is_not_delivered_and_why(world):
    with world.app_context():
        department("tax").endpoint_url = "http://127.0.0.1:9/closed"
        bundle = submitted_bundle(CAR)
        outbox_id = part(bundle.id, "tax").outbox_id
        db.session.commit()
    before = run(world, "exchange", "status")
    assert f"{outbox_id}\ttax\t" in before.output and "pending" in before.output
    _deliver(world)
    after = run(world, "exchange", "status")
    assert "retrying" in after.output and "tax" in after.output and "1 message(s)" in after.output


def test_secret_prints_the_derived_secret_and_rotate_changes_it_audited(world):
    with world.app_context():
        expected = gateway.secret_text(department("rsj"))
        db.session.rollback()
    shown = run(world, "exchange", "secret", "rsj")
    assert shown.exit_code == 0 and expected in shown.output
    assert run(world, "exchange", "secret", "rsj").output == shown.output  # derived: the same every time
    rotated = run(world, "exchange", "secret", "rsj", "--rotate")
    assert rotated.exit_code == 0 and expected not in rotated.output and "第 2 代" in rotated.output
    with world.app_context():
        assert department("rsj").secret_generation == 2
        actions = db.session.scalars(
            select(AuditLog.action).where(AuditLog.action.like("exchange.%")).order_by(AuditLog.id)
        ).all()
        assert actions == ["exchange.secret_shown", "exchange.secret_shown", "exchange.secret_rotated"]
        db.session.rollback()
    assert run(world, "exchange", "secret", "nobody").exit_code != 0


def test_the_simulator_posts_to_a_running_portal_over_http(live_server):
    """``--url``: the answers go over real HTTP to a served portal (CSRF on: the callback is exempt)."""
    app = live_server.app
    with app.app_context():
        load_world()
        bundle = submitted_bundle(CAR)
        bundle_id = bundle.id
        db.session.commit()
    _deliver(app)
    result = run(app, "exchange", "simulate", "--department", "tax", "--complete", "--url", live_server.url)
    assert result.exit_code == 0 and "changed=2" in result.output and "refused=0" in result.output
    with app.app_context():
        assert statuses(bundle_id)["tax"] == "done"
        assert statuses(bundle_id)["registration"] == "started"  # the held police draft went in
        db.session.rollback()
