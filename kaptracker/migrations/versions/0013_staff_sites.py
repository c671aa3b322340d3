"""staff work at sites; every session happens at a site; a network lead; the switcher's site

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 15:00:00

* ``staff_site``: which sites a member of staff works at (supervises, for a supervisor). Every
  existing account but the administrators' is put at every existing site, so that no one sees
  less than before the upgrade; administrators then choose.
* ``user.network_lead``: a supervisor of every site (false for everyone at first).
* ``user_session.site_id``: the site a signed-in session's lists show (NULL: all the user's sites).
* ``clinical_session.site_id``, required: an existing session happened at its client's home site.
  The column is locked once the session is signed, as its other clinical columns are: the
  triggers of migration 0002 are made again with it.

SQLite adds a required column in place only with a default and without a foreign-key check at
that moment: foreign keys are off for this migration (env.py switches them on again), the
default is the first site's id, every row is then set to its client's home site, and
``PRAGMA foreign_key_check`` runs before the migration commits. No table is rebuilt, so the
triggers and partial indexes of clinical_session stay as they were.
"""
import warnings

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SIGNED_MESSAGE = "a signed session cannot be changed: add an addendum"
LOCKED_BEFORE = ("course_id", "kind", "occurred_at", "author_id", "note", "signed_at", "signed_by_id")
LOCKED_NOW = LOCKED_BEFORE + ("site_id",)
# clinical_session's partial indexes (migrations 0004 and 0009), as SQLite's rebuild needs them.
PARTIAL_INDEXES = (
    ("uq_clinical_session_one_screening", ["course_id"], "kind = 'screening'"),
    ("ix_clinical_session_unsigned", ["occurred_at"], "signed_at IS NULL"),
    ("ix_clinical_session_to_cosign", ["author_id", "signed_at"], "signed_at IS NOT NULL AND cosigned_at IS NULL"),
)
HOME_SITES = ("UPDATE clinical_session SET site_id = (SELECT client.home_site_id FROM course"
              " JOIN client ON client.id = course.client_id WHERE course.id = clinical_session.course_id)")


def _sqlite_lock(columns) -> str:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    return (
        "CREATE TRIGGER clinical_session_signed_no_update BEFORE UPDATE ON clinical_session "
        f"WHEN OLD.signed_at IS NOT NULL AND ({changed}) "
        f"BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END"
    )


def _postgresql_lock(columns) -> str:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    return f"""
        CREATE OR REPLACE FUNCTION kap_signed_session_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.signed_at IS NOT NULL AND (TG_OP = 'DELETE' OR {changed}) THEN
                RAISE EXCEPTION '{SIGNED_MESSAGE}';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$"""


def _lock(bind, columns) -> None:
    """The signed-session lock of migration 0002, over ``columns``."""
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS clinical_session_signed_no_update")
        op.execute(_sqlite_lock(columns))
    else:
        op.execute(_postgresql_lock(columns))


def _foreign_keys_off(bind) -> None:
    """SQLite: the pragma works only outside a transaction, so it is this migration's first statement."""
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(bind) -> None:
    if bind.dialect.name == "sqlite":
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration 0013 would leave rows pointing at nothing: {broken[:5]}")


def upgrade():
    bind = op.get_bind()
    _foreign_keys_off(bind)
    op.create_table(
        'staff_site',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_staff_site_site_id_site')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_staff_site_user_id_user')),
        sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_staff_site')),
    )
    op.create_index('ix_staff_site_site_id', 'staff_site', ['site_id'], unique=False)
    bind.execute(sa.text(
        "INSERT INTO staff_site (user_id, site_id) SELECT u.id, s.id FROM \"user\" u CROSS JOIN site s"
        " WHERE u.role <> 'admin'"))
    op.add_column('user', sa.Column('network_lead', sa.Boolean(), server_default=sa.false(), nullable=False))

    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE user_session ADD COLUMN site_id INTEGER"
                   " CONSTRAINT fk_user_session_site_id_site REFERENCES site (id)")
        first = bind.execute(sa.text("SELECT min(id) FROM site")).scalar() or 1
        op.execute(f"ALTER TABLE clinical_session ADD COLUMN site_id INTEGER NOT NULL DEFAULT {int(first)}"
                   " CONSTRAINT fk_clinical_session_site_id_site REFERENCES site (id)")
        bind.execute(sa.text(HOME_SITES))
    else:
        op.add_column('user_session', sa.Column('site_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_user_session_site_id_site'), 'user_session', 'site', ['site_id'], ['id'])
        op.add_column('clinical_session', sa.Column('site_id', sa.Integer(), nullable=True))
        # The signed-session lock does not yet cover site_id: signed rows take their site too.
        bind.execute(sa.text(HOME_SITES))
        op.alter_column('clinical_session', 'site_id', existing_type=sa.Integer(), nullable=False)
        op.create_foreign_key(op.f('fk_clinical_session_site_id_site'), 'clinical_session', 'site',
                              ['site_id'], ['id'])
    op.create_index(op.f('ix_clinical_session_site_id'), 'clinical_session', ['site_id'], unique=False)
    _lock(bind, LOCKED_NOW)
    _check_foreign_keys(bind)


def downgrade():
    bind = op.get_bind()
    _foreign_keys_off(bind)
    _lock(bind, LOCKED_BEFORE)
    op.drop_index(op.f('ix_clinical_session_site_id'), table_name='clinical_session')
    if bind.dialect.name == "sqlite":
        # SQLite drops a column in place only when no constraint names it; these carry a foreign
        # key, so the tables are rebuilt by batch mode, which loses clinical_session's triggers
        # and the partial indexes it cannot reflect: they are made again.
        # The rebuilt table is renamed into place while other tables' triggers name it: the
        # legacy rename leaves them alone (they name the table, which is there again).
        bind.exec_driver_sql("PRAGMA legacy_alter_table=ON")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
            with op.batch_alter_table('clinical_session') as batch_op:
                batch_op.drop_column('site_id')
            with op.batch_alter_table('user_session') as batch_op:
                batch_op.drop_column('site_id')
        bind.exec_driver_sql("PRAGMA legacy_alter_table=OFF")
        op.execute("DROP TRIGGER IF EXISTS clinical_session_signed_no_update")
        op.execute(_sqlite_lock(LOCKED_BEFORE))
        op.execute("DROP TRIGGER IF EXISTS clinical_session_signed_no_delete")
        op.execute("CREATE TRIGGER clinical_session_signed_no_delete BEFORE DELETE ON clinical_session "
                   f"WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END")
        for name, columns, where in PARTIAL_INDEXES:
            op.create_index(name, 'clinical_session', columns, unique=name.startswith("uq_"),
                            sqlite_where=sa.text(where), if_not_exists=True)
    else:
        op.drop_constraint(op.f('fk_clinical_session_site_id_site'), 'clinical_session', type_='foreignkey')
        op.drop_column('clinical_session', 'site_id')
        op.drop_constraint(op.f('fk_user_session_site_id_site'), 'user_session', type_='foreignkey')
        op.drop_column('user_session', 'site_id')
    op.drop_column('user', 'network_lead')
    op.drop_index('ix_staff_site_site_id', table_name='staff_site')
    op.drop_table('staff_site')
    _check_foreign_keys(bind)
