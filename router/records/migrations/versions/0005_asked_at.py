"""When a pause or logout was asked for: agent_states.asked_at and
agent_sessions.logout_asked_at (router/records/model.py). One asked for
mid-call waits for the call; the replay of a recorded day
(router/whatif/replay.py) asks for it at that moment, not when that day's
call happened to end. Rows from before stay NULL: not known.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agent_states", sa.Column("asked_at", sa.Double(), nullable=True))
    op.add_column("agent_sessions", sa.Column("logout_asked_at", sa.Double(), nullable=True))


def downgrade() -> None:
    # batch: SQLite drops a column by copying the table
    with op.batch_alter_table("agent_sessions") as batch:
        batch.drop_column("logout_asked_at")
    with op.batch_alter_table("agent_states") as batch:
        batch.drop_column("asked_at")
