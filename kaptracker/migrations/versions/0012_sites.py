"""sites: the clinic's locations; every client has a home site

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 09:00:00

A site is a clinic location with its own time zone, phone, DEA registration number and crisis
line. An existing single-clinic database becomes one default site, code MAIN, named by the stored
``clinic.name`` setting (else "KAP Clinic") and in the stored ``clinic.timezone`` (else
America/New_York); a fresh database gets the same default site. Every client's home site is
that site, and then ``client.home_site_id`` is required.

SQLite cannot make a column NOT NULL in place: the client table is rebuilt (batch mode), which
drops the original table while other tables' rows point at it, so foreign keys are switched off
for this migration (env.py switches them on again) and checked (``PRAGMA foreign_key_check``)
before it commits. The rebuild cannot reflect the expression index of migration 0001, which is
made again.
"""
import contextlib
import warnings
import zoneinfo

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

DEFAULT_NAME = "KAP Clinic"
DEFAULT_ZONE = "America/New_York"
NAME_LENGTH = 200
LOWER_NAME_INDEX = ("ix_client_family_name_lower_dob", [sa.text('lower(family_name)'), 'date_of_birth'])


def _stored(bind, key: str) -> str | None:
    """The value in force of a stored setting (its newest row), stripped; None when there is none."""
    value = bind.execute(sa.text("SELECT value FROM setting_change WHERE key = :key ORDER BY id DESC LIMIT 1"),
                         {"key": key}).scalar()
    if value is None:
        return None
    return value.strip() or None


def _zone(name: str | None) -> str:
    """The stored zone when it is still a zone this Python knows, else the default (as the app reads it)."""
    if not name or "\x00" in name or name.startswith(("/", ".")) or ".." in name:
        return DEFAULT_ZONE
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return DEFAULT_ZONE
    return name


def _foreign_keys_off(bind) -> None:
    """SQLite: off for the rebuild. The pragma works only outside a transaction, so it is this
    migration's first statement; env.py switches them on again once the migrations are done."""
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(bind) -> None:
    if bind.dialect.name == "sqlite":
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration 0012 would leave rows pointing at nothing: {broken[:5]}")


def upgrade():
    bind = op.get_bind()
    _foreign_keys_off(bind)
    site = op.create_table(
        'site',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=NAME_LENGTH), nullable=False),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('dea_registration', sa.String(length=9), nullable=True),
        sa.Column('crisis_line', sa.String(length=40), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint('length(code) >= 2', name=op.f('ck_site_code_not_short')),
        sa.CheckConstraint('length(name) > 0', name=op.f('ck_site_name_not_empty')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
        sa.UniqueConstraint('code', name=op.f('uq_site_code')),
        sa.UniqueConstraint('name', name=op.f('uq_site_name')),
    )
    name = (_stored(bind, "clinic.name") or DEFAULT_NAME)[:NAME_LENGTH]
    bind.execute(sa.insert(site).values(
        code="MAIN", name=name, time_zone=_zone(_stored(bind, "clinic.timezone")), crisis_line="988",
        active=True, created_at=sa.func.current_timestamp(), version=1))
    site_id = bind.execute(sa.text("SELECT id FROM site WHERE code = 'MAIN'")).scalar()
    with _client_table() as batch_op:
        batch_op.add_column(sa.Column('home_site_id', sa.Integer(), nullable=True))
    bind.execute(sa.text("UPDATE client SET home_site_id = :site"), {"site": site_id})
    with _client_table() as batch_op:
        batch_op.alter_column('home_site_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_client_home_site_id'), ['home_site_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_client_home_site_id_site'), 'site', ['home_site_id'], ['id'])
    _lower_name_index(bind)
    _check_foreign_keys(bind)


def downgrade():
    bind = op.get_bind()
    _foreign_keys_off(bind)
    with _client_table() as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_client_home_site_id_site'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_client_home_site_id'))
        batch_op.drop_column('home_site_id')
    _lower_name_index(bind)
    op.drop_table('site')
    _check_foreign_keys(bind)


@contextlib.contextmanager
def _client_table():
    """The client table in batch mode; SQLite's rebuild reflects it, less the expression index
    it cannot reflect (made again by ``_lower_name_index``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table('client', schema=None) as batch_op:
            yield batch_op


def _lower_name_index(bind) -> None:
    """SQLite's rebuild of the client table lost the expression index (it cannot be reflected)."""
    if bind.dialect.name == "sqlite":
        op.create_index(LOWER_NAME_INDEX[0], 'client', LOWER_NAME_INDEX[1], if_not_exists=True)
