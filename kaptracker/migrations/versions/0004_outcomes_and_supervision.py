"""outcome measures, review comments, override reviews; course summary for dashboards

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 15:20:33.946608

"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Scores: the answers and total never change and nothing is deleted; a score is marked entered in
# error once, and its self-harm flag acknowledged once. Review comments and override reviews are
# append-only.
SCORE_FIXED = ("course_id", "scale", "occasion", "session_number", "completed_on", "answers",
               "total", "band", "self_harm_flag", "recorded_by_id", "recorded_at")
# Each set once, all three together: once set, none of them changes again.
ACKNOWLEDGED = ("flag_acknowledged_at", "flag_acknowledged_by_id", "flag_action")
IN_ERROR = ("entered_in_error_at", "entered_in_error_by_id", "error_reason")
APPEND_ONLY = ("review_comment", "override_review")


def _changed(columns, *, postgres=False) -> str:
    op_ = "IS DISTINCT FROM" if postgres else "IS NOT"
    return " OR ".join(f"NEW.{c} {op_} OLD.{c}" for c in columns)


def _sqlite():
    fixed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in SCORE_FIXED)
    yield ("CREATE TRIGGER outcome_score_no_delete BEFORE DELETE ON outcome_score "
           "BEGIN SELECT RAISE(ABORT, 'scores are never deleted: mark them entered in error'); END")
    yield ("CREATE TRIGGER outcome_score_no_edit BEFORE UPDATE ON outcome_score "
           f"WHEN ({fixed}) "
           f"OR (OLD.entered_in_error_at IS NOT NULL AND ({_changed(IN_ERROR)})) "
           f"OR (OLD.flag_acknowledged_at IS NOT NULL AND ({_changed(ACKNOWLEDGED)})) "
           "BEGIN SELECT RAISE(ABORT, 'a score is never edited: mark it entered in error and enter it again'); END")
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            yield (f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _postgresql():
    # json has no equality operator on PostgreSQL: compare its text.
    fixed = " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" if c == "answers"
                        else f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in SCORE_FIXED)
    yield f"""
        CREATE FUNCTION kap_outcome_score_rules() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'scores are never deleted: mark them entered in error';
            END IF;
            IF ({fixed})
               OR (OLD.entered_in_error_at IS NOT NULL AND ({_changed(IN_ERROR, postgres=True)}))
               OR (OLD.flag_acknowledged_at IS NOT NULL AND ({_changed(ACKNOWLEDGED, postgres=True)})) THEN
                RAISE EXCEPTION 'a score is never edited: mark it entered in error and enter it again';
            END IF;
            RETURN NEW;
        END $$"""
    yield ("CREATE TRIGGER outcome_score_rules BEFORE UPDATE OR DELETE ON outcome_score "
           "FOR EACH ROW EXECUTE FUNCTION kap_outcome_score_rules()")
    yield """
        CREATE FUNCTION kap_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
        END $$"""
    for table in APPEND_ONLY:
        yield (f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
               "FOR EACH ROW EXECUTE FUNCTION kap_append_only()")


def create_triggers():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (_postgresql() if postgres else _sqlite()):
        op.execute(statement)


def drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outcome_score_rules ON outcome_score")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS kap_outcome_score_rules()")
        op.execute("DROP FUNCTION IF EXISTS kap_append_only()")
    else:
        for statement in _sqlite():
            op.execute("DROP TRIGGER IF EXISTS " + statement.split()[2])


# Frozen: the course rollup and phase rule (kaptracker/rollup.py, kaptracker/rules/phases.py) as
# they stood when this migration was written. A migration never imports live code, which changes.
_BATCH = 500
_COURSES = sa.text("SELECT id, end_reason, planned_medicine_sessions FROM course ORDER BY id")
_SESSIONS = sa.text(
    "SELECT cs.course_id, cs.id, cs.kind, cs.occurred_at, cs.signed_at, s.decision, i.dosing_session_id"
    " FROM clinical_session cs"
    " LEFT JOIN screening s ON s.id = cs.id"
    " LEFT JOIN integration_session i ON i.id = cs.id"
    " WHERE cs.course_id IN :ids ORDER BY cs.course_id, cs.occurred_at, cs.id"
).bindparams(sa.bindparam("ids", expanding=True))
_STORE = sa.text("UPDATE course SET phase = :phase, medicine_given = :medicine_given,"
                 " last_contact_at = :last_contact_at WHERE id = :id")


def _as_written(value):
    """A timestamp as the rollup wrote it: a datetime (SQLite reads its text back)."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _phase(end_reason, decision, signed_preparations: int, planned: int, medicine: list[bool]) -> str:
    """The phase rule of the time; ``medicine``: whether each medicine session, in time order,
    has an integration session."""
    if end_reason in ("completed", "discontinued"):
        return end_reason
    if decision != "eligible" or signed_preparations == 0:  # medicine may not start
        return "integration" if medicine else "preparation"
    if medicine and not medicine[-1]:
        return "integration"
    return "integration" if len(medicine) >= planned else "medicine"


def summarise_existing_courses():
    """Fill the new summary columns of courses that already exist: phase, medicine sessions
    given, last contact (SQL orders the sessions in time)."""
    connection = op.get_bind()
    courses = connection.execute(_COURSES).all()
    for start in range(0, len(courses), _BATCH):
        chunk = courses[start:start + _BATCH]
        rows_by_course = {course.id: [] for course in chunk}
        for row in connection.execute(_SESSIONS, {"ids": list(rows_by_course)}):
            rows_by_course[row.course_id].append(row)
        updates = []
        for course in chunk:
            rows = rows_by_course[course.id]
            integrated = {r.dosing_session_id for r in rows if r.dosing_session_id is not None}
            screening = next((r for r in rows if r.kind == "screening"), None)
            decision = screening.decision if screening is not None and screening.signed_at is not None else None
            medicine = [r.id in integrated for r in rows if r.kind == "dosing"]
            prepared = sum(1 for r in rows if r.kind == "preparation" and r.signed_at is not None)
            updates.append({
                "id": course.id,
                "phase": _phase(course.end_reason, decision, prepared, course.planned_medicine_sessions, medicine),
                "medicine_given": len(medicine),
                "last_contact_at": _as_written(rows[-1].occurred_at) if rows else None,
            })
        connection.execute(_STORE, updates)


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('outcome_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('scale', sa.Enum('phq9', 'gad7', 'pcl5', name='scale', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('occasion', sa.Enum('baseline', 'pre_session', 'follow_up', name='score_occasion', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('session_number', sa.Integer(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('band', sa.String(length=40), nullable=False),
    sa.Column('self_harm_flag', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('flag_acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flag_acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('flag_action', sa.Text(), nullable=True),
    sa.Column('entered_in_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entered_in_error_by_id', sa.Integer(), nullable=True),
    sa.Column('error_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("(occasion = 'pre_session' AND session_number IS NOT NULL AND session_number BETWEEN 1 AND 24) OR (occasion <> 'pre_session' AND session_number IS NULL)", name=op.f('ck_outcome_score_session_number_for_pre_session')),
    sa.CheckConstraint('(entered_in_error_at IS NULL AND entered_in_error_by_id IS NULL AND error_reason IS NULL) OR (entered_in_error_at IS NOT NULL AND entered_in_error_by_id IS NOT NULL AND error_reason IS NOT NULL)', name=op.f('ck_outcome_score_error_marked_together')),
    sa.CheckConstraint('(flag_acknowledged_at IS NULL AND flag_acknowledged_by_id IS NULL AND flag_action IS NULL) OR (flag_acknowledged_at IS NOT NULL AND flag_acknowledged_by_id IS NOT NULL AND flag_action IS NOT NULL)', name=op.f('ck_outcome_score_flag_acknowledged_together')),
    sa.CheckConstraint('self_harm_flag OR flag_acknowledged_at IS NULL', name=op.f('ck_outcome_score_ack_needs_flag')),
    sa.CheckConstraint('total >= 0 AND total <= 80', name=op.f('ck_outcome_score_total_range')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_outcome_score_course_id_course')),
    sa.ForeignKeyConstraint(['entered_in_error_by_id'], ['user.id'], name=op.f('fk_outcome_score_entered_in_error_by_id_user')),
    sa.ForeignKeyConstraint(['flag_acknowledged_by_id'], ['user.id'], name=op.f('fk_outcome_score_flag_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_outcome_score_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_score'))
    )
    with op.batch_alter_table('outcome_score', schema=None) as batch_op:
        batch_op.create_index('ix_outcome_score_course_scale', ['course_id', 'scale', 'completed_on'], unique=False)
        batch_op.create_index('ix_outcome_score_open_flag', ['course_id'], unique=False, sqlite_where=sa.text('self_harm_flag AND flag_acknowledged_at IS NULL'), postgresql_where=sa.text('self_harm_flag AND flag_acknowledged_at IS NULL'))

    op.create_table('review_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('reply_to_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reply_to_id IS NULL OR reply_to_id <> id', name=op.f('ck_review_comment_not_own_reply')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_review_comment_author_id_user')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_review_comment_course_id_course')),
    sa.ForeignKeyConstraint(['reply_to_id'], ['review_comment.id'], name=op.f('fk_review_comment_reply_to_id_review_comment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_comment'))
    )
    with op.batch_alter_table('review_comment', schema=None) as batch_op:
        batch_op.create_index('ix_review_comment_course', ['course_id', 'created_at'], unique=False)
        batch_op.create_index('ix_review_comment_reply_to', ['reply_to_id'], unique=False)

    op.create_table('override_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('override_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['override_id'], ['safety_override.id'], name=op.f('fk_override_review_override_id_safety_override')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], name=op.f('fk_override_review_reviewed_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_override_review')),
    sa.UniqueConstraint('override_id', name=op.f('uq_override_review_override_id'))
    )
    with op.batch_alter_table('clinical_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinical_session_author_id'))
        batch_op.create_index('ix_clinical_session_author_at', ['author_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_clinical_session_to_cosign', ['author_id', 'signed_at'], unique=False, sqlite_where=sa.text('signed_at IS NOT NULL AND cosigned_at IS NULL'), postgresql_where=sa.text('signed_at IS NOT NULL AND cosigned_at IS NULL'))
        batch_op.create_index('ix_clinical_session_unsigned', ['occurred_at'], unique=False, sqlite_where=sa.text('signed_at IS NULL'), postgresql_where=sa.text('signed_at IS NULL'))

    # Plain ALTER TABLE ADD COLUMN on both engines (no table rebuild, so the triggers on other
    # tables and the foreign keys into course are untouched); existing courses are summarised below.
    phases = ('preparation', 'medicine', 'integration', 'completed', 'discontinued')
    if op.get_bind().dialect.name == 'sqlite':  # Alembic would drop the CHECK on SQLite
        op.execute("ALTER TABLE course ADD COLUMN phase VARCHAR(12) DEFAULT 'preparation' NOT NULL "
                   "CONSTRAINT ck_course_course_phase CHECK (phase IN ("
                   + ", ".join(f"'{p}'" for p in phases) + "))")
    else:
        op.add_column('course', sa.Column('phase', sa.Enum(*phases, name='course_phase', native_enum=False, create_constraint=True), nullable=False, server_default='preparation'))
    op.add_column('course', sa.Column('medicine_given', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('course', sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_course_last_contact', 'course', ['last_contact_at'], unique=False)
    op.create_index('ix_course_phase', 'course', ['phase', 'client_id'], unique=False)
    summarise_existing_courses()
    create_triggers()
    # ### end Alembic commands ###


def downgrade():
    drop_triggers()
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index('ix_course_phase', table_name='course')
    op.drop_index('ix_course_last_contact', table_name='course')
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): no table rebuild.
    op.drop_column('course', 'last_contact_at')
    op.drop_column('course', 'medicine_given')
    op.drop_column('course', 'phase')

    with op.batch_alter_table('clinical_session', schema=None) as batch_op:
        batch_op.drop_index('ix_clinical_session_unsigned', sqlite_where=sa.text('signed_at IS NULL'), postgresql_where=sa.text('signed_at IS NULL'))
        batch_op.drop_index('ix_clinical_session_to_cosign', sqlite_where=sa.text('signed_at IS NOT NULL AND cosigned_at IS NULL'), postgresql_where=sa.text('signed_at IS NOT NULL AND cosigned_at IS NULL'))
        batch_op.drop_index('ix_clinical_session_author_at')
        batch_op.create_index(batch_op.f('ix_clinical_session_author_id'), ['author_id'], unique=False)

    op.drop_table('override_review')
    with op.batch_alter_table('review_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_review_comment_reply_to')
        batch_op.drop_index('ix_review_comment_course')

    op.drop_table('review_comment')
    with op.batch_alter_table('outcome_score', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_score_open_flag', sqlite_where=sa.text('self_harm_flag AND flag_acknowledged_at IS NULL'), postgresql_where=sa.text('self_harm_flag AND flag_acknowledged_at IS NULL'))
        batch_op.drop_index('ix_outcome_score_course_scale')

    op.drop_table('outcome_score')
    # ### end Alembic commands ###
