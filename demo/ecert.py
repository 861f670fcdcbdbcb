"""Demo 电子证照: the demo citizen (13800000001) applies for a few items that issue e-certificates and
the unit's demo clerk completes them with 电子证照 delivery — the real path (submit, claim, accept,
approve), so the certificates are signed, registered and in 我的材料 like any other. Also the demo
免提交 rules. Idempotent: an item whose certificate the citizen already holds is skipped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from applications.clerk import operations as clerk_ops
from applications.documents.uploads import clean_upload
from applications.ecert.models import Certificate, DocumentSource
from applications.submission import operations as ops
from auth.models import Role, User, user_units
from auth.operations import find_citizen_by_mobile
from catalog.guide import build_guide
from catalog.queries import catalog
from core.clock import local_today
from core.db import db
from core.storage import Storage

DEMO_CITIZEN_MOBILE = "13800000001"
#: items whose results the demo citizen gets as e-certificates
DEMO_ITEMS = ("LJ-HJ-021", "LJ-CJ-011", "LJ-CJ-007")
#: catalog document → certificate types that replace it (免提交)
DEMO_SOURCES = (
    ("原机动车驾驶证", "机动车驾驶证"),
    ("机动车行驶证", "机动车行驶证"),
)


def _pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _value(f, user: User, district: str) -> Any:
    match f.type:
        case "mobile":
            return user.mobile
        case "id_number":
            return user.id_number
        case "address":
            return f"{district}解放路100号"
        case "select":
            return f.options[0] if f.options else ""
        case "date":
            return (local_today() + timedelta(days=14)).isoformat()
        case "checkbox":
            return True
        case "textarea":
            return "申请办理。"
        case _:
            return user.real_name if "姓名" in f.label else f"{f.label[:10]}001"


def ensure_demo_sources() -> int:
    added = 0
    for doc_name, cert_type in DEMO_SOURCES:
        exists = db.session.scalar(
            select(DocumentSource.id).where(
                DocumentSource.doc_name == doc_name, DocumentSource.cert_type == cert_type
            )
        )
        if exists is None:
            db.session.add(DocumentSource(doc_name=doc_name, cert_type=cert_type))
            added += 1
    db.session.flush()
    return added


def ensure_demo_certificates(storage: Storage) -> list[Certificate]:
    """Issue the demo citizen's certificates that are missing; the new ones."""
    citizen = find_citizen_by_mobile(DEMO_CITIZEN_MOBILE)  # auth's lookup (mobiles become ciphertext)
    if citizen is None:
        return []
    held = set(db.session.scalars(select(Certificate.item_code).where(Certificate.holder_id == citizen.id)))
    issued = []
    items = catalog().items
    for code in DEMO_ITEMS:
        item = items.get(code)
        if item is None or code in held or "ecert" not in item.delivery:
            continue
        answers = {
            s.key: next((o.value for o in s.options if o.value != "proxy"), s.options[0].value)
            for s in item.situations
        }
        app = ops.start_application(citizen, item, answers, f"demo-ecert-{code}")
        guide = build_guide(item, app.answers)
        district = "东城区"
        ops.save_form(
            app,
            {
                "district": district,
                "contact_mobile": citizen.mobile,
                "delivery_method": "ecert",
                "fields": {f.key: _value(f, citizen, district) for f in guide.fields},
            },
        )
        for doc in guide.to_bring:
            if doc.requirement == "required":
                kind = "pdf" if "pdf" in doc.accept else None
                if kind is None:
                    continue
                ops.attach_document(
                    app, doc.position, clean_upload(f"{doc.name[:20]}.pdf", _pdf()), storage, item
                )
        ops.submit(app, citizen)
        clerk = db.session.scalar(
            select(User)
            .join(user_units, user_units.c.user_id == User.id)
            .where(user_units.c.unit_id == app.unit_id, User.role == Role.CLERK.value, User.active.is_(True))
            .order_by(User.id)
        )
        if clerk is None:
            continue
        clerk_ops.claim(app, clerk)
        clerk_ops.accept(app, clerk)
        clerk_ops.approve(app, clerk, delivery="ecert", storage=storage)
        issued.append(db.session.scalar(select(Certificate).where(Certificate.application_id == app.id)))
    return issued
