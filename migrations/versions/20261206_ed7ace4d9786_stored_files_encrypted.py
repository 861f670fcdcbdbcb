"""Encrypted uploads (issue 19): ``stored_files`` holds each stored file's own data key, wrapped by the
master key; every file already in the upload folder is encrypted in place, in batches.

Restartable: each batch's key rows are committed before its files are renamed over the plaintext
(:func:`core.filecrypt.encrypt_existing` says how a run stopped anywhere is picked up). The file work
runs in an autocommit block, after the table is committed, so a stopped run keeps what it finished.
The master key is created here (instance folder, 0600) only when there are files to encrypt and none
exists yet — and never while the database already holds data keys (that would be the wrong key).

Revision ID: ed7ace4d9786
Revises: 5e1c0a9d2b7f
Create Date: 2026-12-06 18:05:00

"""

import logging

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "ed7ace4d9786"
down_revision = "5e1c0a9d2b7f"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    if sa.inspect(op.get_bind()).has_table("stored_files"):  # a run stopped while encrypting: carry on
        encrypt_upload_folder()
        return
    op.create_table(
        "stored_files",
        sa.Column("storage_key", sa.String(length=120), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=False),
        sa.Column("master_id", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("storage_key", name=op.f("pk_stored_files")),
    )
    encrypt_upload_folder()


def encrypt_upload_folder():
    from core.crypto.keyring import MasterKeys
    from core.filecrypt import encrypt_existing
    from core.storage import LocalStorage

    inner = current_app.extensions.get("storage") or LocalStorage(current_app.config["UPLOAD_DIR"])
    if next(iter(inner.keys()), None) is None:
        return  # a new instance, or no uploads yet
    keyring = current_app.extensions["keyring"]
    if MasterKeys.load(current_app.config) is None:
        if keyring.has_keys(op.get_bind()):
            keyring.master  # noqa: B018 - raises the clear "no master key" error
        MasterKeys.create(current_app.config)
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        raw = bind.connection.driver_connection
        sqlite = bind.dialect.name == "sqlite"
        if sqlite and raw.in_transaction:
            # core.db begins every SQLite transaction itself (BEGIN IMMEDIATE), AUTOCOMMIT or not: end
            # it, so each batch's rows commit on their own as on PostgreSQL
            raw.commit()
        try:
            n = encrypt_existing(bind, inner, keyring, batch=200, echo=log.info)
        finally:
            if sqlite:
                raw.isolation_level = None  # the setting core.db gives every SQLite connection
    log.info("stored_files: %d file(s) written before encryption are now encrypted", n)


def downgrade():
    # the way back puts the files back in the clear (older code reads only plaintext)
    from core.filecrypt import decrypt_all
    from core.storage import LocalStorage

    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM stored_files LIMIT 1")).first() is not None:
        inner = current_app.extensions.get("storage") or LocalStorage(current_app.config["UPLOAD_DIR"])
        n = decrypt_all(bind, inner, current_app.extensions["keyring"])
        log.info("stored_files: %d file(s) decrypted for the downgrade", n)
    op.drop_table("stored_files")
