"""treatment courses and sessions: screening, preparation, dosing, integration, addenda;
signed sessions locked by trigger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 13:19:39.068142

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# A signed session is locked in the database itself: its identity, time, author, note and
# signature never change, nothing is deleted, and its kind-specific fields, administrations and
# addenda are frozen. Co-signing (cosigned_*), the version counter and updated_at may change.
LOCKED_COLUMNS = ("course_id", "kind", "occurred_at", "author_id", "note", "signed_at", "signed_by_id")
DETAIL_TABLES = ("screening", "preparation_session", "dosing_session", "integration_session")
SIGNED_MESSAGE = "a signed session cannot be changed: add an addendum"


def _sqlite_triggers():
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in LOCKED_COLUMNS)
    yield (
        "CREATE TRIGGER clinical_session_signed_no_update BEFORE UPDATE ON clinical_session "
        f"WHEN OLD.signed_at IS NOT NULL AND ({changed}) "
        f"BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END"
    )
    yield (
        "CREATE TRIGGER clinical_session_signed_no_delete BEFORE DELETE ON clinical_session "
        f"WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END"
    )
    for table in DETAIL_TABLES:
        for event in ("UPDATE", "DELETE"):
            yield (
                f"CREATE TRIGGER {table}_signed_no_{event.lower()} BEFORE {event} ON {table} "
                "WHEN (SELECT signed_at FROM clinical_session WHERE id = OLD.id) IS NOT NULL "
                f"BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END"
            )
    for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
        yield (
            f"CREATE TRIGGER administration_signed_no_{event.lower()} BEFORE {event} ON administration "
            f"WHEN (SELECT signed_at FROM clinical_session WHERE id = {row}.session_id) IS NOT NULL "
            f"BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END"
        )
    for event in ("UPDATE", "DELETE"):
        yield (
            f"CREATE TRIGGER addendum_no_{event.lower()} BEFORE {event} ON addendum "
            "BEGIN SELECT RAISE(ABORT, 'addendum is append-only'); END"
        )


def _postgresql_triggers():
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in LOCKED_COLUMNS)
    yield f"""
        CREATE FUNCTION kap_signed_session_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.signed_at IS NOT NULL AND (TG_OP = 'DELETE' OR {changed}) THEN
                RAISE EXCEPTION '{SIGNED_MESSAGE}';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$"""
    yield (
        "CREATE TRIGGER clinical_session_signed_locked BEFORE UPDATE OR DELETE ON clinical_session "
        "FOR EACH ROW EXECUTE FUNCTION kap_signed_session_locked()"
    )
    yield f"""
        CREATE FUNCTION kap_signed_detail_locked() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            parent integer;
        BEGIN
            IF TG_TABLE_NAME = 'administration' THEN
                parent := CASE WHEN TG_OP = 'INSERT' THEN NEW.session_id ELSE OLD.session_id END;
            ELSE
                parent := OLD.id;
            END IF;
            IF EXISTS (SELECT 1 FROM clinical_session WHERE id = parent AND signed_at IS NOT NULL) THEN
                RAISE EXCEPTION '{SIGNED_MESSAGE}';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$"""
    for table in DETAIL_TABLES:
        yield (
            f"CREATE TRIGGER {table}_signed_locked BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION kap_signed_detail_locked()"
        )
    yield (
        "CREATE TRIGGER administration_signed_locked BEFORE INSERT OR UPDATE OR DELETE ON administration "
        "FOR EACH ROW EXECUTE FUNCTION kap_signed_detail_locked()"
    )
    yield (
        "CREATE TRIGGER addendum_append_only BEFORE UPDATE OR DELETE ON addendum "
        "FOR EACH ROW EXECUTE FUNCTION kap_refuse_change()"
    )


def create_triggers():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (_postgresql_triggers() if postgres else _sqlite_triggers()):
        op.execute(statement)


def drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        for table in ("clinical_session", *DETAIL_TABLES, "administration"):
            name = "clinical_session_signed_locked" if table == "clinical_session" else f"{table}_signed_locked"
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP TRIGGER IF EXISTS addendum_append_only ON addendum")
        op.execute("DROP FUNCTION IF EXISTS kap_signed_session_locked()")
        op.execute("DROP FUNCTION IF EXISTS kap_signed_detail_locked()")
    else:
        for statement in _sqlite_triggers():
            op.execute("DROP TRIGGER IF EXISTS " + statement.split()[2])


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('course',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('planned_route', sa.Enum('lozenge', 'im', 'iv', name='route', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('planned_medicine_sessions', sa.Integer(), nullable=False),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.Enum('completed', 'discontinued', name='end_reason', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('end_note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(end_reason IS NULL AND ended_on IS NULL) OR (end_reason IS NOT NULL AND ended_on IS NOT NULL)', name=op.f('ck_course_ended_together')),
    sa.CheckConstraint('planned_medicine_sessions BETWEEN 1 AND 24', name=op.f('ck_course_planned_sessions_range')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_course_client_id_client')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_course_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course'))
    )
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_client_id'), ['client_id'], unique=False)
        batch_op.create_index('uq_course_one_open_per_client', ['client_id'], unique=True, sqlite_where=sa.text('end_reason IS NULL'), postgresql_where=sa.text('end_reason IS NULL'))

    op.create_table('clinical_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('screening', 'preparation', 'dosing', 'integration', name='session_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('cosigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cosigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(signed_at IS NULL AND signed_by_id IS NULL) OR (signed_at IS NOT NULL AND signed_by_id IS NOT NULL)', name=op.f('ck_clinical_session_signed_together')),
    sa.CheckConstraint('cosigned_at IS NULL OR signed_at IS NOT NULL', name=op.f('ck_clinical_session_cosign_after_sign')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_clinical_session_author_id_user')),
    sa.ForeignKeyConstraint(['cosigned_by_id'], ['user.id'], name=op.f('fk_clinical_session_cosigned_by_id_user')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_clinical_session_course_id_course')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['user.id'], name=op.f('fk_clinical_session_signed_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinical_session'))
    )
    with op.batch_alter_table('clinical_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinical_session_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_clinical_session_course_at', ['course_id', 'occurred_at'], unique=False)

    op.create_table('addendum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_addendum_author_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['clinical_session.id'], name=op.f('fk_addendum_session_id_clinical_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addendum'))
    )
    with op.batch_alter_table('addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_addendum_session_id'), ['session_id'], unique=False)

    op.create_table('dosing_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route', sa.Enum('lozenge', 'im', 'iv', name='dosing_route', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('administered_by_id', sa.Integer(), nullable=True),
    sa.Column('therapist_present_id', sa.Integer(), nullable=True),
    sa.Column('weight_kg', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('lot_number', sa.String(length=40), nullable=True),
    sa.Column('lot_expiry', sa.Date(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('eye_shades', sa.Boolean(), nullable=False),
    sa.Column('music', sa.Boolean(), nullable=False),
    sa.Column('side_effects', sa.JSON(), nullable=False),
    sa.Column('dissociation', sa.Integer(), nullable=True),
    sa.Column('sedation', sa.Integer(), nullable=True),
    sa.Column('dose_reason', sa.Text(), nullable=True),
    sa.Column('discharged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('discharge_criteria', sa.JSON(), nullable=False),
    sa.Column('escort_name', sa.String(length=120), nullable=True),
    sa.CheckConstraint('dissociation IS NULL OR dissociation BETWEEN 0 AND 4', name=op.f('ck_dosing_session_dissociation_range')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_dosing_session_ends_after_start')),
    sa.CheckConstraint('sedation IS NULL OR sedation BETWEEN 0 AND 5', name=op.f('ck_dosing_session_sedation_range')),
    sa.CheckConstraint('weight_kg IS NULL OR (weight_kg > 20 AND weight_kg < 350)', name=op.f('ck_dosing_session_weight_range')),
    sa.ForeignKeyConstraint(['administered_by_id'], ['user.id'], name=op.f('fk_dosing_session_administered_by_id_user')),
    sa.ForeignKeyConstraint(['id'], ['clinical_session.id'], name=op.f('fk_dosing_session_id_clinical_session')),
    sa.ForeignKeyConstraint(['therapist_present_id'], ['user.id'], name=op.f('fk_dosing_session_therapist_present_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dosing_session'))
    )
    op.create_table('preparation_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intentions', sa.Text(), nullable=False),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('fears', sa.Text(), nullable=False),
    sa.Column('resources', sa.Text(), nullable=False),
    sa.Column('medically_ready', sa.Boolean(), nullable=False),
    sa.Column('psychologically_ready', sa.Boolean(), nullable=False),
    sa.Column('readiness_notes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['clinical_session.id'], name=op.f('fk_preparation_session_id_clinical_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preparation_session'))
    )
    op.create_table('screening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bp_history', sa.Text(), nullable=False),
    sa.Column('heart_history', sa.Text(), nullable=False),
    sa.Column('current_medications', sa.Text(), nullable=False),
    sa.Column('interacting_medications', sa.JSON(), nullable=False),
    sa.Column('psychiatric_diagnoses', sa.Text(), nullable=False),
    sa.Column('psychosis_history', sa.Enum('none', 'self', 'family', 'self_and_family', 'unknown', name='psychosis_history', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('mania_history', sa.Enum('none', 'self', 'family', 'self_and_family', 'unknown', name='mania_history', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('dissociative_history', sa.Enum('none', 'self', 'family', 'self_and_family', 'unknown', name='dissociative_history', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('substance_use', sa.Text(), nullable=False),
    sa.Column('pregnancy', sa.Enum('not_applicable', 'no', 'pregnant', 'breastfeeding', name='pregnancy', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('support_network', sa.Text(), nullable=False),
    sa.Column('transport_home', sa.Text(), nullable=False),
    sa.Column('contraindications', sa.JSON(), nullable=False),
    sa.Column('decision', sa.Enum('eligible', 'not_eligible', 'deferred', name='decision', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('decision_rationale', sa.Text(), nullable=True),
    sa.Column('medical_clearance', sa.Text(), nullable=True),
    sa.Column('safety_plan', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['clinical_session.id'], name=op.f('fk_screening_id_clinical_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening'))
    )
    op.create_table('administration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dose_mg', sa.Numeric(precision=6, scale=1), nullable=False),
    sa.Column('strength_mg', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('count', sa.Numeric(precision=3, scale=1), nullable=True),
    sa.Column('hold_minutes', sa.Integer(), nullable=True),
    sa.Column('swallowed', sa.Boolean(), nullable=True),
    sa.Column('mg_per_kg', sa.Numeric(precision=4, scale=2), nullable=True),
    sa.Column('injection_site', sa.Enum('deltoid_left', 'deltoid_right', 'thigh_left', 'thigh_right', 'gluteal', name='injection_site', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('infusion_minutes', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('count IS NULL OR count > 0', name=op.f('ck_administration_count_positive')),
    sa.CheckConstraint('dose_mg > 0 AND dose_mg <= 1000', name=op.f('ck_administration_dose_positive')),
    sa.CheckConstraint('mg_per_kg IS NULL OR (mg_per_kg > 0 AND mg_per_kg <= 5)', name=op.f('ck_administration_mg_per_kg_range')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_administration_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['dosing_session.id'], name=op.f('fk_administration_session_id_dosing_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_administration'))
    )
    with op.batch_alter_table('administration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_administration_session_id'), ['session_id'], unique=False)

    op.create_table('integration_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dosing_session_id', sa.Integer(), nullable=False),
    sa.Column('what_felt_different', sa.Text(), nullable=False),
    sa.Column('emotions_body', sa.Text(), nullable=False),
    sa.Column('memories_beliefs', sa.Text(), nullable=False),
    sa.Column('insights', sa.Text(), nullable=False),
    sa.Column('experiments', sa.Text(), nullable=False),
    sa.Column('experiments_review', sa.Text(), nullable=False),
    sa.Column('support_safety', sa.Text(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['dosing_session_id'], ['dosing_session.id'], name=op.f('fk_integration_session_dosing_session_id_dosing_session')),
    sa.ForeignKeyConstraint(['id'], ['clinical_session.id'], name=op.f('fk_integration_session_id_clinical_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_session'))
    )
    with op.batch_alter_table('integration_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_session_dosing_session_id'), ['dosing_session_id'], unique=False)

    create_triggers()
    # ### end Alembic commands ###


def downgrade():
    drop_triggers()
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('integration_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_session_dosing_session_id'))

    op.drop_table('integration_session')
    with op.batch_alter_table('administration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_administration_session_id'))

    op.drop_table('administration')
    op.drop_table('screening')
    op.drop_table('preparation_session')
    op.drop_table('dosing_session')
    with op.batch_alter_table('addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_addendum_session_id'))

    op.drop_table('addendum')
    with op.batch_alter_table('clinical_session', schema=None) as batch_op:
        batch_op.drop_index('ix_clinical_session_course_at')
        batch_op.drop_index(batch_op.f('ix_clinical_session_author_id'))

    op.drop_table('clinical_session')
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_index('uq_course_one_open_per_client', sqlite_where=sa.text('end_reason IS NULL'), postgresql_where=sa.text('end_reason IS NULL'))
        batch_op.drop_index(batch_op.f('ix_course_client_id'))

    op.drop_table('course')
    # ### end Alembic commands ###
