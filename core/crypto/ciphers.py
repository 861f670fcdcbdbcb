"""The algorithms, behind one small table: AEAD ciphers for values and files, MACs for blind indexes.

Two suites, chosen by ``CRYPTO_SUITE`` for *new* keys (every key records its own algorithm, so values
under both coexist while a deployment moves from one to the other):

- ``aes`` (default): AES-256-GCM and HMAC-SHA256;
- ``sm`` (国密, GM/T 0002 and 0004): SM4-GCM and HMAC-SM3.

Nothing here is our own cryptography: GCM, SM4, SM3 and HMAC all come from ``cryptography`` (OpenSSL).
A nonce is 96 random bits per encryption; the GCM tag (128 bits) makes any changed byte fail loudly with
:class:`DecryptionError` instead of decrypting to garbage.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AES_GCM = "aes-256-gcm"
SM4_GCM = "sm4-gcm"
HMAC_SHA256 = "hmac-sha256"
HMAC_SM3 = "hmac-sm3"

NONCE_BYTES = 12
TAG_BYTES = 16

#: key length in bytes for each algorithm
KEY_BYTES = {AES_GCM: 32, SM4_GCM: 16, HMAC_SHA256: 32, HMAC_SM3: 32}
AEADS = frozenset({AES_GCM, SM4_GCM})
MACS = frozenset({HMAC_SHA256, HMAC_SM3})

SUITES = {"aes": (AES_GCM, HMAC_SHA256), "sm": (SM4_GCM, HMAC_SM3)}


class DecryptionError(ValueError):
    """A ciphertext that does not authenticate: tampered, truncated, or under another key."""


def suite(name: str) -> tuple[str, str]:
    """``(aead, mac)`` for a ``CRYPTO_SUITE`` value; a clear error for anything else."""
    try:
        return SUITES[(name or "aes").lower()]
    except KeyError:
        raise ValueError(f"CRYPTO_SUITE must be one of {sorted(SUITES)}, not {name!r}") from None


def new_key(algorithm: str) -> bytes:
    return os.urandom(KEY_BYTES[algorithm])


def encrypt(algorithm: str, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``nonce || ciphertext || tag``."""
    nonce = os.urandom(NONCE_BYTES)
    if algorithm == AES_GCM:
        return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)
    if algorithm == SM4_GCM:
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(plaintext) + enc.finalize()
        return nonce + body + enc.tag
    raise ValueError(f"not an AEAD algorithm: {algorithm!r}")


def decrypt(algorithm: str, key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The plaintext of ``encrypt``'s output, or :class:`DecryptionError`."""
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext too short")
    nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        if algorithm == AES_GCM:
            return AESGCM(key).decrypt(nonce, body, aad)
        if algorithm == SM4_GCM:
            dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, body[-TAG_BYTES:])).decryptor()
            dec.authenticate_additional_data(aad)
            return dec.update(body[:-TAG_BYTES]) + dec.finalize()
    except InvalidTag:
        raise DecryptionError("ciphertext does not authenticate (tampered, or another key)") from None
    raise ValueError(f"not an AEAD algorithm: {algorithm!r}")


def mac(algorithm: str, key: bytes, data: bytes) -> bytes:
    if algorithm not in MACS:
        raise ValueError(f"not a MAC algorithm: {algorithm!r}")
    h = hmac.HMAC(key, hashes.SHA256() if algorithm == HMAC_SHA256 else hashes.SM3())
    h.update(data)
    return h.finalize()
