"""settings saves counted in one revision row, so two administrators saving at the same instant
cannot both succeed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:05:00

The settings page carried the newest setting_change id as its version, but a save only inserts
rows: two saves that both read the same newest id both went through. Each save now also sets
setting_revision.version to the next number in an UPDATE that names the version it read; the
second of two racing saves matches no row and gets the conflict page. The row starts at the
number of changes made so far (1 when there are none).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'setting_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_setting_revision')),
    )
    made = op.get_bind().execute(sa.text("SELECT count(*) FROM setting_change")).scalar() or 0
    op.bulk_insert(table, [{"id": 1, "version": made + 1}])


def downgrade():
    op.drop_table('setting_revision')
