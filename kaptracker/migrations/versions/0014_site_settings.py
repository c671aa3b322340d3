"""settings per site: network defaults, and a site's overrides of them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 10:00:00

* ``setting_change.site_id``: the site a change applies at; NULL for the network's value (every
  existing row: they were the clinic's, now the network's defaults).
* ``setting_change.cleared``: this row sends the site back to the network's value for its key
  (its ``value`` is empty). A cleared row names a site (check ``cleared_at_a_site``).
* The index of the newest row per key becomes one per key and site: ix_setting_change_key_site_at.

Rows are still only ever added (by kaptracker.settings; no trigger enforces it, as before).
SQLite rebuilds the table (batch mode) to add the foreign key and the check: setting_change has
no trigger and no partial index, and no table refers to it, so nothing is lost in the rebuild.

The downgrade deletes the site rows (overrides and clears): without a site column they would
read as the network's values. The network's own rows are kept.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('setting_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cleared', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_setting_change_site_id_site'), 'site', ['site_id'], ['id'])
        batch_op.create_check_constraint('cleared_at_a_site', sa.text('NOT cleared OR site_id IS NOT NULL'))
        batch_op.drop_index('ix_setting_change_key_at')
        batch_op.create_index('ix_setting_change_key_site_at', ['key', 'site_id', 'changed_at'], unique=False)


def downgrade():
    op.execute("DELETE FROM setting_change WHERE site_id IS NOT NULL")
    with op.batch_alter_table('setting_change', schema=None) as batch_op:
        batch_op.drop_index('ix_setting_change_key_site_at')
        batch_op.create_index('ix_setting_change_key_at', ['key', 'changed_at'], unique=False)
        batch_op.drop_constraint(batch_op.f('ck_setting_change_cleared_at_a_site'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_setting_change_site_id_site'), type_='foreignkey')
        batch_op.drop_column('cleared')
        batch_op.drop_column('site_id')
