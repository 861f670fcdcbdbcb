"""One-time verification links: opened once, then gone; expired ones gone; foreign certificates 404."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from applications.ecert.models import ShareLink
from core.audit import AuditLog
from core.clock import now, travel
from core.db import db
from tests.auth.helpers import login_as
from tests.ecert.helpers import cert, issue, login_citizen


def _link(world, number):
    client = world.test_client()
    login_citizen(client)
    with world.app_context():
        cid = cert(number).id
    r = client.post(f"/me/ecerts/{cid}/share")
    assert r.status_code == 200
    found = re.search(r'value="(http[^"]+/verify/s/([^"]+))"', r.text)
    assert found, r.text[:500]
    return client, cid, "/verify/s/" + found.group(2)


def test_a_share_link_opens_once(world):
    (number,) = issue(world)
    _client, _cid, path = _link(world, number)
    stranger = world.test_client()
    first_look = stranger.get(path)
    assert first_look.status_code == 200 and "查看核验结果" in first_look.text  # a preview uses nothing
    assert stranger.get(path).status_code == 200
    opened = stranger.post(path)
    assert opened.status_code == 200 and 'data-reason="ok"' in opened.text and number in opened.text
    assert stranger.post(path).status_code == 410
    gone = stranger.get(path)
    assert gone.status_code == 410 and "已使用、已过期或不存在" in gone.text
    with world.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"ecert.share", "ecert.share_used"} <= actions
        (link,) = db.session.scalars(select(ShareLink))
        assert link.used_at is not None and path.rsplit("/", 1)[1] not in link.token_hash


def test_an_expired_link_is_gone(world):
    (number,) = issue(world)
    _client, _cid, path = _link(world, number)
    with travel(now() + timedelta(hours=25)):
        assert world.test_client().get(path).status_code == 410
        assert world.test_client().post(path).status_code == 410


def test_a_made_up_or_absurd_token_is_gone_not_an_error(world):
    client = world.test_client()
    for token in ("x", "A" * 500, "%00", "..%2F..%2Fetc"):
        assert client.get(f"/verify/s/{token}").status_code in (404, 410)
        assert client.post(f"/verify/s/{token}").status_code in (404, 410)


def test_someone_elses_certificate_cannot_be_shared_and_a_revoked_one_is_refused(world):
    (number,) = issue(world)
    with world.app_context():
        cid = cert(number).id
    other = world.test_client()
    login_as(world, other, "citizen")
    assert other.post(f"/me/ecerts/{cid}/share").status_code == 404
    admin = world.test_client()
    login_as(world, admin, "admin")
    assert admin.post(f"/admin/ecerts/{cid}/revoke", data={"reason": "replaced"}).status_code == 302
    owner = world.test_client()
    login_citizen(owner)
    r = owner.post(f"/me/ecerts/{cid}/share", follow_redirects=True)
    assert "已撤销，不能分享" in r.text
    with world.app_context():
        assert db.session.scalar(select(ShareLink)) is None
