"""vital signs, safety alerts and overrides; settings sign-off; readings never edited

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:55:40.237067

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Readings are never deleted and their measurements never change: a wrong reading is marked
# entered in error once (who, when, why). Nothing is added to a signed session. Overrides are
# append-only; an alert changes only by being acknowledged.
MEASURED = ("session_id", "taken_at", "timepoint", "systolic", "diastolic", "heart_rate", "spo2",
            "note", "recorded_by_id", "recorded_at")
ALERT_FIXED = ("session_id", "vital_sign_id", "rule", "level", "message", "raised_at")


def _sqlite():
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in MEASURED)
    yield ("CREATE TRIGGER vital_sign_no_delete BEFORE DELETE ON vital_sign "
           "BEGIN SELECT RAISE(ABORT, 'vital signs are never deleted: mark them entered in error'); END")
    yield ("CREATE TRIGGER vital_sign_no_edit BEFORE UPDATE ON vital_sign "
           f"WHEN ({changed}) OR OLD.entered_in_error_at IS NOT NULL "
           "BEGIN SELECT RAISE(ABORT, 'a reading is never edited: mark it entered in error once and enter a new one'); END")
    yield ("CREATE TRIGGER vital_sign_signed_no_insert BEFORE INSERT ON vital_sign "
           "WHEN (SELECT signed_at FROM clinical_session WHERE id = NEW.session_id) IS NOT NULL "
           "BEGIN SELECT RAISE(ABORT, 'a signed session cannot be changed: add an addendum'); END")
    yield ("CREATE TRIGGER vital_sign_signed_no_update BEFORE UPDATE ON vital_sign "
           "WHEN (SELECT signed_at FROM clinical_session WHERE id = OLD.session_id) IS NOT NULL "
           "BEGIN SELECT RAISE(ABORT, 'a signed session cannot be changed: add an addendum'); END")
    for event in ("UPDATE", "DELETE"):
        yield (f"CREATE TRIGGER safety_override_no_{event.lower()} BEFORE {event} ON safety_override "
               "BEGIN SELECT RAISE(ABORT, 'safety_override is append-only'); END")
    fixed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ALERT_FIXED)
    yield ("CREATE TRIGGER safety_alert_no_edit BEFORE UPDATE ON safety_alert "
           f"WHEN ({fixed}) OR OLD.acknowledged_at IS NOT NULL "
           "BEGIN SELECT RAISE(ABORT, 'an alert changes only by being acknowledged, once'); END")
    yield ("CREATE TRIGGER safety_alert_no_delete BEFORE DELETE ON safety_alert "
           "BEGIN SELECT RAISE(ABORT, 'safety alerts are never deleted'); END")


def _postgresql():
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in MEASURED)
    fixed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ALERT_FIXED)
    yield f"""
        CREATE FUNCTION kap_vital_sign_rules() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'vital signs are never deleted: mark them entered in error';
            END IF;
            IF EXISTS (SELECT 1 FROM clinical_session WHERE id = NEW.session_id AND signed_at IS NOT NULL) THEN
                RAISE EXCEPTION 'a signed session cannot be changed: add an addendum';
            END IF;
            IF TG_OP = 'UPDATE' AND ({changed} OR OLD.entered_in_error_at IS NOT NULL) THEN
                RAISE EXCEPTION 'a reading is never edited: mark it entered in error once and enter a new one';
            END IF;
            RETURN NEW;
        END $$"""
    yield ("CREATE TRIGGER vital_sign_rules BEFORE INSERT OR UPDATE OR DELETE ON vital_sign "
           "FOR EACH ROW EXECUTE FUNCTION kap_vital_sign_rules()")
    yield ("CREATE TRIGGER safety_override_append_only BEFORE UPDATE OR DELETE ON safety_override "
           "FOR EACH ROW EXECUTE FUNCTION kap_refuse_change()")
    yield f"""
        CREATE FUNCTION kap_safety_alert_rules() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'safety alerts are never deleted'; END IF;
            IF {fixed} OR OLD.acknowledged_at IS NOT NULL THEN
                RAISE EXCEPTION 'an alert changes only by being acknowledged, once';
            END IF;
            RETURN NEW;
        END $$"""
    yield ("CREATE TRIGGER safety_alert_rules BEFORE UPDATE OR DELETE ON safety_alert "
           "FOR EACH ROW EXECUTE FUNCTION kap_safety_alert_rules()")


def create_triggers():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (_postgresql() if postgres else _sqlite()):
        op.execute(statement)


def drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS vital_sign_rules ON vital_sign")
        op.execute("DROP TRIGGER IF EXISTS safety_override_append_only ON safety_override")
        op.execute("DROP TRIGGER IF EXISTS safety_alert_rules ON safety_alert")
        op.execute("DROP FUNCTION IF EXISTS kap_vital_sign_rules()")
        op.execute("DROP FUNCTION IF EXISTS kap_safety_alert_rules()")
    else:
        for statement in _sqlite():
            op.execute("DROP TRIGGER IF EXISTS " + statement.split()[2])


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('safety_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('dose_hold', 'discharge', name='override_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('rules', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_safety_override_created_by_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['clinical_session.id'], name=op.f('fk_safety_override_session_id_clinical_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_override'))
    )
    with op.batch_alter_table('safety_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_override_session_id'), ['session_id'], unique=False)

    op.create_table('vital_sign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timepoint', sa.Enum('baseline', 'during', 'post', 'discharge', name='timepoint', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('systolic', sa.Integer(), nullable=False),
    sa.Column('diastolic', sa.Integer(), nullable=False),
    sa.Column('heart_rate', sa.Integer(), nullable=False),
    sa.Column('spo2', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_in_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entered_in_error_by_id', sa.Integer(), nullable=True),
    sa.Column('error_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(entered_in_error_at IS NULL AND entered_in_error_by_id IS NULL AND error_reason IS NULL) OR (entered_in_error_at IS NOT NULL AND entered_in_error_by_id IS NOT NULL AND error_reason IS NOT NULL)', name=op.f('ck_vital_sign_error_marked_together')),
    sa.CheckConstraint('diastolic BETWEEN 30 AND 160', name=op.f('ck_vital_sign_diastolic_plausible')),
    sa.CheckConstraint('heart_rate BETWEEN 30 AND 220', name=op.f('ck_vital_sign_heart_rate_plausible')),
    sa.CheckConstraint('spo2 IS NULL OR spo2 BETWEEN 50 AND 100', name=op.f('ck_vital_sign_spo2_plausible')),
    sa.CheckConstraint('systolic > diastolic', name=op.f('ck_vital_sign_systolic_above_diastolic')),
    sa.CheckConstraint('systolic BETWEEN 60 AND 260', name=op.f('ck_vital_sign_systolic_plausible')),
    sa.ForeignKeyConstraint(['entered_in_error_by_id'], ['user.id'], name=op.f('fk_vital_sign_entered_in_error_by_id_user')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_vital_sign_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['clinical_session.id'], name=op.f('fk_vital_sign_session_id_clinical_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vital_sign'))
    )
    with op.batch_alter_table('vital_sign', schema=None) as batch_op:
        batch_op.create_index('ix_vital_sign_session_taken', ['session_id', 'taken_at'], unique=False)

    op.create_table('safety_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('vital_sign_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Enum('critical', 'alert', 'hold', 'caution', 'overdue', name='alert_level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledgement_note', sa.Text(), nullable=True),
    sa.CheckConstraint('(acknowledged_at IS NULL AND acknowledged_by_id IS NULL) OR (acknowledged_at IS NOT NULL AND acknowledged_by_id IS NOT NULL)', name=op.f('ck_safety_alert_acknowledged_together')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user.id'], name=op.f('fk_safety_alert_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['clinical_session.id'], name=op.f('fk_safety_alert_session_id_clinical_session')),
    sa.ForeignKeyConstraint(['vital_sign_id'], ['vital_sign.id'], name=op.f('fk_safety_alert_vital_sign_id_vital_sign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_alert')),
    sa.UniqueConstraint('session_id', 'rule', 'vital_sign_id', name='uq_safety_alert_once')
    )
    with op.batch_alter_table('safety_alert', schema=None) as batch_op:
        batch_op.create_index('ix_safety_alert_open', ['session_id', 'acknowledged_at'], unique=False)

    with op.batch_alter_table('setting_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by', sa.String(length=120), nullable=True))

    create_triggers()
    # ### end Alembic commands ###


def downgrade():
    drop_triggers()
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('setting_change', schema=None) as batch_op:
        batch_op.drop_column('approved_by')

    with op.batch_alter_table('safety_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_safety_alert_open')

    op.drop_table('safety_alert')
    with op.batch_alter_table('vital_sign', schema=None) as batch_op:
        batch_op.drop_index('ix_vital_sign_session_taken')

    op.drop_table('vital_sign')
    with op.batch_alter_table('safety_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_override_session_id'))

    op.drop_table('safety_override')
    # ### end Alembic commands ###
