"""一件事 in the demo history: bundle applications filled in and submitted through the citizen's own
operations (:mod:`applications.bundles.operations`: the one form, the shared documents, the real
fan-out), then moved on by the real operations — the clerk's claim / accept / approve and the
departments' reports through ``progress``.

:func:`build_bundle` is also what the bundle tests use to get a submitted bundle without the apply
pages. :func:`ensure_demo_bundles` gives the demo citizen one 出生一件事 in progress and one completed
新车上牌一件事, and a few simulated citizens bundles of both kinds (idempotent: nothing is added when
the demo citizen already has bundles).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

import click
from sqlalchemy import func, select, update

from applications.bundles import operations as bundle_ops
from applications.bundles import progress
from applications.bundles.models import BundleApplication, BundlePart
from applications.clerk import operations as clerk_ops
from applications.models import Application
from auth.cli import demo
from auth.models import Role, Unit, User
from catalog import bundle_spec
from catalog.models import Bundle, BundleVersion, VersionState
from core import clock
from core.clock import SHANGHAI, local_today
from core.db import db
from core.outbox import OutboxMessage
from core.storage import Storage, get_storage
from core.transaction import commit

BIRTH = "LJ-YJS-001"
NEW_CAR = "LJ-YJS-003"

#: Answers of the two demo flows (shared questions and situations).
DEMO_ANSWERS: dict[str, dict[str, Any]] = {
    BIRTH: {
        "shared": {
            "baby_name": "张小宝",
            "birth_date": "2026-11-20",
            "hospital": "市妇幼保健院",
            "mobile": "13800000001",
            "mail_address": "东城区解放路100号1幢201室",
        },
        "situations": {"marriage": "married", "follow": "father"},
    },
    NEW_CAR: {
        "shared": {
            "vin": "LSVAU2180N2123456",
            "mobile": "13800000001",
            "mail_address": "东城区解放路100号1幢201室",
            "price": "158000",
        },
        "situations": {"origin": "domestic"},
    },
}


def published_definition(code: str) -> tuple[Bundle, BundleVersion, bundle_spec.Definition]:
    """The bundle ``code``, its published flow version and the parsed definition."""
    bundle = db.session.scalar(select(Bundle).where(Bundle.code == code))
    if bundle is None:
        raise LookupError(code)
    version = db.session.scalar(
        select(BundleVersion).where(
            BundleVersion.bundle_id == bundle.id, BundleVersion.state == VersionState.PUBLISHED
        )
    )
    if version is None:
        raise LookupError(f"{code} has no published flow")
    return bundle, version, bundle_spec.parse(version.definition)


def _field_value(field: Any, mobile: str) -> Any:
    match field.type:
        case "date":
            return local_today()
        case "select":
            return field.options[0] if field.options else ""
        case "mobile":
            return mobile
        case "checkbox":
            return True
        case "id_number":
            return "110101199003078515"
        case _:
            return "演示：" + field.label


def _demo_file(accept: tuple[str, ...]):
    """A small real PDF (or JPEG), cleaned exactly like a citizen's upload."""
    import io

    from PIL import Image

    from applications.documents.uploads import clean_upload

    if "pdf" in accept or not accept:
        from pypdf import PdfWriter

        writer = PdfWriter()
        writer.add_blank_page(width=595, height=842)
        buf = io.BytesIO()
        writer.write(buf)
        return clean_upload("材料.pdf", buf.getvalue(), ("pdf",))
    buf = io.BytesIO()
    Image.new("RGB", (240, 320), (230, 230, 230)).save(buf, "JPEG", quality=70)
    return clean_upload("照片.jpg", buf.getvalue(), ("jpg",))


def build_bundle(
    applicant: User,
    code: str,
    storage: Storage,
    answers: dict[str, Any] | None = None,
    district: str = "东城区",
) -> BundleApplication:
    """A submitted bundle application of ``code`` for ``applicant`` (flushed, not committed), made
    through the citizen's own operations: start, the shared answers and situations, each item's own
    questions, delivery, every shared document that applies, then the real submit (fan-out)."""
    answers = answers or DEMO_ANSWERS[code]
    shared = dict(answers.get("shared") or {})
    mobile = str(shared.get("mobile") or applicant.mobile or "13800000001")
    ba = bundle_ops.start_bundle(applicant, code, secrets.token_urlsafe(16))
    db.session.flush()
    bundle_ops.save_shared(ba, district=district, contact_mobile=mobile, shared=shared)
    bundle_ops.save_situations(ba, dict(answers.get("situations") or {}))
    steps = bundle_ops.item_steps(ba)
    bundle_ops.save_item_answers(
        ba, {s.step.key: {f.key: _field_value(f, mobile) for f in s.own_fields} for s in steps}
    )
    methods = bundle_ops.delivery_methods(steps)
    method = "mail" if "mail" in methods else methods[0]
    bundle_ops.save_delivery(
        ba,
        method,
        {
            "recipient": applicant.real_name or "张晓明",
            "mobile": mobile,
            "district": district,
            "address": str(shared.get("mail_address") or "解放路100号"),
        },
    )
    defn = bundle_ops.definition_of(ba)
    for need in bundle_ops.with_definition_documents(bundle_ops.document_needs(steps), defn):
        if need.fetched or not need.steps:
            continue
        bundle_ops.attach_bundle_document(ba, need.doc.key, _demo_file(need.accept), storage)
    bundle_ops.submit_bundle(ba, applicant)
    db.session.flush()
    return ba


def part(ba: BundleApplication, step_key: str) -> BundlePart:
    return next(p for p in ba.parts if p.step_key == step_key)


def _clerk_of(app: Application) -> User:
    clerk = db.session.scalar(
        select(User)
        .join(User.units)
        .where(Unit.id == app.unit_id, User.role == Role.CLERK)
        .order_by(User.id)
        .limit(1)
    )
    if clerk is None:
        raise LookupError(f"no clerk for unit {app.unit_id}")
    return clerk


def approve_item(ba: BundleApplication, step_key: str) -> list[BundlePart]:
    """The unit's clerk claims, accepts and approves the step's application; its part is done."""
    app = db.session.get(Application, part(ba, step_key).application_id)
    clerk = _clerk_of(app)
    clerk_ops.claim(app, clerk)
    clerk_ops.accept(app, clerk)
    clerk_ops.approve(app, clerk, delivery="mail", carrier="EMS", tracking="9" + secrets.token_hex(5))
    db.session.flush()
    return progress.application_closed(app)


def finish_handoff(ba: BundleApplication, step_key: str, result: dict[str, Any] | None = None) -> None:
    """The department acknowledged and then reported the step done."""
    p = part(ba, step_key)
    progress.part_received(p, external_ref="EXT" + secrets.token_hex(4))
    progress.part_finished(p, result or {})
    db.session.flush()


def complete_new_car(ba: BundleApplication) -> None:
    """Every part of a 新车上牌一件事 done: tax paid, temporary plate and registration approved."""
    finish_handoff(ba, "tax", {"tax_number": "SW" + secrets.token_hex(4)})
    approve_item(ba, "temp_plate")
    approve_item(ba, "registration")


def complete_birth(ba: BundleApplication) -> None:
    """Every part of a 出生一件事 done."""
    finish_handoff(ba, "vaccination")
    approve_item(ba, "hukou")
    finish_handoff(ba, "insurance", {"insurance_number": "YB" + secrets.token_hex(4)})
    finish_handoff(ba, "sscard")


def ensure_demo_bundles(storage: Storage, others: list[User] | None = None, days: int = 60) -> int:
    """The demo citizen's two bundles (one 出生一件事 in progress, one completed 新车上牌一件事) and,
    for ``others``, a short history of both kinds spread over the last ``days`` days (some complete,
    some in progress). Idempotent: returns 0 and adds nothing when the demo citizen has bundles."""
    demo_citizen = db.session.scalar(select(User).where(User.mobile_is("13800000001")))
    if demo_citizen is None:
        return 0
    has = db.session.scalar(
        select(BundleApplication.id).where(BundleApplication.applicant_id == demo_citizen.id).limit(1)
    )
    if has is not None:
        return 0
    made = 0
    today = local_today()
    before = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
    for i, who in enumerate(others or []):
        code = BIRTH if i % 2 == 0 else NEW_CAR
        start = today - timedelta(days=10 + (i * 7) % max(days - 10, 1))  # finished ≥ 5 days ago
        made += _history_bundle(who, code, storage, start, complete=i % 3 != 2)
    made += _history_bundle(demo_citizen, NEW_CAR, storage, today - timedelta(days=20), complete=True)
    with clock.travel(clock.now() - timedelta(days=2)):
        ba = build_bundle(demo_citizen, BIRTH, storage)
        finish_handoff(ba, "vaccination")
    made += 1
    # a simulated past sends nothing today: its SMS and exchange messages count as delivered then
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id > before, OutboxMessage.sent_at.is_(None))
        .values(sent_at=OutboxMessage.created_at)
        .execution_options(synchronize_session=False)
    )
    return made


def _history_bundle(who: User, code: str, storage: Storage, start: date, complete: bool) -> int:
    """One bundle submitted on ``start`` at 9:30 (local), its parts finished over the next days."""
    at = datetime(start.year, start.month, start.day, 9, 30, tzinfo=SHANGHAI)
    with clock.travel(at):
        ba = build_bundle(who, code, storage, district="东城区")
    with clock.travel(at + timedelta(days=1, hours=2)):
        first = "tax" if code == NEW_CAR else "vaccination"
        finish_handoff(ba, first)
    if not complete:
        return 1
    with clock.travel(at + timedelta(days=3, hours=5)):
        if code == NEW_CAR:
            approve_item(ba, "temp_plate")
            approve_item(ba, "registration")
        else:
            approve_item(ba, "hukou")
            finish_handoff(ba, "insurance", {"insurance_number": "YB" + secrets.token_hex(4)})
    if code == BIRTH:
        with clock.travel(at + timedelta(days=5, hours=3)):
            finish_handoff(ba, "sscard")
    return 1


@demo.command("bundles")
@click.option(
    "--citizens", default=8, show_default=True, type=click.IntRange(0, 200), help="模拟群众中办一件事的人数"
)
def demo_bundles_command(citizens: int) -> None:
    """一件事 in the demo history (idempotent): the demo citizen's 出生一件事 in progress and completed
    新车上牌一件事, and bundles of a few simulated citizens (run after ``flask demo simulate``)."""
    try:
        published_definition(BIRTH)
        published_definition(NEW_CAR)
    except LookupError as exc:
        click.echo(f"一件事流程未发布（{exc}），跳过。先运行 flask demo load。", err=True)
        return
    demo_citizen = db.session.scalar(select(User.id).where(User.mobile_is("13800000001")))
    others = list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.CITIZEN, User.id != (demo_citizen or 0))
            .order_by(User.id)
            .limit(citizens)
        )
    )
    made = ensure_demo_bundles(get_storage(), others)
    commit()
    if made:
        click.echo(f"一件事：新增 {made} 件（演示群众：出生一件事办理中、新车上牌一件事已办结）")
    else:
        click.echo("一件事：演示群众已有一件事，跳过。")
