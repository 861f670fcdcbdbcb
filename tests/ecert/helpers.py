from __future__ import annotations

from applications.clerk import operations as clerk_ops
from applications.ecert.models import Certificate
from applications.models import Application
from applications.workflow.states import State
from auth.models import User
from core.db import db
from core.transaction import commit
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, DEMO_PASSWORD, PS_ITEM, insert_submitted, user


def issue(app, *, n: int = 1, applicant_id: int | None = None) -> list[str]:
    """Complete ``n`` accepted 无犯罪记录证明 applications with 电子证照 delivery through the clerk's
    approve; the certificate numbers."""
    numbers = []
    with app.app_context():
        clerk = user("clerk_ps_dc_01")
        ids = insert_submitted(
            n,
            item_code=PS_ITEM,
            state=State.ACCEPTED,
            claimed_by_id=clerk.id,
            delivery_method="ecert",
            **({"applicant": db.session.get(User, applicant_id)} if applicant_id else {}),
        )
        commit()
        for aid in ids:
            a = db.session.get(Application, aid)
            clerk_ops.approve(a, clerk, delivery="ecert")
            commit()
            numbers.append(a.result["certificate"])
    return numbers


def cert(number: str) -> Certificate:
    from sqlalchemy import select

    return db.session.scalar(select(Certificate).where(Certificate.number == number))


def login_citizen(client):
    r = client.post("/login", data={"identifier": DEMO_CITIZEN_MOBILE, "password": DEMO_PASSWORD})
    assert r.status_code == 302, r.text
