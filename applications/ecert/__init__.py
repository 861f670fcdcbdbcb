"""电子证照 with a verifiable seal (issue 21).

- ``models`` — the issuers' public keys, the register of issued certificates (revocation included),
  the 免提交 rules (which certificate types satisfy which catalog document);
- ``signing`` — signer/verifier interface, Ed25519 now (SM2 later);
- ``payload`` — CBOR claims → COSE_Sign1 → zlib → base45 → ``LJ1:``, and the verification verdict;
- ``keys`` — private keys in files (0600) outside database and repository, the JWK set;
- ``pdf`` — the certificate's PDF with its QR code;
- ``operations`` — issue at completion (called by the clerk's approve), revoke, 免提交 rules, the
  online check;
- ``views`` — ``/.well-known/ecert-keys.json``, ``/verify``, ``POST /api/v1/ecert/verify``, the
  citizen's certificate page, the admin's register and rules;
- ``cli`` — ``flask ecert keys create|list``, ``flask ecert jwks``, ``flask ecert verify``.
"""

from __future__ import annotations

from flask import Flask


def init_ecert(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from applications.ecert import models as _models  # noqa: F401 - register tables
    from applications.ecert import views
    from applications.ecert.cli import register_cli
    from core.nav import add_nav

    app.config.setdefault("ECERT_VALID_DAYS", 365)
    app.config.setdefault("ECERT_KEY_AUTO_CREATE", True)
    app.config.setdefault("ECERT_FONT", None)
    app.config.setdefault("ECERT_SHARE_HOURS", 24)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    app.register_blueprint(views.admin_bp)
    add_nav(app, "ecert_admin.register", _l("电子证照"), roles={"admin"})
    register_cli(app)
