"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from kaptracker.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes; the migration creates it by hand.
            warnings.filterwarnings("ignore", message=".*expression-based index")
            differences = compare_metadata(context, db.metadata)
    # Migration 0006's trigram index for the client search exists only where PostgreSQL could
    # create the pg_trgm extension, so the models do not declare it.
    differences = [d for d in differences
                   if not (d[0] == "remove_index" and d[1].name == "ix_client_name_search_trgm")]
    assert differences == []


def test_downgrade_to_nothing_and_back(app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert {"user", "client", "audit_event"} <= set(inspect(db.engine).get_table_names())


def _rollup(*, outcomes: bool) -> list[tuple]:
    with db.engine.connect() as conn:
        if outcomes:
            query = "SELECT course_id, scale, baseline_total, latest_total, measured FROM course_outcome"
            return [tuple(row) for row in conn.execute(text(query + " ORDER BY course_id, scale"))]
        return [tuple(row) for row in conn.execute(text(
            "SELECT id, phase, medicine_given, last_contact_at, unintegrated_since, unintegrated_session_id"
            " FROM course ORDER BY id"))]


def test_the_frozen_rollups_of_0004_and_0007_store_what_the_app_stores(app):
    """Migrations 0004 and 0007 fill the course rollup of a clinic that already has records, with
    frozen copies of the rollup code: on the demo clinic they store what kaptracker.rollup does."""
    from kaptracker.ops import demo

    from conftest import PASSWORD

    demo.seed(PASSWORD)
    db.session.commit()
    db.session.remove()
    courses, outcomes = _rollup(outcomes=False), _rollup(outcomes=True)
    assert len({row[1] for row in courses}) == 5 and any(row[4] for row in courses)  # every phase, one waiting
    assert any(row[4] for row in outcomes) and not all(row[4] for row in outcomes)
    downgrade(revision="0006")  # 0007 goes: the oldest unintegrated session, the outcome rows
    upgrade()
    assert (_rollup(outcomes=False), _rollup(outcomes=True)) == (courses, outcomes)
    downgrade(revision="0003")  # 0004 goes: phase, medicine sessions given, last contact (and scores)
    upgrade()
    assert _rollup(outcomes=False) == courses


def test_audit_events_cannot_be_changed_in_the_database(app, make_user):
    import pytest
    from sqlalchemy.exc import DatabaseError

    from kaptracker.auditing import record
    from kaptracker.models import AuditAction

    record(AuditAction.LOGIN, "user", 1, user=make_user("therapist"))
    db.session.commit()
    for statement in ("UPDATE audit_event SET detail = 'rewritten'", "DELETE FROM audit_event"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1
