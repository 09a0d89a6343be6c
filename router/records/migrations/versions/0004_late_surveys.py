"""The surveys table: satisfaction scores that came after their call was
on record (router/records/model.py SurveyRow).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("scored_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_surveys"),
    )


def downgrade() -> None:
    op.drop_table("surveys")
