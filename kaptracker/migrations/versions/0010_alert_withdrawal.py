"""safety alerts withdrawn when a reading they rest on is marked entered in error

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00

An alert raised by a pair of readings (sustained high blood pressure, sustained fast heart rate)
names both: ``vital_sign_id`` the second, ``paired_vital_sign_id`` the first. When either is
marked entered in error the alert is withdrawn (when, why) rather than acknowledged for it: it
no longer counts as open but stays in the history. What the remaining readings justify is
raised again, so "raised once" holds among the alerts not withdrawn (a partial unique index
replaces the unique constraint). An alert changes only by being acknowledged, once, or
withdrawn, once; nothing changes after it is withdrawn.

Alerts raised before this migration have no pair recorded: the app re-evaluates them from the
remaining readings (kaptracker/vitals/service.py, ``withdraw_alerts``).
"""
import contextlib
import warnings

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

FIXED = ("session_id", "vital_sign_id", "paired_vital_sign_id", "rule", "level", "message", "raised_at")
OLD_FIXED = ("session_id", "vital_sign_id", "rule", "level", "message", "raised_at")
ACKNOWLEDGED = ("acknowledged_at", "acknowledged_by_id", "acknowledgement_note")
WITHDRAWN = ("withdrawn_at", "withdrawn_reason")
MESSAGE = "an alert changes only by being acknowledged, once, or withdrawn, once"
OLD_MESSAGE = "an alert changes only by being acknowledged, once"
NOT_WITHDRAWN = "withdrawn_at IS NULL"


def _differs(columns, postgres: bool) -> str:
    op_ = "IS DISTINCT FROM" if postgres else "IS NOT"
    return "(" + " OR ".join(f"NEW.{c} {op_} OLD.{c}" for c in columns) + ")"


def _sqlite_triggers(new: bool):
    if new:
        refuse = (f"{_differs(FIXED, False)} OR OLD.withdrawn_at IS NOT NULL"
                  f" OR (OLD.acknowledged_at IS NOT NULL AND {_differs(ACKNOWLEDGED, False)})")
        message = MESSAGE
    else:
        refuse = f"{_differs(OLD_FIXED, False)} OR OLD.acknowledged_at IS NOT NULL"
        message = OLD_MESSAGE
    yield ("CREATE TRIGGER safety_alert_no_edit BEFORE UPDATE ON safety_alert "
           f"WHEN {refuse} BEGIN SELECT RAISE(ABORT, '{message}'); END")
    yield ("CREATE TRIGGER safety_alert_no_delete BEFORE DELETE ON safety_alert "
           "BEGIN SELECT RAISE(ABORT, 'safety alerts are never deleted'); END")


def _postgresql_function(new: bool) -> str:
    if new:
        refuse = (f"{_differs(FIXED, True)} OR OLD.withdrawn_at IS NOT NULL"
                  f" OR (OLD.acknowledged_at IS NOT NULL AND {_differs(ACKNOWLEDGED, True)})")
        message = MESSAGE
    else:
        refuse = f"{_differs(OLD_FIXED, True)} OR OLD.acknowledged_at IS NOT NULL"
        message = OLD_MESSAGE
    return f"""
        CREATE OR REPLACE FUNCTION kap_safety_alert_rules() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'safety alerts are never deleted'; END IF;
            IF {refuse} THEN
                RAISE EXCEPTION '{message}';
            END IF;
            RETURN NEW;
        END $$"""


@contextlib.contextmanager
def _rebuilt():
    """The SQLite rebuild reflects the tables safety_alert points at; the expression index on
    client (migration 0006) cannot be reflected, and need not be: client is not rebuilt."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table('safety_alert', schema=None) as batch_op:
            yield batch_op


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:  # the table is rebuilt below, and its triggers with it
        op.execute("DROP TRIGGER IF EXISTS safety_alert_no_edit")
        op.execute("DROP TRIGGER IF EXISTS safety_alert_no_delete")
    with _rebuilt() as batch_op:
        batch_op.add_column(sa.Column('paired_vital_sign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_safety_alert_paired_vital_sign_id_vital_sign'),
                                    'vital_sign', ['paired_vital_sign_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_safety_alert_withdrawn_together'),
            "(withdrawn_at IS NULL AND withdrawn_reason IS NULL)"
            " OR (withdrawn_at IS NOT NULL AND withdrawn_reason IS NOT NULL)")
        batch_op.drop_constraint('uq_safety_alert_once', type_='unique')
        batch_op.create_index('uq_safety_alert_once', ['session_id', 'rule', 'vital_sign_id'], unique=True,
                              sqlite_where=sa.text(NOT_WITHDRAWN), postgresql_where=sa.text(NOT_WITHDRAWN))
    if postgres:
        op.execute(_postgresql_function(True))
    else:
        for statement in _sqlite_triggers(True):
            op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        op.execute("DROP TRIGGER IF EXISTS safety_alert_no_edit")
        op.execute("DROP TRIGGER IF EXISTS safety_alert_no_delete")
    with _rebuilt() as batch_op:
        batch_op.drop_index('uq_safety_alert_once')
        batch_op.create_unique_constraint('uq_safety_alert_once', ['session_id', 'rule', 'vital_sign_id'])
        batch_op.drop_constraint(batch_op.f('ck_safety_alert_withdrawn_together'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_safety_alert_paired_vital_sign_id_vital_sign'), type_='foreignkey')
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('paired_vital_sign_id')
    if postgres:
        op.execute(_postgresql_function(False))
    else:
        for statement in _sqlite_triggers(False):
            op.execute(statement)
