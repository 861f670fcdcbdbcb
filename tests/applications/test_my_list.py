"""我的办件 lists the citizen's own applications, newest first, with what each row promises: the 代办
badge, the promised date while it runs, the paused clock while a 补正 waits, 继续填写 for a draft and
查看 for the rest — and never another citizen's application."""

from __future__ import annotations

import re
from datetime import date, timedelta

from applications.models import Application
from applications.workflow.states import State
from auth.cli import DEMO_CITIZEN
from auth.models import User
from core.db import db, utcnow
from tests.auth.helpers import make_account
from tests.clerk.helpers import DEMO_PASSWORD, citizen, insert_submitted, load_world, login_staff


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr>\s*<td data-label=.*?</tr>", page, flags=re.S)


def test_the_list_shows_each_rows_state_and_only_the_citizens_own(app):
    stranger = make_account(app, "citizen")
    with app.app_context():
        load_world()
        me = citizen()
        now = utcnow()
        (running,) = insert_submitted(
            1,
            applicant=me,
            state=State.ACCEPTED,
            promised_due=date(2026, 12, 30),
            is_proxy=True,
            principal_name="张老伯",
            principal_id_number_enc="330102194501011234",
            updated_at=now - timedelta(hours=3),
        )
        (paused,) = insert_submitted(
            1, applicant=me, state=State.CORRECTION_REQUESTED, updated_at=now - timedelta(hours=2)
        )
        (draft,) = insert_submitted(1, applicant=me, state=State.DRAFT, updated_at=now)
        db.session.get(Application, draft).reference = None  # a draft has no reference yet
        insert_submitted(1, applicant=db.session.get(User, stranger.id))
        db.session.commit()
    client = app.test_client()
    login_staff(client, DEMO_CITIZEN["mobile"], DEMO_PASSWORD)

    page = client.get("/me/applications")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert len(rows) == 3  # the stranger's application is not listed
    newest, middle, oldest = rows
    assert "（草稿）" in newest and f"/applications/{draft}/form" in newest and "继续填写" in newest
    assert "计时暂停，待您补正" in middle and f'/applications/{paused}"' in middle
    assert "代办" in oldest and "承诺 2026-12-30 前办结" in oldest and f'/applications/{running}"' in oldest
    assert "330102194501011234" not in page.text  # the principal's number is never on the list
