"""电子证照 benchmark: issuing (signature + QR + PDF) and verifying, per second, on this machine.

    python -m bench.ecert [--issue 50] [--verify 2000] [--api 300] [--json PATH]

Phases, each timed in this process (one core):

1. seal only: CBOR claims → COSE_Sign1 (Ed25519) → zlib → base45, ``--verify`` times;
2. issuing as the completion does it minus the database: seal + QR (segno) + PDF (reportlab),
   ``--issue`` times;
3. verifying offline: decode + signature + dates, ``--verify`` times (the ``flask ecert verify --keys``
   path);
4. verifying online through ``POST /api/v1/ecert/verify`` (Flask test client, SQLite in a temporary
   folder, keys and revocation list read from the database per request), ``--api`` times.

The machine is shared: compare figures only within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CERT = {
    "type": "无犯罪记录证明",
    "number": "LJZZ20261206ABCDEF01",
    "holder": "张晓明",
    "id": "3301**********1230",
    "issued": "2026-12-06",
    "valid_until": "2027-12-05",
    "issuer": "临江市公安局东城分局解放路派出所",
    "item": "LJ-HJ-021",
}


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds else float("inf")


def _timed(n: int, fn) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - start


def run(issue_n: int, verify_n: int, api_n: int) -> dict:
    from applications.ecert import pdf
    from applications.ecert.payload import encode, verify
    from applications.ecert.signing import Ed25519Signer, Ed25519Verifier, kid_for

    key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer(kid_for(key.public_key()), key)
    keys = {signer.kid: Ed25519Verifier(key.public_key())}
    out: dict[str, float] = {}

    seconds = _timed(verify_n, lambda i: encode({**CERT, "number": f"LJZZ{i:016d}"}, signer))
    out["seal_per_s"] = _rate(verify_n, seconds)

    def issue(i: int) -> None:
        text = encode({**CERT, "number": f"LJZZ{i:016d}"}, signer)
        pdf.render(
            title=CERT["type"],
            fields=[("持证人", CERT["holder"]), ("身份证号", CERT["id"])],
            issuer=CERT["issuer"],
            number=CERT["number"],
            valid="2026-12-06 至 2027-12-05",
            payload=text,
            portal="临江市公安局网上办事大厅",
        )

    issue(0)  # font registration once
    out["issue_per_s"] = _rate(issue_n, _timed(issue_n, issue))

    text = encode(CERT, signer)
    today = date(2027, 1, 1)
    seconds = _timed(verify_n, lambda i: verify(text, keys, today=today))
    out["verify_offline_per_s"] = _rate(verify_n, seconds)
    assert verify(text, keys, today=today).genuine

    out["verify_api_per_s"] = _api(api_n)
    return out


def _api(n: int) -> float:
    from flask_migrate import upgrade

    from applications.ecert import keys as ecert_keys
    from applications.ecert.payload import encode
    from core.transaction import commit
    from portal import create_app

    folder = tempfile.mkdtemp(prefix="bench-ecert-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(folder, 'b.db')}",
            "INSTANCE_DIR": folder,
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
        ecert_keys.create_key("")
        commit()
        text = encode(CERT, ecert_keys.signer_for(""))
    client = app.test_client()
    assert client.post("/api/v1/ecert/verify", json={"payload": text}).get_json()["reason"] in (
        "ok",
        "expired",
    )
    seconds = _timed(n, lambda i: client.post("/api/v1/ecert/verify", json={"payload": text}))
    return _rate(n, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issue", type=int, default=50)
    parser.add_argument("--verify", type=int, default=2000)
    parser.add_argument("--api", type=int, default=300)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = run(args.issue, args.verify, args.api)
    for name, value in result.items():
        print(f"{name:24} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
