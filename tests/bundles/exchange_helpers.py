"""Helper B's (exchange) test data: a submitted 一件事 built directly with the models, as the bundle
submit (helper A's) makes it — the bundle application, one part per step of the published flow, a
complete application per police item (submitted when it has no prerequisite, a held draft otherwise),
and the hand-offs without prerequisites pushed to the outbox — plus signing a department's callback."""

from __future__ import annotations

import itertools
import json
import secrets
from datetime import datetime

from sqlalchemy import select

from applications.bundles import progress
from applications.bundles.models import BundleApplication, BundlePart, BundleState, PartKind, PartStatus
from applications.clerk import operations as clerk_ops
from applications.models import Application, ApplicationDocument
from applications.submission.operations import check_complete, start_application
from applications.workflow.states import State
from auth.models import Role, Unit, User
from catalog import bundle_spec
from catalog.guide import build_guide
from catalog.models import Bundle, BundleVersion, ExternalDepartment
from catalog.queries import catalog
from core.db import db, utcnow
from core.outbox import canonical_body, sign
from tests.auth.helpers import make_id_number
from tests.clerk.helpers import citizen

#: 出生一件事: hukou (police) · vaccination → wsjk · insurance → ybj after hukou · sscard → rsj after both
BIRTH = "LJ-YJS-001"
CAR = "LJ-YJS-003"  # 新车上牌一件事: tax → tax · temp_plate (police) · registration (police) after tax

_seq = itertools.count(1)

SHARED = {
    BIRTH: {
        "baby_name": "张小宝",
        "birth_date": "2026-11-20",
        "hospital": "临江市妇幼保健院",
        "mobile": "13912345678",
        "mail_address": "东城区滨江路8号3单元",
    },
    CAR: {
        "vin": "LSVAU2180N2123456",
        "mobile": "13912345678",
        "mail_address": "东城区滨江路8号",
        "price": "158000",
    },
}
SITUATIONS = {BIRTH: {"marriage": "married", "follow": "father"}, CAR: {"origin": "domestic"}}


def _value(f, shared: dict) -> object:
    if f.type == "date":
        return "2026-11-20"
    if f.type == "mobile":
        return "13912345678"
    if f.type == "id_number":
        return make_id_number()
    if f.type == "select":
        return f.options[0] if f.options else "是"
    if f.type == "checkbox":
        return True
    if f.type == "address":
        return "东城区滨江路8号3单元"
    return "测试内容"


def _item_application(bundle: BundleApplication, step, applicant: User, defn) -> Application:
    """The complete application of an item step (a draft; the caller submits or holds it)."""
    item = catalog().items[step.item]
    answers = bundle.answers
    situation_answers = {
        key: bundle_spec.resolve(
            src if src.startswith("const:") else f"situation.{src}",
            shared=answers["shared"],
            situations=answers["situations"],
            results={},
        )
        for key, src in step.situation_map.items()
    }
    app = start_application(applicant, item, situation_answers, secrets.token_urlsafe(16))
    guide = build_guide(item, app.answers or {})
    data = {
        f.key: bundle_spec.resolve(
            src, shared=answers["shared"], situations=answers["situations"], results={}
        )
        for f in guide.fields
        for key, src in step.field_map.items()
        if key == f.key
    }
    for f in guide.fields:
        if data.get(f.key) in (None, ""):
            data[f.key] = _value(f, answers["shared"])
    app.form_data = data
    app.district = "东城区"
    app.contact_mobile = "13912345678"
    delivery = next((d for d in ("counter", "ecert", "mail") if d in item.delivery), item.delivery[0])
    app.delivery_method = delivery
    if delivery == "mail":
        app.delivery_address = {
            "recipient": "张晓明",
            "mobile": "13912345678",
            "district": "东城区",
            "address": "滨江路8号3单元",
        }
    for d in guide.to_bring:
        app.documents.append(
            ApplicationDocument(
                requirement=d.position,
                requirement_name=d.name,
                storage_key=f"test/{secrets.token_hex(8)}",
                kind="pdf",
                mimetype="application/pdf",
                size=100,
                sha256=secrets.token_hex(32),
                display_name=f"{d.name}.pdf",
            )
        )
    db.session.flush()
    problems = check_complete(app, item)
    assert problems == [], problems
    return app


def submitted_bundle(code: str = BIRTH, applicant: User | None = None) -> BundleApplication:
    """A submitted bundle of the published flow of ``code`` (flushed, not committed): what A's submit
    makes. Items without prerequisites are submitted and routed; hand-offs without prerequisites are
    pushed (an outbox row each)."""
    applicant = applicant or citizen()
    catalog_bundle = db.session.scalar(select(Bundle).where(Bundle.code == code))
    version = db.session.scalar(
        select(BundleVersion).where(
            BundleVersion.bundle_id == catalog_bundle.id, BundleVersion.state == "published"
        )
    )
    defn = bundle_spec.parse(version.definition)
    n = next(_seq)
    bundle = BundleApplication(
        reference=f"YJ2026120{n:08d}"[:24],
        start_token=secrets.token_urlsafe(16),
        applicant_id=applicant.id,
        bundle_id=catalog_bundle.id,
        bundle_version_id=version.id,
        state=BundleState.SUBMITTED,
        answers={"shared": dict(SHARED[code]), "situations": dict(SITUATIONS[code]), "items": {}},
        district="东城区",
        delivery_method="mail",
        submitted_at=utcnow(),
    )
    db.session.add(bundle)
    db.session.flush()
    for position, step in enumerate(defn.steps):
        part = BundlePart(
            bundle_application_id=bundle.id,
            step_key=step.key,
            position=position,
            kind=PartKind(step.kind),
            name=step.name,
            item_code=getattr(step, "item", None),
            department_code=getattr(step, "department", None),
            depends_on=list(step.depends_on),
            payload={"payload_map": dict(step.payload_map)} if step.kind == "handoff" else {},
        )
        if step.kind == "item":
            part.application_id = _item_application(bundle, step, applicant, defn).id
        bundle.parts.append(part)
    db.session.flush()
    progress.start_ready(bundle)
    db.session.flush()
    return bundle


def part(bundle_id: int, step: str) -> BundlePart:
    return db.session.scalar(
        select(BundlePart).where(BundlePart.bundle_application_id == bundle_id, BundlePart.step_key == step)
    )


def clerk_of(app: Application) -> User:
    """A clerk of the unit ``app`` is with."""
    return db.session.scalar(
        select(User)
        .join(User.units)
        .where(Unit.id == app.unit_id, User.role == Role.CLERK.value, User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def approve_item(app: Application) -> None:
    """A clerk of its unit accepts and approves ``app`` (窗口领取 when it can), through the real
    operations (flushed, not committed)."""
    clerk = clerk_of(app)
    app.claimed_by_id = clerk.id
    clerk_ops.accept(app, clerk)
    options = catalog().items[app_item_code(app)].delivery
    delivery = next((d for d in ("counter", "mail", "ecert") if d in options), options[0])
    clerk_ops.approve(app, clerk, delivery=delivery, carrier="中国邮政", tracking="1190000000001")
    assert app.state == State.APPROVED


def app_item_code(app: Application) -> str:
    from applications.submission.pinned import pinned_item

    return pinned_item(app).code


def department(code: str) -> ExternalDepartment:
    return db.session.scalar(select(ExternalDepartment).where(ExternalDepartment.code == code))


def signed(
    secret: bytes, body: dict, *, at: datetime | None = None, raw: bytes | None = None
) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a callback signed with ``secret``."""
    raw = canonical_body(body) if raw is None else raw
    stamp = str(int((at or utcnow()).timestamp()))
    return raw, {
        "Content-Type": "application/json",
        "X-Timestamp": stamp,
        "X-Signature": sign(secret, stamp, raw),
    }


def dumps(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def statuses(bundle_id: int) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.scalars(select(BundlePart).where(BundlePart.bundle_application_id == bundle_id))
    return {p.step_key: p.status.value for p in rows}


__all__ = ["PartStatus"]
