"""The unit lead's 工作台 shows the work waiting for them as counts (issue 17, item 15): bad-rating
follow-ups (and how many are overdue), corrections and overdue cases, each a link."""

from __future__ import annotations

import re

from applications.ratings import operations as rating_ops
from core.db import db
from tests.clerk.helpers import citizen

from .helpers import LEAD, completed, staff_login


def test_a_bad_rating_shows_up_as_a_follow_up_count_for_the_lead_only(world):
    with world.app_context():
        app = completed()
        rating_ops.rate(app, citizen(), level=1, reasons=["办理慢"], comment="")
        db.session.commit()
    lead = staff_login(world.test_client(), LEAD)
    page = lead.get("/clerk/").text
    assert re.search(r'data-testid="count-follow-ups">1<', page)
    assert 'href="/ratings/follow-ups"' in page
    other = staff_login(world.test_client(), "lead_xc")  # another unit's lead: nothing for them
    assert re.search(r'data-testid="count-follow-ups">0<', other.get("/clerk/").text)
    clerk = staff_login(world.test_client(), "clerk_ps_dc_01")
    assert 'data-testid="lead-counts"' not in clerk.get("/clerk/").text
