"""Download headers shared by every file the portal hands out (exports, uploaded documents)."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the real (possibly Chinese)
    name in ``filename*`` (RFC 6266 / RFC 5987)."""
    safe_fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in fallback
    )
    return f"attachment; filename=\"{safe_fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def private_download_headers(response, filename: str, fallback: str):
    """Attachment, no sniffing, never cached: for a citizen's own documents and staff exports."""
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
