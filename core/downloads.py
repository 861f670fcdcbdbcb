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


def stored_file_response(key: str, mimetype: str):
    """A stored file as a streamed response (decrypted segment by segment, ``Content-Length`` set).

    Raises ``FileNotFoundError`` or ``ValueError`` (a bad key) for a file that is not there — the
    caller answers 404 — and :class:`core.crypto.DecryptionError` for one that does not authenticate,
    before any of the response has started (the error page, :func:`core.errors.init_errors`, says so).
    """
    from flask import Response

    from core.storage import get_storage

    storage = get_storage()
    opener = getattr(storage, "open_stream", None)
    stream = opener(key) if opener is not None else None
    if stream is None or not hasattr(stream, "size"):  # a backend of its own without encryption
        return Response(storage.open(key), mimetype=mimetype)
    response = Response(iter(stream), mimetype=mimetype, direct_passthrough=True)
    if stream.size is not None:
        response.content_length = stream.size
    return response
