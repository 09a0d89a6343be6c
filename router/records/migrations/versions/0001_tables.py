"""The records' tables: calls, call_steps, offers, callbacks, agent_states,
agent_sessions (issue 16).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out in full, not read from router/records/schema.py: a migration
# is history and must not change when the schema later does.


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("pbx", sa.Text(), nullable=False),
        sa.Column("dnis", sa.Text(), nullable=False),
        sa.Column("caller_num", sa.Text(), nullable=False),
        sa.Column("caller_name", sa.Text(), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("first_queue", sa.Text(), nullable=False),
        sa.Column("final_queue", sa.Text(), nullable=False),
        sa.Column("arrived_at", sa.Double(), nullable=False),
        sa.Column("local_date", sa.Text(), nullable=False),
        sa.Column("local_minute", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("wait", sa.Double(), nullable=False),
        sa.Column("answered_by", sa.Text(), nullable=True),
        sa.Column("team", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("talk", sa.Double(), nullable=True),
        sa.Column("wrapup", sa.Double(), nullable=True),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.Column("sl_threshold", sa.Double(), nullable=True),
        sa.Column("sl_counted", sa.Boolean(), nullable=False),
        sa.Column("sl_met", sa.Boolean(), nullable=False),
        sa.Column("short_abandon", sa.Boolean(), nullable=False),
        sa.Column("callback_id", sa.Text(), nullable=True),
        sa.Column("origin_call_id", sa.Text(), nullable=True),
        sa.Column("survey_score", sa.Integer(), nullable=True),
        sa.Column("recording", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name="pk_calls"),
    )
    op.create_table(
        "call_steps",
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", "seq", name="pk_call_steps"),
    )
    op.create_table(
        "offers",
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("rung_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", "seq", name="pk_offers"),
    )
    op.create_table(
        "callbacks",
        sa.Column("callback_id", sa.Text(), nullable=False),
        sa.Column("origin_call_id", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("promised_at", sa.Double(), nullable=False),
        sa.Column("local_date", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("callback_id", name="pk_callbacks"),
    )
    op.create_table(
        "agent_states",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("call_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=False),
        sa.Column("local_date", sa.Text(), nullable=False),
        sa.Column("local_minute", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "started_at", "state", name="pk_agent_states"),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("login_at", sa.Double(), nullable=False),
        sa.Column("logout_at", sa.Double(), nullable=False),
        sa.Column("local_date", sa.Text(), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "login_at", name="pk_agent_sessions"),
    )


def downgrade() -> None:
    for table in ("agent_sessions", "agent_states", "callbacks", "offers", "call_steps", "calls"):
        op.drop_table(table)
