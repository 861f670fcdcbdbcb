"""The segmented file format of core.filecrypt on its own: round trips at segment boundaries, both
suites, and every way of damaging a file refused with DecryptionError — never garbage."""

from __future__ import annotations

import os

import pytest

from core.crypto import ciphers
from core.crypto.ciphers import DecryptionError
from core.filecrypt import HEADER_BYTES, SEGMENT_SIZE, TAG_BYTES, decrypt_chunks, encrypt_bytes

SEALED = SEGMENT_SIZE + TAG_BYTES


def _open(algorithm: str, key: bytes, blob: bytes, piece: int = 1000, size: int | None = None) -> bytes:
    chunks = [blob[i : i + piece] for i in range(0, len(blob), piece)] or [b""]
    return b"".join(decrypt_chunks(algorithm, key, chunks, size=size))


@pytest.mark.parametrize("algorithm", [ciphers.AES_GCM, ciphers.SM4_GCM])
@pytest.mark.parametrize("length", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE])
def test_round_trip_at_every_boundary(algorithm, length):
    key = ciphers.new_key(algorithm)
    data = os.urandom(length)
    blob = encrypt_bytes(algorithm, key, data)
    segments = max(1, -(-length // SEGMENT_SIZE))
    assert len(blob) == HEADER_BYTES + length + segments * TAG_BYTES
    assert _open(algorithm, key, blob, size=length) == data
    assert _open(algorithm, key, blob, piece=7) == data  # any chunking of the stored bytes
    assert encrypt_bytes(algorithm, key, data) != blob  # a fresh nonce prefix every time


def _three_segments():
    key = ciphers.new_key(ciphers.AES_GCM)
    data = os.urandom(2 * SEGMENT_SIZE + 100)
    return key, data, encrypt_bytes(ciphers.AES_GCM, key, data)


def _refused(key: bytes, blob: bytes, size: int | None = None) -> str:
    out = []
    with pytest.raises(DecryptionError) as info:
        for piece in decrypt_chunks(ciphers.AES_GCM, key, [blob], size=size):
            out.append(piece)
    return str(info.value)


def test_a_flipped_byte_is_refused_before_its_segment_is_given_out():
    key, data, blob = _three_segments()
    damaged = bytearray(blob)
    damaged[HEADER_BYTES + SEALED + 5] ^= 0x01  # inside segment 1
    out = []
    with pytest.raises(DecryptionError, match="segment 1"):
        for piece in decrypt_chunks(ciphers.AES_GCM, key, [bytes(damaged)]):
            out.append(piece)
    assert out == [data[:SEGMENT_SIZE]]  # segment 0 was intact; nothing of segment 1 came out


def test_truncation_reordering_extension_and_header_changes_are_refused():
    key, data, blob = _three_segments()
    header, s0, s1, s2 = (
        blob[:HEADER_BYTES],
        blob[HEADER_BYTES : HEADER_BYTES + SEALED],
        blob[HEADER_BYTES + SEALED : HEADER_BYTES + 2 * SEALED],
        blob[HEADER_BYTES + 2 * SEALED :],
    )
    assert header + s0 + s1 + s2 == blob
    _refused(key, header + s0 + s1)  # cut at a segment boundary: segment 1 was not the last
    _refused(key, header + s0 + s1 + s2[:-1])  # cut inside the last segment
    _refused(key, header)  # every segment gone
    _refused(key, header + s1 + s0 + s2)  # swapped segments
    _refused(key, header + s0 + s0 + s1 + s2)  # a repeated segment
    _refused(key, blob + s2)  # extended after the last segment
    _refused(key, header[:8] + os.urandom(8) + s0 + s1 + s2)  # another nonce prefix
    _refused(key, header[:4] + (2 * SEGMENT_SIZE).to_bytes(4, "big") + header[8:] + s0 + s1 + s2)
    assert "not an encrypted file" in _refused(key, b"\xff\xd8\xff" + blob[3:])
    assert "no header" in _refused(key, blob[:10])
    _refused(ciphers.new_key(ciphers.AES_GCM), blob)  # another file's key
    assert "bytes" in _refused(key, blob, size=len(data) + 1)  # the row says another size
