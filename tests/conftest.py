"""Fixtures: an app per test on a migrated database, factories, and a sign-in helper.

The suite runs on SQLite by default. Set KAPTRACKER_TEST_DATABASE_URL to a PostgreSQL URL
(e.g. postgresql://postgres@127.0.0.1:5432/kaptracker_test) to run every test there instead;
the database is created if missing, migrated once, and emptied after each test.

Time: the tracker reads the wall clock only in kaptracker/clock.py, and time-machine moves it.
KAPTRACKER_TEST_NOW=<ISO instant> starts the whole run (every xdist worker) at that instant,
ticking; several instants separated by spaces run every collected test once at each of them (the
clock matrix of .ci/run, in one pytest run; a per-instant tally ends the report).
KAPTRACKER_TEST_TIMEZONE=<IANA zone> makes it the default clinic.timezone. A test that
needs an exact instant takes the ``clock`` fixture (``clock.travel("2027-03-14T06:30Z")``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import re
import shutil
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
import time_machine
from flask import g
from flask.cli import FlaskGroup
from flask.testing import FlaskCliRunner
from course_support import Clinic
from flask_migrate import upgrade

from kaptracker import create_app
from kaptracker.extensions import db
from kaptracker.models import Client, ClientStatus, Indication, Site, User
from kaptracker.rules.access import Role

TEST_NOW = os.environ.get("KAPTRACKER_TEST_NOW", "").strip()
TEST_INSTANTS = TEST_NOW.replace(",", " ").split()
TEST_TIMEZONE = os.environ.get("KAPTRACKER_TEST_TIMEZONE", "").strip()
TEST_DATABASE_URL = os.environ.get("KAPTRACKER_TEST_DATABASE_URL", "").strip()
PASSWORD = "correct horse battery staple"
# Cheaper scrypt for speed; the stored hash carries its own parameters, and
# test_auth.py checks that the production default is the strong one.
FAST_HASH = "scrypt:1024:8:1"


def base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,  # switched back on in test_csrf.py
        "PASSWORD_HASH_METHOD": FAST_HASH,
        # A relationship lazily loaded during a request raises (kaptracker/lazyload.py): pages
        # load what they show, so their query counts cannot grow with the data.
        "RAISE_ON_LAZY_LOAD": True,
    }


# --- the clinic's clock and zone ----------------------------------------------------------------


def instant(text: str) -> dt.datetime:
    """An ISO instant ("2026-12-08T04:59Z", "2026-12-08T04:59:00+00:00") as an aware datetime."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise pytest.UsageError(f"{text!r}: give the instant's offset (Z for UTC)")
    return value


def _pin_clinic_zone(zone: str) -> None:
    """Make ``zone`` the default clinic.timezone (a stored setting still wins, as in the app)."""
    import zoneinfo

    from kaptracker.rules import settings as registry

    zoneinfo.ZoneInfo(zone)  # an unknown zone stops the run here, not in every test
    spec = dataclasses.replace(registry.SPECS_BY_KEY["clinic.timezone"], default=zone)
    registry.SPECS = tuple(spec if s.key == spec.key else s for s in registry.SPECS)
    registry.SPECS_BY_KEY[spec.key] = spec


def pytest_configure(config):
    # Runs in the main process and again in every xdist worker, so all of them travel.
    if TEST_TIMEZONE:
        _pin_clinic_zone(TEST_TIMEZONE)
    for text in TEST_INSTANTS:
        instant(text)  # a malformed instant stops the run here, not in every test
    if len(TEST_INSTANTS) == 1:
        config._kaptracker_travel = time_machine.travel(instant(TEST_INSTANTS[0]), tick=True)
        config._kaptracker_travel.start()


def pytest_generate_tests(metafunc):
    if len(TEST_INSTANTS) > 1 and "_clinic_instant" in metafunc.fixturenames:
        metafunc.parametrize("_clinic_instant", TEST_INSTANTS, indirect=True,
                             ids=[f"now={text}" for text in TEST_INSTANTS])


@pytest.fixture(autouse=True)
def _clinic_instant(request):
    """With several instants in KAPTRACKER_TEST_NOW, this test's: the clock starts there, ticking."""
    text = getattr(request, "param", None)
    if text is None:
        yield None
        return
    with time_machine.travel(instant(text), tick=True):
        yield text


_INSTANT_ID = re.compile(r"now=(\d{4}-\d\d-\d\dT[0-9:]+(?:Z|[+-]\d\d:?\d\d)?)")


def _clock_matrix_summary(terminalreporter):
    """The clock matrix: outcomes per instant (the reports come back from the xdist workers)."""
    if len(TEST_INSTANTS) < 2:
        return
    tally = {text: {} for text in TEST_INSTANTS}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            match = _INSTANT_ID.search(getattr(report, "nodeid", ""))
            if match and match.group(1) in tally and (outcome != "passed" or report.when == "call"):
                tally[match.group(1)][outcome] = tally[match.group(1)].get(outcome, 0) + 1
    terminalreporter.section("clock matrix: outcomes per instant")
    for text, counts in tally.items():
        terminalreporter.line(f"{text:<24} " + (", ".join(f"{n} {o}" for o, n in counts.items()) or "no tests"))


def pytest_unconfigure(config):
    travel = getattr(config, "_kaptracker_travel", None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config):
    if TEST_NOW or TEST_TIMEZONE:
        return f"kaptracker: now {TEST_NOW or '(real)'}, clinic zone {TEST_TIMEZONE or '(setting default)'}"


class PinnedClock:
    """The ``clock`` fixture: kaptracker.clock's functions (``clock.now()``, ``clock.today()``...)
    plus ``travel(instant, tick=False)`` and ``shift(timedelta)`` to move it."""

    def __init__(self, machine):
        self._machine = machine

    def travel(self, when: str | dt.datetime, *, tick: bool = False) -> dt.datetime:
        moment = instant(when) if isinstance(when, str) else when
        self._machine.move_to(moment, tick=tick)
        return moment

    def shift(self, delta: dt.timedelta) -> None:
        self._machine.shift(delta)

    def __getattr__(self, name):
        from kaptracker import clock

        return getattr(clock, name)


@pytest.fixture
def clock(time_machine):
    """Pins "now" for a test: ``clock.travel("2027-03-14T06:30Z")`` (still unless ``tick=True``)."""
    return PinnedClock(time_machine)


def _postgres_url_for_worker(url: str, worker: str) -> str:
    if worker in ("", "master"):
        return url
    return re.sub(r"/([^/?]+)(\?|$)", lambda m: f"/{m.group(1)}_{worker}{m.group(2)}", url, count=1)


def _ensure_postgres_database(url: str) -> None:
    engine_url = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(engine_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": engine_url.database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{engine_url.database}"'))
        # A test database need not wait for its commits to reach the disk (a crash of the test
        # PostgreSQL server would lose the last ones; nothing else changes): the suite runs faster.
        conn.execute(sa.text(f'ALTER DATABASE "{engine_url.database}" SET synchronous_commit = off'))
    admin.dispose()


def _migrate(url: str) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        if url.startswith("postgres"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        with db.engine.begin() as conn:  # the default site is where the test clinic is
            conn.execute(sa.text("UPDATE site SET time_zone = :zone"), {"zone": test_zone()})
        db.engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Session-wide: a migrated database (PostgreSQL) or a migrated template file (SQLite)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if TEST_DATABASE_URL:
        url = _postgres_url_for_worker(TEST_DATABASE_URL, worker)
        _ensure_postgres_database(url)
        _migrate(url)
        return {"kind": "postgresql", "url": url}
    template = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _migrate(f"sqlite:///{template}")
    return {"kind": "sqlite", "template": template}


_EMPTIERS: dict[str, sa.engine.Engine] = {}
# Rows the migrations put in an empty database, put back once it is emptied: the settings'
# revision (migration 0011) and the default site (0012: a database always has a site).
MIGRATED_ROWS = (
    "INSERT INTO setting_revision (id, version) VALUES (1, 1)",
    "INSERT INTO site (code, name, time_zone, crisis_line, active, created_at, version)"
    " VALUES ('MAIN', 'KAP Clinic', :zone, '988', true, CURRENT_TIMESTAMP, 1)",
)


def test_zone() -> str:
    """The test clinic's zone: its default site's, and the network's default (clinic.timezone)."""
    from kaptracker.rules import settings as registry

    return registry.SPECS_BY_KEY["clinic.timezone"].default


test_zone.__test__ = False  # not a test for pytest to collect


def _put_back_migrated_rows(conn) -> None:
    for statement in MIGRATED_ROWS:
        conn.execute(sa.text(statement), {"zone": test_zone()})


def _empty_postgres(url: str) -> None:
    """Empty every table between tests and restart the ids. As a superuser (CI, the README's
    setup): DELETE with triggers off for the session (session_replication_role = replica: the
    append-only and foreign-key triggers do not fire), about 3 ms; TRUNCATE of 25 tables costs
    about 125 ms per test. Otherwise TRUNCATE, which fires no row triggers either."""
    engine = _EMPTIERS.get(url)
    if engine is None:
        engine = _EMPTIERS[url] = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    names = [t.name for t in db.metadata.sorted_tables]
    with engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        except sa.exc.DBAPIError:  # not a superuser
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
            _put_back_migrated_rows(conn)
            return
        for name in reversed(names):
            conn.execute(sa.text(f'DELETE FROM "{name}"'))
        conn.execute(sa.text(
            "SELECT setval(s.seq, 1, false) FROM (SELECT pg_get_serial_sequence(quote_ident(c.relname), a.attname)"
            " AS seq FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_namespace n ON n.oid ="
            " c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0"
            " AND NOT a.attisdropped) s"  # a column dropped by a downgrade (test_migrations.py) has no name
            " WHERE s.seq IS NOT NULL"))
        _put_back_migrated_rows(conn)


@pytest.fixture
def database_url(database, tmp_path) -> str:
    if database["kind"] == "postgresql":
        return database["url"]
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(database["template"], path)
    return f"sqlite:///{path}"


class FlaskCommandRunner(FlaskCliRunner):
    """Runs commands as `flask --app kaptracker ...` does: the app's own (app.cli) and the
    operator's (kaptracker/ops/cli.py), which `flask` finds through the flask.commands entry
    point and the app itself never registers."""

    def invoke(self, cli=None, args=None, **kwargs):
        if cli is None:
            cli = FlaskGroup(add_default_commands=False, load_dotenv=False, set_debug_flag=False)
        # FlaskGroup sets FLASK_RUN_FROM_CLI, as the real command does; put it back after.
        kwargs.setdefault("env", {}).setdefault("FLASK_RUN_FROM_CLI", os.environ.get("FLASK_RUN_FROM_CLI"))
        return super().invoke(cli, args, **kwargs)


class CompiledTemplates(jinja2.BytecodeCache):
    """Every test builds its own app, and each app's Jinja environment would compile the same
    templates again (about 250 ms for a course page's set): the apps of one test process share
    the compiled code instead. A template's key covers its source, so an edited one compiles anew."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


@pytest.fixture
def make_app(database, database_url):
    """Build an app on this test's database, with extra config."""
    apps = []

    def factory(**config):
        app = create_app({**base_config(database_url), **config})
        app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
        app.test_cli_runner_class = FlaskCommandRunner
        # The fixture keeps one app context open and Flask reuses it for test-client requests;
        # in production every request has a fresh g. Start each request with an empty g.
        app.before_request_funcs.setdefault(None, []).insert(0, lambda: g.__dict__.clear())
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if database["kind"] == "postgresql" and apps:
        _empty_postgres(database["url"])


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_user(app):
    """make_user(role="therapist", email=None, name=None, password=PASSWORD, active=True, sites=None,
    network_lead=False): staff work at ``sites`` (Site rows), by default at the database's first
    site (the default site of migration 0012); administrators at none."""
    from kaptracker.auth.sessions import hash_password

    hashes: dict[str, str] = {}

    def factory(role="therapist", *, email=None, name=None, password=PASSWORD, active=True, sites=None,
                network_lead=False):
        n = next(_counter)
        if password not in hashes:
            hashes[password] = hash_password(password)
        user = User(
            email=(email or f"{Role(role).value}{n}@clinic.example.org").lower(),
            name=name or f"{Role(role).label} {n}",
            role=Role(role),
            password_hash=hashes[password],
            active=active,
            network_lead=network_lead,
        )
        if sites is None and Role(role) != Role.ADMIN:
            sites = db.session.scalars(sa.select(Site).order_by(Site.id).limit(1)).all()
        user.sites = list(sites or ())
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_client(app, make_user):
    """make_client(therapist=None, **fields): a valid client record with invented details, at
    the database's first site (the default site of migration 0012) unless ``home_site_id`` is given."""
    import datetime as dt

    def factory(therapist=None, *, indications=(Indication.DEPRESSION,), **fields):
        n = next(_counter)
        if therapist is None:
            therapist = make_user("therapist")
        values = dict(
            record_number=f"T-{n:05d}",
            given_name=f"Given{n}",
            family_name=f"Family{n}",
            date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=n),
            phone="+1 555 0100",
            emergency_contact_name="Emergency Person",
            emergency_contact_relationship="Friend",
            emergency_contact_phone="+1 555 0199",
            therapist_id=therapist.id,
            status=ClientStatus.ACTIVE,
        )
        values.update(fields)
        if "home_site_id" not in values:
            values["home_site_id"] = db.session.scalar(sa.select(Site.id).order_by(Site.id).limit(1))
        record = Client(**values)
        record.indications = indications
        db.session.add(record)
        db.session.commit()
        return record

    return factory


@pytest.fixture
def login(client):
    """login(user, password=PASSWORD, http=client): sign in through the real form."""

    def do(user, password=PASSWORD, http=None):
        http = http or client
        response = http.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture
def clinic(app, make_user, make_client, login):
    """The clinic (course_support.Clinic): its staff, each signed in on their own test client
    when first used, a referred client of the therapist, and the test's clock reading. Build
    further records with tests/factories.py."""
    return Clinic(app, make_user, make_client, login)


def pytest_collection_modifyitems(config, items):
    browser_dir = Path(__file__).parent / "browser"
    for item in items:
        if browser_dir in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def count_queries(app):
    """with count_queries() as counted: ...; counted.n is the number of SQL statements run."""
    import contextlib

    class Counter:
        n = 0
        statements: list

    @contextlib.contextmanager
    def counting():
        counter = Counter()
        counter.statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            counter.n += 1
            counter.statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)

    return counting


# --- the fuzzing figures (tests/test_fuzz.py writes one file per worker) -----------------------

FUZZ_DIR = Path(__file__).resolve().parents[1] / "test-artifacts" / "fuzz"


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the main process, once per run
        shutil.rmtree(FUZZ_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    _clock_matrix_summary(terminalreporter)
    _fuzz_summary(terminalreporter)


def _fuzz_summary(terminalreporter):
    import json

    per_route: dict[str, dict[str, int]] = {}
    for path in sorted(FUZZ_DIR.glob("inputs-*.json")):
        for route, statuses in json.loads(path.read_text()).items():
            for status, n in statuses.items():
                per_route.setdefault(route, {}).setdefault(status, 0)
                per_route[route][status] += n
    if not per_route:
        return
    total = sum(sum(s.values()) for s in per_route.values())
    by_status: dict[str, int] = {}
    for statuses in per_route.values():
        for status, n in statuses.items():
            by_status[status] = by_status.get(status, 0) + n
    (FUZZ_DIR / "summary.json").write_text(json.dumps(
        {"inputs": total, "routes": len(per_route), "by_status": dict(sorted(by_status.items())),
         "per_route": per_route}, indent=1))
    terminalreporter.write_line(
        f"fuzzing: {total} generated inputs to {len(per_route)} routes (method and endpoint); "
        f"responses {dict(sorted(by_status.items()))}; see test-artifacts/fuzz/summary.json")
