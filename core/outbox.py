"""The notification outbox (shared infrastructure): the table, SMS gateways and delivery; the in-site
message is the row itself.

Every citizen-visible change writes an :class:`OutboxMessage` in its own transaction
(:func:`applications.notify.send.notify`; an SMS code to a number, :mod:`auth.verification`). A
worker (``flask notify worker``, see :mod:`applications.notify.tasks`) calls :func:`deliver_pending`,
which works through the due rows one at a time:

1. **claim** — one transaction: pick the oldest due row (``FOR UPDATE OF outbox SKIP LOCKED`` on
   PostgreSQL, so concurrent workers pick different rows instead of queueing on one), then a conditional
   ``UPDATE … WHERE id = :id AND attempts = :seen AND <still due>`` that bumps ``attempts`` and moves
   ``next_attempt_at`` :data:`CLAIM_LEASE` into the future, with a rowcount check; commit. On SQLite the
   ``BEGIN IMMEDIATE`` of every write transaction (:mod:`core.db`) serialises the pick and the update.
   Once committed, no other worker sees the row as due until the lease runs out.
2. **send** — outside any transaction, to ``to_mobile`` or else the user's ``users.mobile``.
3. **record** — ``sent_at`` on success; on failure ``last_error`` (masked, truncated) and the next try
   after :func:`retry_delay` (30 s, 1 min, 2 min … capped at 1 h). One commit per message.

A row with no SMS text, or whose user has no mobile number, is marked delivered at once without a
gateway call: its in-site message is already in the 消息 inbox.

Guarantees: two workers never send the same message (the claim). A worker that dies between a
successful send and the ``sent_at`` commit leaves the lease behind, and the message is sent again when
the lease expires — delivery is at least once in a crash, exactly once otherwise. Keep the gateway's
own timeout well below :data:`CLAIM_LEASE`.

Giving up: after ``max_attempts`` failed attempts a message is no longer picked (``next_attempt_at`` is
cleared and ``last_error`` says why). It is **never deleted**: it stays in the citizen's inbox, and an
admin makes it due again with :func:`requeue_failed` (``flask notify requeue``).

Exchange messages (一件事 hand-offs to other departments): a row with ``destination`` set is delivered
the same way — claimed, sent, recorded, retried, given up, requeued — but through an
:class:`ExchangeGateway` with ``payload`` as its JSON body instead of as an SMS. ``deliver_pending``
takes them only when it is given an exchange gateway (:func:`get_exchange_gateway`); an SMS-only call
leaves them due. The gateway looks a department up through a directory the applications layer injects
(``app.extensions["exchange_directory"]``: code → :class:`Endpoint`), so core imports no feature
package. :class:`HttpExchangeGateway` POSTs the body signed with the department's secret;
:class:`FileExchangeReceiver` (development, a department without an ``endpoint_url``) records it as a
masked JSON line in ``<instance>/exchange/<department>.jsonl``. Both recognise a repeated
idempotency key (``outbox:<id>``), so a resend after a crash is seen once.

Held after a restore: a backup copies the unsent messages of its moment, some of which the old site
went on to send. ``flask restore`` (:mod:`core.backup`) therefore holds every unsent message
(:func:`hold_unsent`): its next try is put at :data:`HELD_UNTIL`, a date no worker reaches, and its
lease dropped. The in-site message stays in the inbox; an operator sends the held SMS on purpose with
``flask notify release-restored`` (:func:`release_held`). Only existing columns are used, so a backup
made by an older version is held the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    column,
    func,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import EncryptedJSON, EncryptedText
from core.db import UTCDateTime, db, utcnow
from core.masking import mask_mobile, mask_text, mask_value
from core.messages import compose
from core.transaction import commit

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=5)
#: The HTTP exchange gateway's timeout (connect and each read), well below :data:`CLAIM_LEASE`.
EXCHANGE_TIMEOUT = 15.0
#: The next try of a message held after a restore: never reached, so no worker picks it (:func:`hold_unsent`).
HELD_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
_ERROR_LENGTH = 300  # OutboxMessage.last_error is String(300)
#: The accounts table, by name: core sits below auth and reads only the mobile number from it.
_USERS = table("users", column("id"), column("mobile"))


class OutboxMessage(db.Model):
    """A notification written in the same transaction as the change it reports: an in-site message
    (for a user) and/or an SMS (to the user's mobile, or to ``to_mobile``)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: For an SMS to a number no account holds yet (a registration code): the number itself.
    to_mobile: Mapped[str | None] = mapped_column(EncryptedText("contact"))
    #: The worker holding the send lease (``--name`` of ``flask notify worker``): a restarted worker
    #: takes its own leases back at once instead of waiting for them to run out.
    leased_by: Mapped[str | None] = mapped_column(String(64))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    sms_text: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: An exchange message to another department (a 一件事 hand-off): the department's code. Such a row
    #: is delivered by the exchange gateway with ``payload`` as its JSON body, not as an SMS.
    destination: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("form"))

    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "next_attempt_at"),
        CheckConstraint(
            "user_id IS NOT NULL OR to_mobile IS NOT NULL OR destination IS NOT NULL",
            name="outbox_has_recipient",
        ),
    )


class Gateway(Protocol):
    """Where SMS go. ``send_sms`` returns when the message is accepted and raises on any failure.

    ``key`` is the idempotency key (``outbox:<id>``): a gateway that has accepted a key before must not
    send that message again — a worker killed between the send and its ``sent_at`` commit resends
    after a restart, and the key makes that resend harmless (exactly once)."""

    def send_sms(self, mobile: str, text: str, *, key: str = "") -> None: ...


class LogFileGateway:
    """The default backend: one JSON line per SMS appended to ``path`` (folder created on demand).

    The mobile number is masked, and ID/mobile numbers inside the text too: the file is a stand-in for a
    real gateway and must not become a list of citizens' numbers. Each line is one ``write`` on an
    ``O_APPEND`` descriptor followed by ``fsync``, so several worker processes can share the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: set[str] | None = None

    def _seen(self) -> set[str]:
        """The idempotency keys the file holds (read once per gateway object, then kept up to date)."""
        if self._keys is None:
            self._keys = set()
            if self.path.exists():
                with self.path.open(encoding="utf-8") as fh:
                    for line in fh:
                        with contextlib.suppress(ValueError):
                            key = json.loads(line).get("key")
                            if key:
                                self._keys.add(key)
        return self._keys

    def send_sms(self, mobile: str, text: str, *, key: str = "") -> None:
        self.append({"mobile": mask_mobile(mobile), "text": mask_text(text)}, key=key)

    def append(self, fields: dict[str, Any], *, key: str = "") -> bool:
        """Append one record (``at``, ``key`` and ``fields``, already masked); False when ``key`` was
        recorded before and nothing was written."""
        with self._lock:
            if key and key in self._seen():
                log.info("message %s was accepted before: not recorded again", key)
                return False
        record = {"at": utcnow().isoformat(timespec="seconds"), "key": key, **fields}
        data = memoryview((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            if key:
                self._seen().add(key)
        return True


def get_gateway(app: Flask | None = None) -> Gateway:
    """The gateway named by ``SMS_GATEWAY`` (``"log"``, the default: :class:`LogFileGateway` writing to
    ``SMS_LOG_PATH``, default ``<instance>/sms.log``). Raises ``ValueError`` for an unknown name."""
    if app is None:
        from flask import current_app

        app = current_app
    name = (app.config.get("SMS_GATEWAY") or "log").strip().lower()
    if name == "log":
        path = app.config.get("SMS_LOG_PATH") or (
            Path(app.config.get("INSTANCE_DIR") or app.instance_path) / "sms.log"
        )
        return LogFileGateway(path)
    raise ValueError(f"unknown SMS_GATEWAY {name!r} (known: 'log')")


# -- exchange messages to other departments ---------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where a department's messages go and the secret they are signed with (from the directory)."""

    code: str
    url: str  # empty: the development receiver records the message instead
    secret: bytes


#: code → the department's endpoint (None: unknown or inactive), injected by the applications layer
Directory = Callable[[str], "Endpoint | None"]


class ExchangeError(RuntimeError):
    """A department did not accept a message (recorded on the row and retried)."""


class ExchangeGateway(Protocol):
    """Where exchange messages go. ``post`` returns when the department accepted ``body`` and raises
    on any failure. ``key`` is the idempotency key: a message accepted before is not taken twice."""

    def post(self, department_code: str, body: dict[str, Any], *, key: str) -> None: ...


def canonical_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(secret: bytes, timestamp: str, raw: bytes) -> str:
    """``X-Signature``: hex HMAC-SHA256 of ``<timestamp>.<body bytes>`` under the department's secret
    (the same for outgoing messages and the department's callbacks)."""
    return hmac.new(secret, timestamp.encode("ascii") + b"." + raw, hashlib.sha256).hexdigest()


class FileExchangeReceiver:
    """The development receiver: one JSON line per message in ``<folder>/<department>.jsonl``, with
    ID and mobile numbers masked (like the SMS log); a key it holds already is not recorded again.
    It answers nothing: ``flask exchange simulate`` plays the department from these files."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._logs: dict[str, LogFileGateway] = {}
        self._lock = threading.Lock()

    def path(self, department_code: str) -> Path:
        safe = "".join(c for c in department_code if c.isalnum() or c in "-_") or "unknown"
        return self.folder / f"{safe}.jsonl"

    def post(self, department_code: str, body: dict[str, Any], *, key: str) -> None:
        with self._lock:
            log_file = self._logs.setdefault(department_code, LogFileGateway(self.path(department_code)))
        log_file.append({"department": department_code, "body": mask_value(body)}, key=key)


class HttpExchangeGateway:
    """POST the body as JSON to the department's ``endpoint_url``, signed: headers ``Idempotency-Key``,
    ``X-Timestamp`` (Unix seconds) and ``X-Signature`` (:func:`sign`). Any answer but 2xx, a timeout or
    a refused connection raises (the outbox retries with backoff). A department without an
    ``endpoint_url`` goes to ``receiver`` when one is given (development), else fails."""

    def __init__(
        self,
        directory: Directory,
        *,
        receiver: FileExchangeReceiver | None = None,
        timeout: float = EXCHANGE_TIMEOUT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.directory = directory
        self.receiver = receiver
        self.timeout = timeout
        self.clock = clock

    def post(self, department_code: str, body: dict[str, Any], *, key: str) -> None:
        endpoint = self.directory(department_code)
        if endpoint is None:
            raise ExchangeError(f"department {department_code!r} is unknown or inactive")
        if not endpoint.url:
            if self.receiver is None:
                raise ExchangeError(f"department {department_code!r} has no endpoint_url")
            self.receiver.post(department_code, body, key=key)
            return
        if not endpoint.url.lower().startswith(("http://", "https://")):
            raise ExchangeError(f"department {department_code!r}: endpoint_url is not http(s)")
        raw = canonical_body(body)
        timestamp = str(int(self.clock().timestamp()))
        request = urllib.request.Request(  # noqa: S310 - the admin-entered department URL, http(s) only
            endpoint.url,
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": key,
                "X-Timestamp": timestamp,
                "X-Signature": sign(endpoint.secret, timestamp, raw),
                "X-Department": department_code,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read(65536)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ExchangeError(f"{department_code}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ExchangeError(f"{department_code}: {type(exc).__name__}: {reason}") from None
        if not 200 <= status < 300:
            raise ExchangeError(f"{department_code}: HTTP {status}")


def get_exchange_gateway(app: Flask | None = None) -> ExchangeGateway:
    """The exchange gateway named by ``EXCHANGE_GATEWAY``: ``"auto"`` (the default: HTTP to departments
    with an ``endpoint_url``, the development receiver in ``EXCHANGE_DIR`` — default
    ``<instance>/exchange`` — for the others), ``"http"`` (HTTP only: a department without an address
    fails and is retried — production) or ``"file"`` (the receiver for every department). The department
    directory is ``app.extensions["exchange_directory"]``. Raises ``ValueError`` for an unknown name."""
    if app is None:
        from flask import current_app

        app = current_app
    name = (app.config.get("EXCHANGE_GATEWAY") or "auto").strip().lower()
    folder = app.config.get("EXCHANGE_DIR") or (
        Path(app.config.get("INSTANCE_DIR") or app.instance_path) / "exchange"
    )
    receiver = FileExchangeReceiver(folder)
    if name == "file":
        return receiver
    if name not in ("auto", "http"):
        raise ValueError(f"unknown EXCHANGE_GATEWAY {name!r} (known: 'auto', 'http', 'file')")
    directory = app.extensions.get("exchange_directory")
    if directory is None:
        raise ValueError("no exchange directory registered (app.extensions['exchange_directory'])")
    timeout = float(app.config.get("EXCHANGE_TIMEOUT") or EXCHANGE_TIMEOUT)
    return HttpExchangeGateway(directory, receiver=receiver if name == "auto" else None, timeout=timeout)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1-based): 30 s × 2^(attempts−1),
    capped at one hour — 30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min, 1 h, 1 h …"""
    exponent = min(max(attempts - 1, 0), 7)  # 30 s × 2^7 already passes the cap; no overflow
    return min(RETRY_BASE * 2**exponent, RETRY_CAP)


@dataclass(frozen=True)
class _Claim:
    id: int
    attempt: int  # attempts after this claim: the fencing value for the failure update
    mobile: str | None
    text: str
    destination: str | None = None  # an exchange message: the department's code
    payload: dict[str, Any] | None = None


_LOST = _Claim(0, 0, None, "")  # sentinel: another worker got the row between our pick and our update


def reclaim_leases(worker: str, now: datetime | None = None) -> int:
    """Make the messages ``worker`` leased and never finished due again at once (it was killed in the
    middle of a batch and has just restarted under the same name). Safe because the gateway knows
    every idempotency key it accepted: a message sent before the kill is not sent twice. Commits;
    returns how many."""
    try:
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.leased_by == worker, OutboxMessage.sent_at.is_(None))
            .values(next_attempt_at=now or utcnow(), leased_by=None)
            .execution_options(synchronize_session=False)
        )
        commit()
    except Exception:
        db.session.rollback()
        raise
    return result.rowcount


def deliver_pending(
    gateway: Gateway,
    *,
    now: datetime | None = None,
    worker: str | None = None,
    batch: int = 100,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    should_stop: Callable[[], bool] | None = None,
    exchange: ExchangeGateway | None = None,
) -> dict[str, int]:
    """Deliver up to ``batch`` due outbox messages through ``gateway``; return
    ``{"sent": n, "failed": n, "skipped": n}`` (skipped = marked delivered without an SMS).

    With ``exchange``, exchange messages (``destination`` set) are delivered too, through it, with the
    same claim, retries and giving up; without it they are left alone (still due).

    Due means ``sent_at IS NULL``, ``attempts < max_attempts`` and ``next_attempt_at`` unset or
    ``<= now`` (``now`` defaults to the clock, read per message; tests pass a fixed time). Commits
    ``db.session`` once per claim and once per result — call it from a worker or CLI command, never
    inside a request's transaction. ``should_stop()`` is checked between messages so a worker can
    shut down promptly. Gateway errors are recorded on the row, never raised; database errors are
    rolled back and raised.
    """
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for _ in range(batch):
        if should_stop is not None and should_stop():
            break
        claim = _claim_next(now or utcnow(), max_attempts, postgres, worker, exchange=exchange is not None)
        if claim is None:
            break
        if claim is _LOST:
            continue
        if claim.destination is None and (not claim.mobile or not claim.text.strip()):
            counts["skipped"] += 1
            continue
        try:
            if claim.destination is not None and exchange is not None:
                exchange.post(claim.destination, claim.payload or {}, key=f"outbox:{claim.id}")
            else:
                gateway.send_sms(claim.mobile or "", claim.text, key=f"outbox:{claim.id}")
        except Exception as exc:  # noqa: BLE001 - any gateway failure is recorded and retried
            _record_failure(claim, exc, now or utcnow(), max_attempts)
            counts["failed"] += 1
        else:
            _mark_sent(claim, now or utcnow())
            counts["sent"] += 1
    return counts


def _due(at: datetime, max_attempts: int, exchange: bool = False) -> tuple:
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < max_attempts,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= at),
        *(() if exchange else (OutboxMessage.destination.is_(None),)),
    )


def _claim_next(
    at: datetime, max_attempts: int, postgres: bool, worker: str | None = None, *, exchange: bool = False
) -> _Claim | None:
    """Claim the oldest due message and commit; ``None`` when nothing is due, ``_LOST`` on a lost race.

    A message that needs no SMS is marked delivered in the same transaction instead of being leased;
    an exchange message (only picked with ``exchange``) is always leased.
    """
    due = _due(at, max_attempts, exchange)
    pick = (
        select(
            OutboxMessage.id,
            OutboxMessage.attempts,
            OutboxMessage.sms_text,
            OutboxMessage.destination,
            OutboxMessage.payload,
            func.coalesce(OutboxMessage.to_mobile, _USERS.c.mobile).label("mobile"),
        )
        .outerjoin(_USERS, _USERS.c.id == OutboxMessage.user_id)
        .where(*due)
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if postgres:
        pick = pick.with_for_update(of=OutboxMessage, skip_locked=True)
    try:
        row = db.session.execute(pick).one_or_none()
        if row is None:
            db.session.rollback()
            return None
        text = row.sms_text or ""
        # a deleted account's placeholder (not digits, see applications.rights) is no number to text
        needs_sms = bool(row.mobile) and row.mobile.isdigit() and bool(text.strip())
        needs_send = needs_sms or row.destination is not None
        values: dict = (
            {"attempts": OutboxMessage.attempts + 1, "next_attempt_at": at + CLAIM_LEASE, "leased_by": worker}
            if needs_send
            else {"sent_at": at}
        )
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.attempts == row.attempts, *due)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            db.session.rollback()
            return _LOST
        commit()
    except Exception:
        db.session.rollback()
        raise
    if row.destination is not None:
        return _Claim(row.id, row.attempts + 1, None, "", row.destination, row.payload)
    return _Claim(row.id, row.attempts + 1, row.mobile if needs_sms else None, text)


def _mark_sent(claim: _Claim, at: datetime) -> None:
    """Record the delivery. An SMS to a bare number (a verification code) keeps neither the code nor
    the full number once it is sent: the text is cleared and the number masked."""
    try:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.sent_at.is_(None))
            .values(sent_at=at, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.to_mobile.is_not(None))
            .values(sms_text="", to_mobile=mask_mobile(claim.mobile or ""))
            .execution_options(synchronize_session=False)
        )
        commit()
    except Exception:
        db.session.rollback()
        raise


def _record_failure(claim: _Claim, exc: Exception, at: datetime, max_attempts: int) -> None:
    """Store the (masked, truncated) error and schedule the retry — or give up, keeping the row.

    The ``attempts`` check fences off a worker whose lease expired and whose message was claimed again.
    """
    error = mask_text(f"{type(exc).__name__}: {exc}")[:_ERROR_LENGTH]
    gave_up = claim.attempt >= max_attempts
    next_at = None if gave_up else at + retry_delay(claim.attempt)
    try:
        db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claim.id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.attempts == claim.attempt,
            )
            .values(last_error=error, next_attempt_at=next_at)
            .execution_options(synchronize_session=False)
        )
        commit()
    except Exception:
        db.session.rollback()
        raise
    if gave_up:
        log.error("outbox message %s not delivered after %d attempts: %s", claim.id, claim.attempt, error)
    else:
        log.warning(
            "outbox message %s attempt %d failed, retry at %s: %s", claim.id, claim.attempt, next_at, error
        )


def requeue_failed(
    message_ids: Iterable[int] | None = None, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> int:
    """Make messages that gave up (``attempts >= max_attempts``, not sent, not scheduled) due again by
    resetting ``attempts``; only those in ``message_ids`` when given. Returns how many; flushes, the
    caller commits. A message that is in flight or waiting for its retry is left alone (its
    ``next_attempt_at`` is set), so this can never cause a second send."""
    stmt = update(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts >= max_attempts,
        OutboxMessage.next_attempt_at.is_(None),
    )
    if message_ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(message_ids)))
    result = db.session.execute(
        stmt.values(attempts=0, next_attempt_at=None).execution_options(synchronize_session=False)
    )
    return result.rowcount


def hold_unsent() -> int:
    """Hold every unsent message (pending, waiting for a retry, leased or given up) so that no worker
    sends it: ``next_attempt_at`` = :data:`HELD_UNTIL`, lease dropped (a restarted worker would
    otherwise take its old leases back at once). Returns how many; flushes, the caller commits."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .values(next_attempt_at=HELD_UNTIL, leased_by=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def held_messages(message_ids: Iterable[int] | None = None) -> list[OutboxMessage]:
    """The messages :func:`hold_unsent` held and nobody released yet, oldest first (only those in
    ``message_ids`` when given)."""
    stmt = select(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at >= HELD_UNTIL
    )
    if message_ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(message_ids)))
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id)))


def release_held(message_ids: Iterable[int] | None = None) -> int:
    """Make held messages (all, or those in ``message_ids``) due now: they are sent by the next worker
    pass. A held message that had given up before the backup is released as given up (it stays out of
    delivery until ``flask notify requeue``). Returns how many; flushes, the caller commits."""
    stmt = update(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at >= HELD_UNTIL
    )
    if message_ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(message_ids)))
    result = db.session.execute(
        stmt.values(next_attempt_at=None, leased_by=None).execution_options(synchronize_session=False)
    )
    return result.rowcount


def queue_message(
    kind: str,
    *,
    user_id: int | None = None,
    to_mobile: str | None = None,
    application_id: int | None = None,
    created_at: datetime | None = None,
    **params: object,
) -> OutboxMessage:
    """Queue the catalogue's message of ``kind`` (:mod:`core.messages`) for a user's inbox and phone,
    or as an SMS to ``to_mobile`` alone, in the caller's transaction. Raises KeyError for an unknown
    kind or a missing placeholder, ValueError without any recipient."""
    if user_id is None and not to_mobile:
        raise ValueError("a message needs a user or a mobile number")
    text = compose(kind, **params)
    msg = OutboxMessage(
        user_id=user_id,
        to_mobile=to_mobile,
        application_id=application_id,
        kind=kind,
        title=text.title,
        body=text.body,
        sms_text=text.sms,
        **({"created_at": created_at} if created_at else {}),
    )
    db.session.add(msg)
    return msg
