"""`flask demo ecert` (after `demo load` and `demo simulate` in `make demo`) issues the demo citizen's
certificates through the real completion path, once."""

from __future__ import annotations

from sqlalchemy import select

from applications.ecert.models import Certificate, DocumentSource
from applications.ecert.operations import verify_online
from applications.models import Application
from applications.workflow.states import State
from core.db import db


def test_demo_ecert_issues_three_verifiable_certificates_once(app):
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["demo", "load"])
    assert (
        loaded.exit_code == 0 and "电子证照" not in loaded.output
    )  # `simulate --if-empty` still runs after it
    with app.app_context():
        assert db.session.scalar(select(Application.id)) is None
    first = runner.invoke(args=["demo", "ecert"])
    assert first.exit_code == 0, first.output
    assert first.output.count("电子证照：已为演示群众签发") == 3
    again = runner.invoke(args=["demo", "ecert"])
    assert again.exit_code == 0 and "电子证照：已为演示群众签发" not in again.output
    with app.app_context():
        certs = list(db.session.scalars(select(Certificate)))
        assert sorted(c.cert_type for c in certs) == ["无犯罪记录证明", "机动车行驶证", "机动车驾驶证"]
        for c in certs:
            assert c.number in first.output
            assert verify_online(c.payload).genuine
            assert db.session.get(Application, c.application_id).state == State.APPROVED
        assert db.session.scalar(select(DocumentSource).where(DocumentSource.doc_name == "原机动车驾驶证"))
