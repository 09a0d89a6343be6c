"""The indexes `router report` reads by (by day and queue, day and agent,
time).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_calls_date_queue": ("calls", ["local_date", "final_queue"]),
    "ix_calls_date_agent": ("calls", ["local_date", "answered_by"]),
    "ix_calls_arrived": ("calls", ["arrived_at"]),
    "ix_offers_agent_rung": ("offers", ["agent_id", "rung_at"]),
    "ix_agent_states_date_agent": ("agent_states", ["local_date", "agent_id"]),
    "ix_agent_states_started": ("agent_states", ["started_at"]),
    "ix_agent_sessions_date_agent": ("agent_sessions", ["local_date", "agent_id"]),
    "ix_callbacks_date_queue": ("callbacks", ["local_date", "queue"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
