"""Submission benchmark: drafts are started and filled in first (not timed); the timed part is the
submission itself — upload two 1-MB photos, the 核对信息 page, submit, the confirmation page —
against gunicorn with 2 workers, compared in the same run with the bare cost of the same file work
(decode, re-encode, hash, write) in a plain loop. Loopback only, bounded by count."""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.__main__ import BIN, ROOT, free_port, gunicorn, prepare_demo, stop, wait_for

ITEM = "LJ-CJ-016"  # 提交机动车驾驶人身体条件证明: two required photo documents, e-certificate result
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def photo(seed: int, size: int = 1_000_000) -> bytes:
    """A noisy JPEG of about ``size`` bytes (noise does not compress, like a real photo)."""
    from PIL import Image

    side = 700
    while True:
        img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        if buf.tell() >= size:
            return buf.getvalue()
        side += 100


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.geturl(), r.read().decode()

    def post(self, path: str, data: dict | bytes, content_type: str | None = None) -> tuple[str, str]:
        body = data if isinstance(data, bytes) else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        req.add_header("Content-Type", content_type or "application/x-www-form-urlencoded")
        with self.opener.open(req, timeout=60) as r:
            return r.geturl(), r.read().decode()

    def register(self, n: int) -> None:
        from auth.identity import id_check_char

        _, page = self.get("/register")
        body = f"110101199{n % 10}0101{n % 1000:03d}"[:17]
        self.post(
            "/register",
            {
                "csrf_token": CSRF.search(page).group(1),
                "real_name": "测试用户",
                "id_number": body + id_check_char(body),
                "mobile": f"137{n:08d}",
                "password": "Bench-pass-1",
                "password_confirm": "Bench-pass-1",
            },
        )

    def prepare_draft(self) -> tuple[str, list[str], str]:
        """Start a draft and fill its form (not timed): returns (path, upload field positions, csrf)."""
        _, page = self.get(f"/apply/{ITEM}")
        token = re.search(r'name="token"[^>]*value="([^"]+)"', page).group(1)
        url, page = self.post(f"/apply/{ITEM}", {"csrf_token": CSRF.search(page).group(1), "token": token})
        app_path = urllib.parse.urlparse(url).path.rsplit("/", 1)[0]
        url, page = self.post(
            f"{app_path}/form",
            {
                "csrf_token": CSRF.search(page).group(1),
                "next": "1",
                "district": "东城区",
                "contact_mobile": "13900000000",
                "delivery_method": "ecert",
                "f_license_no": "330100123456",
                "f_mobile": "13900000000",
            },
        )
        return app_path, re.findall(r'name="doc-(\d+)"', page)[:2], CSRF.search(page).group(1)

    def submit_draft(self, draft: tuple[str, list[str], str], photos: tuple[bytes, bytes]) -> str:
        """The timed part: upload two photos, land on 核对信息, submit, land on the confirmation."""
        app_path, positions, csrf = draft
        body, ctype = multipart(
            {"csrf_token": csrf, "next": "1"},
            {f"doc-{p}": (f"photo{i}.jpg", photos[i]) for i, p in enumerate(positions)},
        )
        url, page = self.post(f"{app_path}/documents", body, ctype)
        url, page = self.post(f"{app_path}/submit", {"csrf_token": CSRF.search(page).group(1)})
        ref = re.search(r'data-testid="reference">([^<]+)<', page)
        if not ref:
            raise RuntimeError(f"submit failed at {url}")
        return ref.group(1)


def bare_loop(photos: tuple[bytes, bytes], seconds: float) -> float:
    """Submissions' worth of file work per second in a plain loop (one process)."""
    from applications.documents.uploads import clean_upload
    from core.storage import LocalStorage

    root = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    storage = LocalStorage(root)
    done, start = 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            for i, data in enumerate(photos):
                clean = clean_upload(f"photo{i}.jpg", data, ("jpg", "png", "pdf"))
                storage.save(clean.data, suffix=clean.suffix)
            done += 1
        return done / (time.perf_counter() - start)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(database_url: str | None, submissions: int, clients: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-submit-"))
    env = {
        **os.environ,
        "INSTANCE_DIR": str(work),
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
        "RATELIMIT_ENABLED": "0",
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    prepare_demo(env)
    port = free_port()
    server = gunicorn("wsgi:app", port, env)
    photos = (photo(1), photo(2))
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        people = [Client(f"http://127.0.0.1:{port}") for _ in range(clients)]
        for n, c in enumerate(people):
            c.register(n + 1)
        people[0].submit_draft(people[0].prepare_draft(), photos)  # warm up
        per_client = submissions // clients
        drafts = {id(c): [c.prepare_draft() for _ in range(per_client)] for c in people}
        errors: list[Exception] = []

        def work_loop(c: Client) -> None:
            try:
                for draft in drafts[id(c)]:
                    c.submit_draft(draft, photos)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work_loop, args=(c,)) for c in people]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise errors[0]
        rate = per_client * clients / elapsed
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
    bare = bare_loop(photos, 5)
    return {
        "database": "postgresql" if database_url else "sqlite",
        "submissions": per_client * clients,
        "per_second": rate,
        "bare_per_second": bare,
        "ratio": rate / bare,
        "photo_bytes": [len(p) for p in photos],
    }


__all__ = ["BIN", "ROOT", "run"]
