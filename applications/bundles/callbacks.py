"""A department's callback on a hand-off: checked, then applied to the bundle part (in the caller's
transaction; the view commits). The HTTP side — signature, timestamp window, status codes — is in
:mod:`applications.bundles.exchange`; the body's shape is :class:`contracts.CallbackBody`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from applications.bundles import progress
from applications.bundles.contracts import CallbackBody, check_result
from applications.bundles.models import BundlePart, PartKind, PartStatus
from catalog.models import ExternalDepartment
from core import audit
from core.db import db


class UnknownMessage(LookupError):
    """No hand-off of this department has this message id (another department's answers the same)."""


@dataclass(frozen=True)
class Outcome:
    part: BundlePart
    changed: bool


def part_for(department: ExternalDepartment, message_id: str) -> BundlePart:
    """The hand-off part ``message_id`` (``handoff:<part id>``) names, if it is this department's and
    was pushed; raises :class:`UnknownMessage` otherwise."""
    try:
        part_id = int(message_id.split(":", 1)[1])
    except (IndexError, ValueError):
        raise UnknownMessage(message_id) from None
    part = db.session.scalar(
        select(BundlePart).where(
            BundlePart.id == part_id,
            BundlePart.kind == PartKind.HANDOFF,
            BundlePart.department_code == department.code,
        )
    )
    if part is None or part.outbox_id is None:  # a waiting step was never sent: nothing to answer
        raise UnknownMessage(message_id)
    progress.lock(part.bundle_application_id)  # and reloads the part: a concurrent repeat is seen
    return part


def apply(department: ExternalDepartment, body: CallbackBody) -> Outcome:
    """Apply the callback: ``received`` → 已接收, ``done`` → 已办结 with the result (starts what waited
    for it, may complete the bundle), ``returned`` → 退回 (what waits for it stays waiting). A repeat,
    or a report on a step that already ended, changes nothing. Raises :class:`UnknownMessage` and
    :class:`contracts.ResultProblem`; audits every callback, changed or not."""
    part = part_for(department, body.message_id)
    result = check_result(department.contract, body)
    before = (part.status, part.external_ref)
    started: list[BundlePart] = []
    if body.status == "received":
        progress.part_received(part, external_ref=body.external_ref, note=body.note)
    elif body.status == "done":
        if body.external_ref and part.status not in progress.FINAL:
            part.external_ref = body.external_ref[:64]
        started = progress.part_finished(part, result, note=body.note)
    else:
        if body.external_ref and part.status not in progress.FINAL:
            part.external_ref = body.external_ref[:64]
        progress.part_returned(part, note=body.note)
    changed = (part.status, part.external_ref) != before
    audit.record(
        "bundle.callback",
        object_type="bundle_application",
        object_id=part.bundle_application_id,
        details={
            "department": department.code,
            "message_id": body.message_id,
            "status": body.status,
            "step": part.step_key,
            "changed": changed,
            "started": [p.step_key for p in started],
        },
    )
    return Outcome(part, changed)


def current_status(part: BundlePart) -> str:
    return PartStatus(part.status).value
