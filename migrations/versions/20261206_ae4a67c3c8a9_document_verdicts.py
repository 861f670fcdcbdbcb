"""Document verdicts (issue 17, items 10 and 6): the clerk's 核验通过 / 需补正 per application document,
the preset 需补正 reasons admins keep (seeded with common ones), and the wallet's mark on a file a
clerk sent back for correction (never offered for reuse again).

Reviewed: named constraints; batch operations for SQLite; the downgrade drops what the upgrade adds.

Revision ID: ae4a67c3c8a9
Revises: f9f0a1ca430f
Create Date: 2026-12-06 14:28:08.102913

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

#: (document type — empty for every document —, reason), in the order the clerk sees them.
SEED = [
    ("", "照片模糊不清"),
    ("", "证件已过期"),
    ("", "材料不完整"),
    ("", "与申请信息不一致"),
    ("", "缺少签名或盖章"),
    ("居民身份证", "身份证正反面未全部上传"),
    ("居民户口簿", "缺少户主页或本人页"),
]


# revision identifiers, used by Alembic.
revision = "ae4a67c3c8a9"
down_revision = "f9f0a1ca430f"
branch_labels = None
depends_on = None


def upgrade():
    reasons = op.create_table(
        "correction_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=100), server_default="", nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), server_default="100", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_reasons")),
        sa.UniqueConstraint("doc_type", "reason", name="uq_correction_reasons_type_reason"),
    )
    with op.batch_alter_table("correction_reasons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_correction_reasons_type_position", ["doc_type", "position", "id"], unique=False
        )
    now = datetime.now(UTC)
    op.bulk_insert(
        reasons,
        [
            {"doc_type": t, "reason": r, "position": 10 * (i + 1), "created_at": now}
            for i, (t, r) in enumerate(SEED)
        ],
    )

    with op.batch_alter_table("application_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verdict", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("verdict_reason", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("verdict_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verdict_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_application_documents_verdict_by_id_users"),
            "users",
            ["verdict_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("wallet_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("rejected_reason", sa.String(length=300), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("wallet_documents", schema=None) as batch_op:
        batch_op.drop_column("rejected_reason")
        batch_op.drop_column("rejected_at")

    with op.batch_alter_table("application_documents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_application_documents_verdict_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("verdict_at")
        batch_op.drop_column("verdict_by_id")
        batch_op.drop_column("verdict_reason")
        batch_op.drop_column("verdict")

    with op.batch_alter_table("correction_reasons", schema=None) as batch_op:
        batch_op.drop_index("ix_correction_reasons_type_position")

    op.drop_table("correction_reasons")
