"""`flask backup` / `flask restore`: the demo clinic, backed up and restored into a fresh database,
comes back identical, table by table and row by row, with its triggers still refusing changes.

Runs on the suite's engine: SQLite by default, PostgreSQL with KAPTRACKER_TEST_DATABASE_URL (the
restore goes into a scratch database made for the test and dropped after it).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from kaptracker.ops import demo
from kaptracker.auditing import record
from kaptracker.extensions import db
from kaptracker.models import AuditAction, Client

from conftest import PASSWORD
from fault_support import scratch_database

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def fresh_database(database, tmp_path):
    """The URL of a new, empty database of the suite's kind (no schema at all)."""
    with scratch_database(database, tmp_path, "restore") as url:
        yield url


@pytest.fixture
def seeded(app):
    """The demo clinic plus a few audit events (the seed writes none)."""
    demo.seed(PASSWORD)
    for record_id in db.session.scalars(sa.select(Client.id).order_by(Client.id).limit(5)):
        record(AuditAction.VIEW, "client", record_id, client_id=record_id, detail="backup test")
    db.session.commit()
    return app


def invoke(app, *args):
    """Run a command against ``app`` (the runner would reuse the app context already pushed)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (and alembic_version), in primary-key order."""
    engine = sa.create_engine(url)
    tables = {}
    try:
        with engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                tables[table.name] = [tuple(row) for row in conn.execute(sa.select(table).order_by(*order))]
            tables["alembic_version"] = [tuple(row) for row in conn.execute(
                sa.text("SELECT version_num FROM alembic_version ORDER BY version_num"))]
    finally:
        engine.dispose()
    return tables


def schema_objects(url: str) -> dict[str, list]:
    """Triggers, trigger functions, indexes and sequence positions: what a restore must bring back
    besides the rows."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return {"objects": conn.execute(sa.text(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")).all()}
            return {
                "triggers": conn.execute(sa.text(
                    "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                    "WHERE NOT tgisinternal ORDER BY 1, 2")).all(),
                "functions": conn.execute(sa.text(
                    "SELECT proname, prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' ORDER BY 1")).all(),
                "indexes": conn.execute(sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")).all(),
                # CHECK definitions are compared by name: PostgreSQL re-spells a restored one
                # (ARRAY[...]::text[] casts) without changing its meaning.
                "constraints": conn.execute(sa.text(
                    "SELECT conrelid::regclass::text, conname, contype, "
                    "CASE WHEN contype = 'c' THEN '' ELSE pg_get_constraintdef(oid) END FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2")).all(),
                "sequences": conn.execute(sa.text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1")).all(),
            }
    finally:
        engine.dispose()


def test_backup_then_restore_into_a_fresh_database_gives_every_row_back(
        seeded, make_app, fresh_database, tmp_path, capsys):
    source_url = db.engine.url.render_as_string(hide_password=False)
    backup_file = tmp_path / "clinic.backup"

    started = time.monotonic()
    result = seeded.test_cli_runner().invoke(args=["backup", str(backup_file)])
    backup_seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and backup_file.stat().st_mode & 0o077 == 0  # owner only

    target = make_app(SQLALCHEMY_DATABASE_URI=fresh_database)
    started = time.monotonic()
    result = invoke(target, "restore", str(backup_file))
    restore_seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output

    before, after = dump(source_url), dump(fresh_database)
    assert list(after) == [t.name for t in db.metadata.sorted_tables] + ["alembic_version"]
    for table, rows in before.items():
        assert after[table] == rows, f"table {table} differs after restore"
    assert schema_objects(fresh_database) == schema_objects(source_url)
    counted = {table: len(rows) for table, rows in after.items()}
    assert counted["client"] == 30 and counted["vital_sign"] > 100 and counted["audit_event"] == 5
    with capsys.disabled():
        print(f"\n[backup] {db.engine.dialect.name}: {len(counted)} tables, {sum(counted.values())} rows "
              f"identical after restore; backup {backup_seconds:.2f} s, restore {restore_seconds:.2f} s")

    # The restored database still enforces the rules kept in triggers.
    engine = sa.create_engine(fresh_database)
    try:
        for statement in ("UPDATE audit_event SET detail = 'changed'",
                          "DELETE FROM audit_event",
                          "UPDATE clinical_session SET note = 'changed' WHERE signed_at IS NOT NULL",
                          "DELETE FROM vital_sign"):
            with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
                conn.execute(sa.text(statement))
        # ...and its sequences carry on after the restored ids (PostgreSQL).
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO audit_event (at, action, record_type, record_id) "
                "VALUES (CURRENT_TIMESTAMP, 'view', 'client', 1)"))
    finally:
        engine.dispose()


def test_restore_refuses_a_database_with_data_unless_forced(seeded, make_app, fresh_database, tmp_path):
    backup_file = tmp_path / "clinic.backup"
    assert seeded.test_cli_runner().invoke(args=["backup", str(backup_file)]).exit_code == 0
    again = seeded.test_cli_runner().invoke(args=["backup", str(backup_file)])
    assert again.exit_code != 0 and "already exists" in again.output  # never overwrites a backup

    target = make_app(SQLALCHEMY_DATABASE_URI=fresh_database)
    assert invoke(target, "restore", str(backup_file)).exit_code == 0
    restored = dump(fresh_database)
    engine = sa.create_engine(fresh_database)
    with engine.begin() as conn:  # something written after the restore
        conn.execute(sa.text("INSERT INTO audit_event (at, action, record_type, record_id) "
                             "VALUES (CURRENT_TIMESTAMP, 'view', 'client', 1)"))
    engine.dispose()
    written = dump(fresh_database)

    refused = invoke(target, "restore", str(backup_file))
    assert refused.exit_code != 0
    assert "already holds data" in refused.output and "--force" in refused.output
    assert dump(fresh_database) == written  # nothing changed

    forced = invoke(target, "restore", "--force", str(backup_file))
    assert forced.exit_code == 0, forced.output
    assert dump(fresh_database) == restored  # everything as in the backup, the later row gone


def test_restore_refuses_what_is_not_a_backup(app, runner, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    result = runner.invoke(args=["restore", str(junk)])
    assert result.exit_code != 0 and "not a KAP Tracker backup" in result.output
    other_kind = tmp_path / "other.backup"
    other_kind.write_bytes(b"PGDMP" if db.engine.dialect.name == "sqlite" else b"SQLite format 3\x00")
    result = runner.invoke(args=["restore", str(other_kind)])
    assert result.exit_code != 0 and "same kind" in result.output
