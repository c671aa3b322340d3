"""audit by construction: the route and status of each audit event; disclosures (the accounting
of disclosures, 45 CFR 164.528), append-only

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _triggers():
    if op.get_bind().dialect.name == "postgresql":
        # kap_append_only() comes from migration 0004.
        yield ("CREATE TRIGGER disclosure_append_only BEFORE UPDATE OR DELETE ON disclosure "
               "FOR EACH ROW EXECUTE FUNCTION kap_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            yield (f"CREATE TRIGGER disclosure_no_{event.lower()} BEFORE {event} ON disclosure "
                   "BEGIN SELECT RAISE(ABORT, 'disclosure is append-only'); END")


def upgrade():
    # Plain ALTER TABLE ADD COLUMN on both engines (no batch rebuild): audit_event keeps its rows
    # and its append-only triggers.
    op.add_column('audit_event', sa.Column('route', sa.String(length=80), nullable=True))
    op.add_column('audit_event', sa.Column('status', sa.SmallInteger(), nullable=True))

    op.create_table('disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_disclosure_client_id_client')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_disclosure_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure'))
    )
    op.create_index('ix_disclosure_client_at', 'disclosure', ['client_id', 'at', 'id'], unique=False)
    for statement in _triggers():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS disclosure_append_only ON disclosure")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS disclosure_no_{event}")
    op.drop_index('ix_disclosure_client_at', table_name='disclosure')
    op.drop_table('disclosure')
    # SQLite 3.35+ drops a column in place (no rebuild, the triggers stay).
    op.drop_column('audit_event', 'status')
    op.drop_column('audit_event', 'route')
