"""Hand-offs: a 一件事 step owned by another department becomes an exchange message through the outbox
(:mod:`core.outbox`), written in the same transaction as the change that starts it.

The body is the department's contract (:mod:`applications.bundles.contracts`) built from the step's
``payload_map``; the message id ``handoff:<part id>`` is also the idempotency key the gateway sends, so
a redelivery after a crash is recognised by the department.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from applications.bundles.models import BundleApplication, BundlePart
from catalog import bundle_spec
from catalog.models import ExternalDepartment
from core.db import db, utcnow
from core.outbox import OutboxMessage


def message_id(part: BundlePart) -> str:
    return f"handoff:{part.id}"


def build_payload(
    bundle: BundleApplication, part: BundlePart, results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The exchange message body for ``part``: the envelope and the data its ``payload_map`` names
    (kept on the part while it waited, resolved now that its prerequisites have results)."""
    answers = bundle.answers or {}
    mapping: dict[str, str] = (part.payload or {}).get("payload_map") or {}
    data = {
        key: bundle_spec.resolve(
            source,
            shared=answers.get("shared") or {},
            situations=answers.get("situations") or {},
            results=results,
        )
        for key, source in mapping.items()
    }
    department = db.session.scalar(
        select(ExternalDepartment).where(ExternalDepartment.code == part.department_code)
    )
    return {
        "message_id": message_id(part),
        "contract": department.contract if department else "",
        "department": part.department_code,
        "bundle_reference": bundle.reference,
        "step": part.step_key,
        "step_name": part.name,
        "sent_at": utcnow().isoformat(timespec="seconds"),
        "data": data,
    }


def push(bundle: BundleApplication, part: BundlePart, results: dict[str, dict[str, Any]]) -> OutboxMessage:
    """Queue the exchange message of ``part`` for its department (delivered by the outbox worker)."""
    if part.id is None:
        db.session.flush()
    body = build_payload(bundle, part, results)
    msg = OutboxMessage(
        destination=part.department_code,
        payload=body,
        kind="handoff",
        title=part.name[:100],
        body="",
    )
    db.session.add(msg)
    db.session.flush()
    part.outbox_id = msg.id
    return msg
