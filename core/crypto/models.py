"""The data-key register: each data key wrapped by a master key, never stored in the clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class DataKey(db.Model):
    """A data key for one purpose (``identity``, ``contact``, ``name``, ``form``, ``index``).

    ``id`` is the key id every ciphertext carries; ``wrapped`` is the key encrypted under the master
    key ``master_id`` (see :mod:`core.crypto.keyring`). One key per purpose is ``active`` (new values);
    retired keys stay so that values not yet re-encrypted can still be read.
    """

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    algorithm: Mapped[str] = mapped_column(String(16))
    wrapped: Mapped[str] = mapped_column(Text)
    master_id: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(
            "uq_data_keys_active_purpose",
            "purpose",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )
