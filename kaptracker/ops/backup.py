"""`flask --app kaptracker backup PATH` and `restore PATH`: a consistent copy of the database.

SQLite
    ``backup`` copies the database with SQLite's online backup API (what the ``sqlite3`` shell's
    ``.backup`` does): a consistent snapshot even while the app is writing, triggers and indexes
    included. The copy is checked with ``PRAGMA integrity_check`` before it is kept.
PostgreSQL
    ``backup`` runs ``pg_dump --format=custom --no-owner --no-privileges`` (one snapshot
    transaction, so consistent while the app runs). ``restore`` feeds ``pg_restore``'s SQL to
    ``psql --single-transaction`` after DROP statements for what the public schema holds: the old
    contents are replaced by all of the backup, or, on any error, nothing changes. They need the
    PostgreSQL client programs (``pg_dump``, ``pg_restore``, ``psql``; version >= the server's) on
    the PATH. The password, if the URL has one, is
    handed to them in the ``PGPASSWORD`` environment variable, never on the command line.

``restore`` refuses a database that holds any row (other than the schema's revision) unless
``--force`` is given; with ``--force`` the existing schema and data are dropped first. A backup
can only be restored into the same kind of database it was taken from.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
import time  # monotonic only: how long a backup took, not the wall clock (kaptracker.clock)
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(click.ClickException):
    """A backup or restore that could not be done, with a message an operator can act on."""


@dataclass
class Summary:
    kind: str
    path: Path
    seconds: float
    size: int


# --- the database in use ----------------------------------------------------------------------


def _url() -> sa.engine.URL:
    return db.engine.url


def _kind(url: sa.engine.URL) -> str:
    if url.get_backend_name() == "sqlite":
        return "sqlite"
    if url.get_backend_name() == "postgresql":
        return "postgresql"
    raise BackupError(f"backup and restore support SQLite and PostgreSQL, not {url.get_backend_name()}")


def _sqlite_path(url: sa.engine.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _libpq(url: sa.engine.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment carrying the password."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    bare = url.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} was not found: install the PostgreSQL client programs "
            "(Debian: apt-get install postgresql-client) in the server's major version or newer"
        ) from None
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed (exit status {result.returncode}):\n{result.stderr.strip()}")


def rows_in_database() -> int:
    """How many rows the application's tables hold (0 for an empty or a never-migrated database)."""
    inspector = sa.inspect(db.engine)
    existing = set(inspector.get_table_names())
    total = 0
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in existing:
                total += conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0
    return total


def _revision() -> str | None:
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


# --- backup -----------------------------------------------------------------------------------


def backup(path: Path) -> Summary:
    """Write a consistent copy of the app's database to ``path`` (which must not exist yet)."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} already exists: give a new file name, so no earlier backup is overwritten")
    if not path.parent.is_dir():
        raise BackupError(f"the folder {path.parent} does not exist")
    url = _url()
    kind = _kind(url)
    started = time.monotonic()
    # Written beside the target and renamed at the end: a failed or interrupted backup never
    # leaves a file that looks like a good one.
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    partial = Path(partial)
    try:
        if kind == "sqlite":
            _backup_sqlite(_sqlite_path(url), partial)
        else:
            dsn, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}", f"--dbname={dsn}"], env)
        partial.chmod(0o600)  # patient data: readable by the owner only
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return Summary(kind, path, time.monotonic() - started, path.stat().st_size)


def _backup_sqlite(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)  # pages copied under SQLite's locking: one consistent snapshot
        # A WAL-mode source leaves the copy in WAL mode too: make it one self-contained file.
        dst.execute("PRAGMA journal_mode=DELETE")
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed SQLite's integrity check: {check}")
    finally:
        dst.close()
        src.close()


# --- restore ----------------------------------------------------------------------------------


def backup_kind(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a KAP Tracker backup (neither a SQLite file nor a pg_dump custom-format archive)")


def restore(path: Path, *, force: bool = False) -> Summary:
    """Read a backup made by :func:`backup` into the app's database.

    Refuses a database that holds data unless ``force``; then the old schema and data go first.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    url = _url()
    kind = _kind(url)
    found = backup_kind(path)
    if found != kind:
        raise BackupError(f"{path} is a {found} backup but this app's database is {kind}: "
                          "restore it into a database of the same kind")
    rows = rows_in_database()
    if rows and not force:
        raise BackupError(
            f"the database already holds data ({rows} rows): restore reads a backup into an empty "
            "database only. Create a new empty database and point KAPTRACKER_DATABASE_URL at it, "
            "or add --force to replace everything in this one with the backup."
        )
    started = time.monotonic()
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old schema open
    if kind == "sqlite":
        _restore_sqlite(path, _sqlite_path(url))
    else:
        _restore_postgresql(path, url)
    db.engine.dispose()
    return Summary(kind, path, time.monotonic() - started, path.stat().st_size)


def _restore_sqlite(backup_file: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        check = src.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{backup_file} failed SQLite's integrity check: {check}")
        dst = sqlite3.connect(target, timeout=30)
        try:
            # The backup API replaces every page of the target, under its write lock.
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")  # as the app runs it (kaptracker._sqlite_pragmas)
        finally:
            dst.close()
    finally:
        src.close()


def _restore_postgresql(path: Path, url: sa.engine.URL) -> None:
    """Drop what is in the public schema and load the backup, in ONE transaction (psql
    --single-transaction over pg_restore's SQL): a restore that fails half-way changes nothing."""
    dsn, env = _libpq(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="kaptracker-restore-") as drop:
        drop.write(_drop_public_schema_sql())
        drop.flush()
        try:
            reader = subprocess.Popen(
                ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(path)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            _run(["pg_restore"], env)  # raises the "install the client programs" message
        try:
            loaded = subprocess.run(
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                 "-f", drop.name, "-f", "-", f"--dbname={dsn}"],
                env=env, stdin=reader.stdout, capture_output=True, text=True)
        except FileNotFoundError:
            reader.kill()
            _run(["psql"], env)
        finally:
            reader.stdout.close()
            reader_error = reader.stderr.read().decode(errors="replace")
            reader.stderr.close()
            reader.wait()
    if loaded.returncode != 0:  # first: psql stopping early also makes pg_restore fail (SIGPIPE)
        raise BackupError(f"loading {path} failed and was rolled back; nothing was changed:\n"
                          f"{loaded.stderr.strip()}")
    if reader.returncode != 0:
        raise BackupError(f"pg_restore could not read {path} (exit status {reader.returncode}); "
                          f"nothing was changed:\n{reader_error.strip()}")


def _drop_public_schema_sql() -> str:
    """DROP statements for the app's objects in the public schema (tables with their triggers,
    indexes and sequences; trigger functions; types), keeping the schema itself, its owner and
    its grants."""
    with db.engine.connect() as conn:
        tables = conn.scalars(sa.text(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'")).all()
        functions = conn.scalars(sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND NOT EXISTS "  # an extension's own (pg_trgm) stay with it
            "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")).all()
        sequences = conn.scalars(sa.text(
            "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'")).all()
        types = conn.scalars(sa.text(
            "SELECT quote_ident(t.typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND NOT EXISTS "
            "(SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')")).all()
    db.engine.dispose()
    statements = [f"DROP TABLE IF EXISTS public.{t} CASCADE;" for t in tables]
    statements += [f"DROP SEQUENCE IF EXISTS public.{s} CASCADE;" for s in sequences]
    statements += [f"DROP FUNCTION IF EXISTS {f} CASCADE;" for f in functions]
    statements += [f"DROP TYPE IF EXISTS public.{t} CASCADE;" for t in types]
    return "\n".join(statements) + "\n"


# --- the commands -----------------------------------------------------------------------------


def _describe(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the database to PATH (a new file).

    SQLite: the online backup API. PostgreSQL: pg_dump --format=custom. Safe while the app runs.
    """
    summary = backup(path)
    click.echo(f"Backed up {_describe(_url())} ({summary.kind}, schema revision {_revision()}) "
               f"to {summary.path}: {summary.size} bytes in {summary.seconds:.2f} s.")
    click.echo("It holds patient data: keep it encrypted, off this server, and try restoring it regularly.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace a database that already holds data (everything in it is dropped first).")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Read a backup made by `flask backup` into the (empty) database.

    Stop the app servers first. Refuses a database that holds data unless --force.
    """
    summary = restore(path, force=force)
    revision = _revision()
    click.echo(f"Restored {summary.path} into {_describe(_url())} in {summary.seconds:.2f} s "
               f"({rows_in_database()} rows, schema revision {revision}).")
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_current_head()
    if revision != head:
        click.echo(f"The backup's schema is at revision {revision}; this version of KAP Tracker expects "
                   f"{head}. Run `flask --app kaptracker db upgrade` before starting the app.")
