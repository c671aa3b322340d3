"""one screening per course, kept by the database (a partial unique index), not only by the view

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:55:00

Two people opening a course's screening at the same moment could both pass the view's check
and both insert one. The index makes the second insert fail; the view turns that into the
redirect to the screening that won. ``kind`` is stored as its value ('screening') on both engines.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

WHERE = "kind = 'screening'"


def upgrade():
    doubled = op.get_bind().execute(sa.text(
        f"SELECT course_id FROM clinical_session WHERE {WHERE} GROUP BY course_id HAVING count(*) > 1"
    )).scalars().all()
    if doubled:
        raise RuntimeError(
            "These courses have more than one screening; keep one (the signed one) before "
            f"upgrading: course ids {', '.join(map(str, doubled))}."
        )
    op.create_index('uq_clinical_session_one_screening', 'clinical_session', ['course_id'], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade():
    op.drop_index('uq_clinical_session_one_screening', table_name='clinical_session')
