"""``flask exchange …``: the operator's commands for the exchange with other departments.

- ``secret <code> [--rotate]`` prints the department's shared secret to hand over (``--rotate`` first
  raises its ``secret_generation``: the old secret stops working at once). Audited.
- ``status`` lists the exchange messages not delivered yet: due, waiting for a retry, given up.
- ``simulate [--department CODE] [--complete] [--url URL]`` plays the departments in development: it
  reads what the development receiver recorded (``<instance>/exchange/<code>.jsonl``) and answers each
  message through the real callback endpoint with a valid signature — ``received``, and with
  ``--complete`` also ``done`` with a plausible result number — so a demo runs end to end. In process
  by default (the app's test client); ``--url`` posts to a running portal instead.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from applications.bundles import contracts, gateway
from catalog.models import ExternalDepartment
from core import audit
from core.db import db, utcnow
from core.outbox import (
    DEFAULT_MAX_ATTEMPTS,
    HELD_UNTIL,
    FileExchangeReceiver,
    OutboxMessage,
    canonical_body,
    sign,
)
from core.transaction import commit

if TYPE_CHECKING:
    from flask import Flask


def receiver() -> FileExchangeReceiver:
    folder = current_app.config.get("EXCHANGE_DIR") or Path(current_app.config["INSTANCE_DIR"]) / "exchange"
    return FileExchangeReceiver(folder)


def recorded(code: str) -> list[dict[str, Any]]:
    """The message bodies the development receiver recorded for ``code``, first time each, in order."""
    path = receiver().path(code)
    if not path.exists():
        return []
    seen: set[str] = set()
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                body = json.loads(line).get("body") or {}
            except ValueError:
                continue
            message_id = body.get("message_id")
            if message_id and message_id not in seen:
                seen.add(message_id)
                out.append(body)
    return out


def result_for(contract_name: str, message_id: str) -> dict[str, str]:
    """A plausible result for a ``done`` answer: each result field a number shaped like the
    department's (prefix, date, message number)."""
    contract = contracts.CONTRACTS.get(contract_name)
    if contract is None:
        return {}
    number = message_id.rsplit(":", 1)[-1].zfill(6)
    stamp = utcnow().strftime("%Y%m%d")
    return {name: f"{contract.result_prefix}-{stamp}-{number}" for name in contract.result.model_fields}


def signed_post(department: ExternalDepartment, body: dict[str, Any], url: str | None) -> tuple[int, Any]:
    """POST ``body`` to the callback of ``department``, signed as the department would; returns the
    status and the JSON answer."""
    raw = canonical_body(body)
    stamp = str(int(utcnow().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": stamp,
        "X-Signature": sign(gateway.department_secret(department), stamp, raw),
    }
    path = f"/api/v1/exchange/{department.code}/callback"
    if not url:
        response = current_app.test_client().post(path, data=raw, headers=headers)
        return response.status_code, response.get_json(silent=True)
    request = urllib.request.Request(url.rstrip("/") + path, data=raw, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 - the operator's own portal
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def simulate(code: str | None, complete: bool, url: str | None, echo=click.echo) -> dict[str, int]:
    """Answer every recorded message (see the module docstring); returns counts of answers by outcome."""
    stmt = (
        select(ExternalDepartment)
        .where(ExternalDepartment.active.is_(True))
        .order_by(ExternalDepartment.code)
    )
    if code:
        stmt = stmt.where(ExternalDepartment.code == code)
    departments = list(db.session.scalars(stmt))
    db.session.expunge_all()
    db.session.rollback()  # the answers go through the endpoint, which commits on its own
    if code and not departments:
        raise click.ClickException(f"没有代码为 {code} 的启用部门")
    counts = {"changed": 0, "unchanged": 0, "refused": 0}
    for department in departments:
        for message in recorded(department.code):
            message_id = str(message.get("message_id"))
            answers = [
                {"message_id": message_id, "status": "received", "external_ref": _ref(department, message_id)}
            ]
            if complete:
                answers.append(
                    {
                        "message_id": message_id,
                        "status": "done",
                        "external_ref": _ref(department, message_id),
                        "result": result_for(department.contract, message_id),
                    }
                )
            for answer in answers:
                status, reply = signed_post(department, answer, url)
                if status != 200:
                    counts["refused"] += 1
                    echo(f"{department.code} {message_id} {answer['status']}: {status} {reply}")
                elif reply and reply.get("changed"):
                    counts["changed"] += 1
                    echo(f"{department.code} {message_id} → {reply.get('status')}")
                else:
                    counts["unchanged"] += 1
    return counts


def _ref(department: ExternalDepartment, message_id: str) -> str:
    return f"{department.code.upper()}{message_id.rsplit(':', 1)[-1].zfill(8)}"


def pending_messages(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> list[tuple[OutboxMessage, str]]:
    """Exchange messages not delivered yet, oldest first, each with what it waits for."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.destination.is_not(None), OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
    )
    out = []
    for msg in rows:
        if msg.next_attempt_at is not None and msg.next_attempt_at >= HELD_UNTIL:
            state = "held"
        elif msg.attempts >= max_attempts and msg.next_attempt_at is None:
            state = "failed"
        elif msg.attempts:
            state = "retrying"
        else:
            state = "pending"
        out.append((msg, state))
    return out


def register_cli(app: Flask) -> None:
    group = AppGroup("exchange", help="一件事：与协办部门的数据交换")

    @group.command("secret")
    @click.argument("code")
    @click.option("--rotate", is_flag=True, help="先换新密钥（旧密钥立即失效）")
    def secret_command(code: str, rotate: bool) -> None:
        """Print a department's shared secret (to hand to the department)."""
        department = gateway.find(code, active_only=False)
        if department is None:
            raise click.ClickException(f"没有代码为 {code} 的部门")
        if rotate:
            department.secret_generation += 1
        audit.record(
            "exchange.secret_rotated" if rotate else "exchange.secret_shown",
            object_type="external_department",
            object_id=department.code,
            details={"generation": department.secret_generation},
            actor=None,
        )
        text = gateway.secret_text(department)
        generation = department.secret_generation
        commit()
        click.echo(f"{code} 第 {generation} 代密钥（十六进制，按字节使用）：")
        click.echo(text)

    @group.command("status")
    @click.option(
        "--max-attempts", type=click.IntRange(min=1), default=DEFAULT_MAX_ATTEMPTS, show_default=True
    )
    def status_command(max_attempts: int) -> None:
        """List the exchange messages not delivered yet (pending, retrying, failed, held)."""
        found = pending_messages(max_attempts)
        for msg, state in found:
            message_id = (msg.payload or {}).get("message_id", "")
            when = f"{msg.next_attempt_at:%Y-%m-%d %H:%M}Z" if msg.next_attempt_at else "-"
            cells = [msg.id, msg.destination, message_id, state, msg.attempts, when, msg.last_error or ""]
            click.echo("\t".join(str(c) for c in cells))
        click.echo(f"{len(found)} message(s) not delivered")
        db.session.rollback()

    @group.command("simulate")
    @click.option("--department", "code", default=None, help="只模拟这个部门（代码）")
    @click.option("--complete", is_flag=True, help="接收后即办结（带结果编号）")
    @click.option("--url", default=None, help="向运行中的门户发送回执（默认在本进程内）")
    def simulate_command(code: str | None, complete: bool, url: str | None) -> None:
        """Play the departments (development): answer what the development receiver recorded."""
        counts = simulate(code, complete, url)
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))

    app.cli.add_command(group)
