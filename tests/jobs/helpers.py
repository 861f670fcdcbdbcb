"""Applications written directly at a chosen moment (core.clock.travel), with stored files."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from applications.models import Application, ApplicationDocument, StatusEvent, TrustLevel, WalletDocument
from applications.workflow.states import State
from catalog.queries import catalog
from core.clock import travel
from core.db import db
from core.storage import get_storage
from tests.clerk.helpers import PS_ITEM, citizen, insert_submitted


def stored_file(data: bytes | None = None) -> str:
    return get_storage().save(data or secrets.token_bytes(32), suffix=".jpg")


def file_exists(key: str) -> bool:
    try:
        get_storage().open(key)
    except FileNotFoundError:
        return False
    return True


def document(app_id: int, requirement: int = 0, key: str | None = None, name: str = "居民身份证") -> str:
    key = key or stored_file()
    db.session.add(
        ApplicationDocument(
            application_id=app_id,
            requirement=requirement,
            requirement_name=name,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=32,
            sha256=hashlib.sha256(key.encode()).hexdigest(),
            display_name="photo.jpg",
        )
    )
    db.session.flush()
    return key


def wallet_copy(key: str) -> None:
    db.session.add(
        WalletDocument(
            owner_id=citizen().id,
            doc_type="居民身份证",
            trust_level=TrustLevel.C,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=32,
            sha256=hashlib.sha256(key.encode()).hexdigest(),
            display_name="photo.jpg",
        )
    )
    db.session.flush()


def draft_at(moment: datetime) -> int:
    """A draft last changed at ``moment``."""
    item = catalog().items[PS_ITEM]
    with travel(moment):
        app = Application(
            start_token=secrets.token_urlsafe(16),
            applicant_id=citizen().id,
            item_id=item.id,
            version_id=item.version_id,
            state=State.DRAFT,
        )
        db.session.add(app)
        db.session.flush()
    return app.id


def closed_at(moment: datetime, state: State = State.APPROVED) -> int:
    """An application that entered ``state`` (closed) at ``moment``."""
    with travel(moment):
        extra = {"completed_at": moment} if state in (State.APPROVED, State.REFUSED) else {}
        (app_id,) = insert_submitted(1, state=state, submitted_at=moment, **extra)
    return app_id


def open_application(moment: datetime, state: State = State.ACCEPTED, **columns) -> int:
    with travel(moment):
        (app_id,) = insert_submitted(1, state=state, submitted_at=moment, **columns)
    return app_id


def add_event(app_id: int, to_state: State, moment: datetime, action: str = "x") -> None:
    db.session.add(StatusEvent(application_id=app_id, to_state=to_state.value, action=action, at=moment))
    db.session.flush()
