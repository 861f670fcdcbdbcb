"""The citizen's own data: the download (a zip built in a temporary file) and deleting the account.

Deleting (PIPL §47) erases or anonymises what identifies the person and keeps what the bureau's
statistics and audit trail are made of:

- the account row stays (applications, ratings and audit rows point at its id) with the name
  ``已注销用户``, the ID number and mobile replaced by placeholders made from the row's id — unique,
  so the unique constraints hold, never a real number, so the person's ID number and mobile are free
  to register again — the password hash replaced by a value no password matches, the account
  disabled and every session ended (a new session token);
- completed / refused / withdrawn applications stay as anonymised records (state, item, unit, dates,
  counts: what the roll-ups count) without the typed form, contact number, address and what the
  citizen wrote on the timeline (a withdrawal reason, correction replies); drafts —
  never sent to the bureau — are deleted;
- 一件事: a draft goes; a sent one keeps its parts, states and dates without the answers, the
  address, the hand-offs' bodies and the rating comment; its shared files go like the others;
- every uploaded file goes from the store (the caller deletes the returned keys after the commit),
  with its rows; the wallet (我的材料), the messages and pending SMS codes go;
- ratings keep their level and reasons (满意度 counts them) and lose the free-text comment;
- the audit trail is not touched: it is append-only and keeps actor ids; names and numbers in it
  were masked when written.

It is refused while an application is still being handled (submitted, accepted, awaiting or after a
补正), or a 一件事 still has a step with a unit or another department: the bureau would be handling a
case nobody can follow any more.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import zipfile
from typing import IO

from sqlalchemy import delete, select, update

from applications.bundles.models import BundleApplication, BundleDocument, BundlePart, BundleState, PartStatus
from applications.models import OPEN_STATES, Application, ApplicationDocument, StatusEvent, WalletDocument
from applications.ratings.models import Rating
from applications.rights.queries import Holdings
from applications.workflow.states import State
from auth.models import Assurance, LoginThrottle, User, VerificationCode
from auth.passwords import verify_password
from core import audit
from core.clock import now
from core.db import db
from core.errors import DomainError, FieldError
from core.i18n import N_
from core.outbox import OutboxMessage
from core.storage import Storage

DELETED_NAME = "已注销用户"
#: Stored as the password hash of a deleted account: not an argon2 hash, so no password verifies.
NO_PASSWORD = "!deleted"  # noqa: S105 - a marker, never a password


class OpenApplications(DomainError):
    """Deletion refused: applications still being handled (their references in ``references``)."""

    def __init__(self, references: list[str]) -> None:
        super().__init__(
            N_("您还有正在办理的申请，暂不能注销账号。请等待办结，或先撤回这些申请后再注销：")
            + "、".join(references)
        )
        self.references = references


# Download ----------------------------------------------------------------------------------------


def build_export(data: Holdings, storage: Storage) -> tuple[IO[bytes], int]:
    """Write ``data.json`` and every file the citizen gave into a zip in an anonymous temporary file
    (rewound, for streaming); audit the export. Returns the file and how many files went in. A
    file missing from the store is noted in data.json instead of failing the whole download."""
    exported_at = now()
    body = data.as_json(exported_at)
    missing: list[str] = []
    out = tempfile.TemporaryFile(prefix="mydata-")  # noqa: SIM115 - handed to the response, closed by it
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            added = 0
            for key, path in data.files:
                try:
                    content = storage.open(key)
                except (FileNotFoundError, ValueError):
                    missing.append(path)
                    continue
                zf.writestr(path, content)
                added += 1
            if missing:
                body["缺失的文件"] = missing
            zf.writestr("data.json", json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8"))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    audit.record(
        "account.data_export",
        object_type="user",
        object_id=data.user.id,
        details={"files": added, "missing_files": len(missing)},
    )
    return out, added


# Deletion ----------------------------------------------------------------------------------------


#: A part someone is still working on: a police unit (its application is open anyway) or a department.
_PART_IN_HAND = (PartStatus.STARTED, PartStatus.PUSHED, PartStatus.RECEIVED)


def open_bundle_references(user: User) -> list[str]:
    """References of the user's 一件事 with a part still in a unit's or a department's hands (parts that
    only wait behind a returned step are nobody's work)."""
    return list(
        db.session.scalars(
            select(BundleApplication.reference)
            .where(
                BundleApplication.applicant_id == user.id,
                BundleApplication.state == BundleState.SUBMITTED,
                BundleApplication.id.in_(
                    select(BundlePart.bundle_application_id).where(BundlePart.status.in_(_PART_IN_HAND))
                ),
            )
            .order_by(BundleApplication.submitted_at)
        )
    )


def open_references(user: User) -> list[str]:
    """References of the user's applications and 一件事 the bureau or a department is still handling."""
    apps = list(
        db.session.scalars(
            select(Application.reference)
            .where(Application.applicant_id == user.id, Application.state.in_(OPEN_STATES))
            .order_by(Application.submitted_at)
        )
    )
    return apps + open_bundle_references(user)


def delete_account(user: User, *, password: str) -> list[str]:
    """Erase the account's personal data (see the module docstring); return the storage keys to
    delete once the transaction has committed. Raises :class:`FieldError` for a wrong password and
    :class:`OpenApplications` while an application is open."""
    if user.deleted_at is not None:
        raise DomainError(N_("该账号已注销。"))
    if not verify_password(user.password_hash, password):
        raise FieldError("password", N_("登录密码不正确"))
    refs = open_references(user)
    if refs:
        raise OpenApplications(refs)

    apps = list(db.session.scalars(select(Application).where(Application.applicant_id == user.id)))
    app_ids = [a.id for a in apps]
    keys: set[str] = set()
    if app_ids:
        keys.update(
            db.session.scalars(
                select(ApplicationDocument.storage_key).where(ApplicationDocument.application_id.in_(app_ids))
            )
        )
    keys.update(
        db.session.scalars(select(WalletDocument.storage_key).where(WalletDocument.owner_id == user.id))
    )
    bundles = list(
        db.session.scalars(select(BundleApplication).where(BundleApplication.applicant_id == user.id))
    )
    keys.update(d.storage_key for b in bundles for d in b.documents)
    # a file another account's application still refers to stays (never the case today: keys are per upload)
    shared = (
        set(
            db.session.scalars(
                select(ApplicationDocument.storage_key)
                .join(Application, Application.id == ApplicationDocument.application_id)
                .where(ApplicationDocument.storage_key.in_(keys), Application.applicant_id != user.id)
            )
        )
        if keys
        else set()
    )
    keys -= shared

    drafts = [a for a in apps if a.state == State.DRAFT]
    kept = [a for a in apps if a.state != State.DRAFT]
    messages = db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.user_id == user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if app_ids:
        db.session.execute(
            delete(ApplicationDocument)
            .where(ApplicationDocument.application_id.in_(app_ids))
            .execution_options(synchronize_session=False)
        )
    wallet = db.session.execute(
        delete(WalletDocument)
        .where(WalletDocument.owner_id == user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    # 一件事: a draft (never sent) goes; a sent one keeps its parts and dates, not what was typed
    for b in bundles:
        if b.state == BundleState.DRAFT:
            db.session.delete(b)
            continue
        b.answers = {}
        b.delivery_address = {}
        b.rating_comment = ""
        for part in b.parts:
            part.payload = {}
    if bundles:
        db.session.execute(
            delete(BundleDocument)
            .where(BundleDocument.bundle_application_id.in_([b.id for b in bundles]))
            .execution_options(synchronize_session=False)
        )
    for a in drafts:
        db.session.delete(a)
    for a in kept:
        a.contact_mobile = None
        a.form_data = {}
        a.delivery_address = {}
    if kept:  # what the citizen wrote on the timeline (a withdrawal reason, correction replies)
        db.session.execute(
            update(StatusEvent)
            .where(StatusEvent.application_id.in_([a.id for a in kept]), StatusEvent.actor_id == user.id)
            .values(note="", details={})
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(Rating)
        .where(Rating.user_id == user.id)
        .values(comment="")
        .execution_options(synchronize_session=False)
    )
    if user.mobile:
        db.session.execute(delete(VerificationCode).where(VerificationCode.mobile_bidx == user.mobile_bidx))
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"user:{user.id}"))
    # before the row changes, so the row names the account as it was (masked, like every audit label)
    audit.record(
        "account.delete",
        object_type="user",
        object_id=user.id,
        actor=user,
        details={
            "applications_anonymised": len(kept),
            "drafts_deleted": len(drafts),
            "bundles_anonymised": sum(b.state != BundleState.DRAFT for b in bundles),
            "wallet_documents_deleted": wallet,
            "files_deleted": len(keys),
            "messages_deleted": messages,
        },
    )
    user.real_name = DELETED_NAME
    user.english_name = None
    user.id_number = f"DELETED{user.id:011d}"
    user.mobile = f"D{user.id:010d}"
    user.password_hash = NO_PASSWORD
    user.active = False
    user.must_change_password = False
    user.assurance = int(Assurance.L0)
    user.identity_source = None
    user.identity_verified_at = None
    user.last_login_at = None
    user.frozen_reason = None
    user.deleted_at = now()
    user.session_token = secrets.token_hex(16)
    db.session.flush()
    return sorted(keys)


def delete_files(storage: Storage, keys: list[str]) -> None:
    """After the commit: remove the files. One that cannot be removed now is left to the orphan
    sweeper (``flask storage sweep``), which deletes unreferenced files — and no row refers to these."""
    for key in keys:
        with contextlib.suppress(OSError, ValueError):
            storage.delete(key)
