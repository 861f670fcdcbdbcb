"""Personal data encrypted at rest (issue 19): keys (:mod:`.keyring`), column types (:mod:`.types`),
the batch re-encryption that rotation and the data migration share (:mod:`.backfill`), and the
``flask keys`` commands (:mod:`.cli`)."""

from core.crypto.ciphers import DecryptionError
from core.crypto.keyring import Keyring, KeyringError, get_keyring
from core.crypto.types import EncryptedJSON, EncryptedText


def blind_index(scope: str, value: str | None) -> str | None:
    """The keyed index of an already normalised value (None stays None)."""
    if value is None or value == "":
        return None
    return get_keyring().blind_index(scope, value)


def derived_secret(label: str) -> bytes:
    """A stable secret for ``label``, derived from the keyring and never stored
    (:meth:`Keyring.derive_secret`)."""
    return get_keyring().derive_secret(label)


__all__ = [
    "DecryptionError",
    "EncryptedJSON",
    "EncryptedText",
    "Keyring",
    "KeyringError",
    "blind_index",
    "derived_secret",
    "get_keyring",
]
