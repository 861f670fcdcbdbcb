"""``flask ecert keys create|list``, ``flask ecert jwks`` and ``flask ecert verify`` (offline with a key
set file, or online against this portal's keys and revocation list)."""

from __future__ import annotations

import json
import sys

from flask import Flask


def register_cli(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from applications.ecert import keys
    from applications.ecert.payload import verify
    from core.clock import local_today
    from core.transaction import commit

    group = AppGroup("ecert", help="电子证照：签名密钥、核验")
    keys_group = AppGroup("keys", help="签名密钥")

    @keys_group.command("create")
    @click.option("--issuer", default="", help="签发单位代码（默认：全局局级密钥）")
    def create(issuer: str) -> None:
        """Create a signing key for ISSUER (retiring its previous one, which stays published)."""
        row = keys.create_key(issuer.strip())
        commit()
        click.echo(f"已创建签名密钥 kid={row.kid} issuer={row.issuer or '(局级)'}，私钥：{keys.key_dir()}")

    @keys_group.command("list")
    def list_keys() -> None:
        for k in keys.all_keys():
            state = "已停用" if k.retired_at else "使用中"
            click.echo(f"{k.kid}\t{k.issuer or '(局级)'}\t{state}\t{k.created_at:%Y-%m-%d %H:%M}")

    @group.command("jwks")
    def jwks() -> None:
        """Print the public JWK set (what /.well-known/ecert-keys.json serves)."""
        click.echo(json.dumps(keys.jwks(), ensure_ascii=False, indent=2))

    @group.command("verify")
    @click.argument("text")
    @click.option(
        "--keys", "keyset", type=click.Path(exists=True, dir_okay=False), help="JWK 公钥集文件（离线核验）"
    )
    def verify_command(text: str, keyset: str | None) -> None:
        """Verify TEXT (``LJ1:…``, or ``-`` to read it from stdin). With --keys: offline, the key set
        file only (no revocation check); without: this portal's keys and revocation list."""
        from applications.ecert import operations as ops
        from applications.ecert.views import REASON_LABELS

        if text == "-":
            text = sys.stdin.read()
        if keyset:
            try:
                with open(keyset, encoding="utf-8") as fh:
                    verifiers = keys.verifiers_from_jwks(fh.read())
            except ValueError as exc:
                raise click.ClickException(f"公钥集文件无法读取：{exc}") from exc
            verdict = verify(text, verifiers, today=local_today())
        else:
            verdict = ops.verify_online(text)
        click.echo(f"{verdict.reason.value}\t{REASON_LABELS[verdict.reason]}")
        for k, v in verdict.claims.items():
            click.echo(f"  {k}: {v}")
        if not verdict.genuine:
            sys.exit(1)

    group.add_command(keys_group)
    app.cli.add_command(group)
