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
