"""``flask demo bundles``: 一件事 in the demo history — the demo citizen's 出生一件事 in progress and
completed 新车上牌一件事, simulated citizens' bundles complete and in progress — idempotent, and
sending nothing today."""

from __future__ import annotations

from sqlalchemy import func, select

from applications.bundles.models import BundleApplication, BundleState, PartStatus
from catalog.models import Bundle
from core.db import db
from core.outbox import OutboxMessage
from tests.auth.helpers import make_account
from tests.clerk.helpers import citizen
from tests.ratings.helpers import citizen_login


def _bundles(app):
    with app.app_context():
        rows = db.session.execute(
            select(BundleApplication, Bundle.code).join(Bundle, Bundle.id == BundleApplication.bundle_id)
        ).all()
        demo_id = citizen().id
        return [
            (code, ba.state, ba.applicant_id == demo_id, sorted(p.status.value for p in ba.parts))
            for ba, code in rows
        ]


def test_demo_bundles_are_made_once(world):
    for _ in range(5):
        make_account(world, "citizen")
    runner = world.test_cli_runner()
    first = runner.invoke(args=["demo", "bundles", "--citizens", "5"])
    assert first.exit_code == 0, first.output
    assert "新增" in first.output
    made = _bundles(world)
    mine = [(code, state) for code, state, demo, _ in made if demo]
    assert sorted(mine) == [("LJ-YJS-001", BundleState.SUBMITTED), ("LJ-YJS-003", BundleState.COMPLETED)]
    others = [(code, state) for code, state, demo, _ in made if not demo]
    assert len(others) == 5
    assert {s for _, s in others} == {BundleState.SUBMITTED, BundleState.COMPLETED}
    assert {c for c, _ in others} == {"LJ-YJS-001", "LJ-YJS-003"}
    for code, state, _, statuses in made:
        if state == BundleState.COMPLETED:
            assert set(statuses) == {PartStatus.DONE.value}, (code, statuses)
    with world.app_context():
        unsent = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        assert unsent == 0  # no SMS or exchange message of the simulated past goes out today

    again = runner.invoke(args=["demo", "bundles"])
    assert again.exit_code == 0 and "跳过" in again.output
    assert len(_bundles(world)) == len(made)


def test_the_demo_citizen_sees_both(world):
    assert world.test_cli_runner().invoke(args=["demo", "bundles", "--citizens", "0"]).exit_code == 0
    client = citizen_login(world.test_client())
    html = client.get("/me/applications").text
    assert html.count('data-testid="bundle-card"') == 2
    assert "出生一件事" in html and "新车上牌一件事" in html and "已全部办结" in html
    with world.app_context():
        done = db.session.scalar(
            select(BundleApplication.id).where(BundleApplication.state == BundleState.COMPLETED)
        )
    page = client.get(f"/my/bundles/{done}").text
    assert 'data-testid="bundle-duration"' in page
