"""Column types that encrypt on the way in and decrypt on the way out, so models read naturally.

``mobile: Mapped[str | None] = mapped_column(EncryptedText("contact"))`` stores ``e1.<kid>.<…>`` and
gives back the plain string. A value without the ``e1.`` prefix is one written before encryption was
switched on (the data migration converts them in batches) and is returned as it is.

Comparing an encrypted column with a value (``User.mobile == "138…"``) can never match — every
encryption uses a fresh nonce — so it raises :class:`TypeError` instead of quietly finding nothing:
look the value up through its blind index column. ``IS NULL`` tests still work.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from core.crypto.keyring import TOKEN_PREFIX, get_keyring

_NULL_OPS = {operators.is_, operators.is_not, operators.eq, operators.ne}


class _Guarded(TypeDecorator.Comparator):
    def operate(self, op, *other, **kwargs):
        if other and not (op in _NULL_OPS and all(o is None for o in other)):
            raise TypeError(
                "an encrypted column cannot be compared with a value (every ciphertext differs): "
                "use the column's blind index"
            )
        return super().operate(op, *other, **kwargs)


class EncryptedText(TypeDecorator):
    """A string stored encrypted under the data key of ``purpose``. ``length`` is the longest
    *plaintext* the field takes (for callers that trim input to fit); the column itself is TEXT."""

    impl = Text
    cache_ok = True
    comparator_factory = _Guarded

    def __init__(self, purpose: str, length: int | None = None) -> None:
        super().__init__()
        self.purpose = purpose
        self.length = length

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return get_keyring().encrypt(self.purpose, str(value))

    def process_result_value(self, value: Any, dialect) -> str | None:
        if value is None or not str(value).startswith(TOKEN_PREFIX):
            return value
        return get_keyring().decrypt(self.purpose, value)

    def __repr__(self) -> str:
        return f"EncryptedText({self.purpose!r})"


class EncryptedJSON(TypeDecorator):
    """A JSON document (a dict of answers) stored as one encrypted string."""

    impl = Text
    cache_ok = True
    comparator_factory = _Guarded

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return get_keyring().encrypt(
            self.purpose, json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        )

    def process_result_value(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return value
        if str(value).startswith(TOKEN_PREFIX):
            value = get_keyring().decrypt(self.purpose, value)
        return json.loads(value)

    def __repr__(self) -> str:
        return f"EncryptedJSON({self.purpose!r})"
