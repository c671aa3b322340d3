"""performance at the scale of a clinic network (issue 6): indexes for audit search by user and
action, the client list's name order, today's medicine sessions, and (PostgreSQL, with pg_trgm) the name search

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 16:20:00

The trigram index needs the pg_trgm extension. ``CREATE EXTENSION`` needs a superuser or a
role with CREATE on the database (PostgreSQL 13+: pg_trgm is a "trusted" extension, so the
database owner may create it). When it cannot be created, the migration says so and goes on
without the index: the search still works, by a sequential scan; a DBA can later run
``CREATE EXTENSION pg_trgm`` and then ``TRGM_INDEX`` below by hand (README, Performance).
"""
import warnings

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The client search matches each word against this one expression (kaptracker/clients/views.py
# builds the same): a word has no spaces, so it cannot match across two fields.
NAME_SEARCH_SQL = ("(family_name || ' ' || given_name || ' ' || coalesce(preferred_name, '') || ' ' "
                   "|| record_number)")
TRGM_INDEX = ("CREATE INDEX IF NOT EXISTS ix_client_name_search_trgm ON client "
              f"USING gin ({NAME_SEARCH_SQL} gin_trgm_ops)")


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_user_action', ['user_id', 'action', 'id'], unique=False)
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index('ix_client_name_order', ['family_name', 'given_name', 'id'], unique=False)
    with op.batch_alter_table('clinical_session', schema=None) as batch_op:
        batch_op.create_index('ix_clinical_session_kind_at', ['kind', 'occurred_at'], unique=False)
    with op.batch_alter_table('dosing_session', schema=None) as batch_op:
        batch_op.create_index('ix_dosing_session_not_discharged', ['id'], unique=False,
                              sqlite_where=sa.text('discharged_at IS NULL'),
                              postgresql_where=sa.text('discharged_at IS NULL'))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                bind.exec_driver_sql(TRGM_INDEX)
        except sa.exc.DBAPIError as error:  # not allowed to create the extension: go on without
            warnings.warn(f"pg_trgm not available ({error.orig}); the client name search will not be "
                          "indexed. Run CREATE EXTENSION pg_trgm as a superuser, then: " + TRGM_INDEX)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_client_name_search_trgm")
    with op.batch_alter_table('dosing_session', schema=None) as batch_op:
        batch_op.drop_index('ix_dosing_session_not_discharged')
    with op.batch_alter_table('clinical_session', schema=None) as batch_op:
        batch_op.drop_index('ix_clinical_session_kind_at')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index('ix_client_name_order')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_user_action')
