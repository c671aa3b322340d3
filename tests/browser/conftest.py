"""Browser tests: the real app served on a free loopback port, driven by Debian's Chromium.

Everything here runs against its *own* database, separate from the unit tests' one (whose
fixtures empty it after every test):

* with KAPTRACKER_TEST_DATABASE_URL set (PostgreSQL), a sibling database named
  ``<that name>_browser``, created if missing and rebuilt from the migrations;
* otherwise a fresh SQLite file in a temporary folder, built from the migrations.

It is filled with the invented demo clinic (:func:`kaptracker.ops.demo.seed`). CSRF protection stays
on: the browser submits the real tokens.

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser download is never used. When
Chromium is missing the browser tests are skipped, unless KAPTRACKER_REQUIRE_BROWSER=1, in which
case they fail (CI sets it, so they can never pass by silently not running).

Full-page screenshots of the steps of interest land in test-artifacts/screenshots/ (not with
KAPTRACKER_SCREENSHOTS=0, as in CI, where no one looks at them).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from . import main_pages

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-test-clinic-2026"
DOMAIN = "demo.example.org"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Generous for a loaded 2-core CI machine, short enough that a hang fails fast.
TIMEOUT_MS = 10_000


def email(local: str) -> str:
    """The demo account ``local`` (therapist, therapist2, medical, supervisor, admin...)."""
    return f"{local}@{DOMAIN}"


def _screenshots_wanted() -> bool:
    """Screenshots are for people to look at, and cost more than half of a page check's time
    (measured: 13.8 s of 26 s for the supervisor's 51 page-widths): KAPTRACKER_SCREENSHOTS=0
    (CI sets it) checks the same pages without writing them."""
    return os.environ.get("KAPTRACKER_SCREENSHOTS", "").strip() not in ("0", "false")


def _browser_required() -> bool:
    return os.environ.get("KAPTRACKER_REQUIRE_BROWSER", "").strip() not in ("", "0", "false")


def _unavailable(reason: str) -> None:
    if _browser_required():
        pytest.fail(f"KAPTRACKER_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


# --- the live server ------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: object  # flask.Flask
    database_url: str
    # Ids found in the seeded clinic, for the access tests.
    ids: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def _browser_database_url(tmp_path_factory) -> str:
    base = os.environ.get("KAPTRACKER_TEST_DATABASE_URL", "").strip()
    if not base:
        folder = tmp_path_factory.mktemp("browser-db")
        return f"sqlite:///{folder / 'browser.sqlite3'}"

    from kaptracker import normalise_database_url

    url = sa.engine.make_url(normalise_database_url(base))
    name = f"{url.database}_browser"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker not in ("", "master"):
        name += f"_{worker}"
    url = url.set(database=name)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.render_as_string(hide_password=False)


def _live_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "browser-test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # create_app prefers DATABASE_URL (e.g. KAPTRACKER_DATABASE_URL from the environment)
        # over SQLALCHEMY_DATABASE_URI: pin it too, or a developer's shell could point these
        # tests, and their DROP SCHEMA, at a real database.
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",  # cheap hashes: the suite signs in a lot
        # CSRF protection is deliberately left on (WTF_CSRF_ENABLED defaults to True).
    }


def _build_database(app, database_url: str) -> tuple[dict[str, int], dict[str, str]]:
    """Migrate from scratch, seed the demo clinic, and note a few ids the tests need."""
    from flask_migrate import upgrade

    from kaptracker.ops import demo
    from kaptracker.extensions import db
    from kaptracker.models import Client, User

    with app.app_context():
        # Never rebuild any database but the one made for these tests.
        assert db.engine.url.database == sa.engine.make_url(database_url).database
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        demo.seed(PASSWORD)
        users = {u.email: u for u in db.session.scalars(sa.select(User))}

        def first_client_of(local: str) -> Client:
            return db.session.scalars(
                sa.select(Client)
                .where(Client.therapist_id == users[email(local)].id)
                .order_by(Client.id)
            ).first()

        own, other = first_client_of("therapist"), first_client_of("therapist2")
        ids = {"own_client": own.id, "other_therapists_client": other.id}
        ids.update(main_pages.find_record_ids(db, email))
        names = {"own_client": own.full_name, "other_therapists_client": other.full_name}
        db.session.remove()
    return ids, names


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The real app (kaptracker.create_app) served by Werkzeug on a free 127.0.0.1 port."""
    from werkzeug.serving import make_server

    from kaptracker import create_app
    from kaptracker.extensions import db

    database_url = _browser_database_url(tmp_path_factory)
    app = create_app(_live_config(database_url))
    ids, names = _build_database(app, database_url)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, name="kap-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app, database_url, ids, names)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run (each test gets its own context)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # noqa: BLE001 - reported as the reason
        playwright.stop()
        _unavailable(f"Chromium at {CHROMIUM} did not start: {error}")
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@dataclass
class PageWatch:
    """What went wrong on the pages of one test: console errors, uncaught script errors and
    Content-Security-Policy violations. A test that provokes an error on purpose allows it."""

    errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        found = [*self.errors, *(f"CSP violation: {v}" for v in self.csp_violations)]
        return [m for m in found if not any(p.search(m) for p in self.allowed)]


# Reports every CSP violation to Python. Init scripts and bindings come through the DevTools
# protocol, so the page's own strict CSP does not block them.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__kapCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${document.location.pathname}`
  );
});
"""


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Note whether the test body failed, so the page fixture does not report twice."""
    report = yield
    if report.when == "call":
        item.kap_call_failed = report.failed
    return report


def _watched_page(browser, live_server, watch):
    """(context, page): a fresh browser context (no cookies) at 1280x900 whose console errors,
    uncaught errors and CSP violations go to ``watch``."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_function("__kapCspViolation", lambda text: watch.csp_violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: watch.errors.append(
            f"console error on {msg.location.get('url') or page.url}: {msg.text}"
        )
        if msg.type == "error"
        else None,
    )
    page.on("pageerror", lambda exc: watch.errors.append(f"uncaught error on {page.url}: {exc}"))
    return context, page


@pytest.fixture
def page(request, browser, live_server, watch):
    """A fresh browser context (no cookies) at 1280x900, watched for console errors and CSP
    violations; any that the test did not allow fail it."""
    context, page = _watched_page(browser, live_server, watch)
    try:
        yield page
    finally:
        context.close()
    problems = watch.unexpected()
    if problems and getattr(request.node, "kap_call_failed", False):
        # The test already failed (often the very cause of these): list them, don't fail twice.
        print("The browser also reported:\n  " + "\n  ".join(problems))
    elif problems:
        pytest.fail("The browser reported errors:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def second_page(browser, live_server, watch, page):
    """A second browser beside ``page`` (its own context and cookies): two staff members at
    their own computers. Watched like ``page``, whose teardown (after this one's) reports what
    either saw."""
    context, other = _watched_page(browser, live_server, watch)
    try:
        yield other
    finally:
        context.close()


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshot_folder() -> None:
    # Old screenshots go, except under pytest-xdist, where workers would delete each other's.
    if SCREENSHOTS.exists() and not os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def shot(request) -> Callable:
    """shot(page, step): a full-page screenshot, test-artifacts/screenshots/<test>--<step>.png."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}--{step}.png"
        if _screenshots_wanted():
            page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def password() -> str:
    """The password of every demo account in the browser tests' clinic."""
    return PASSWORD


@pytest.fixture
def sign_in() -> Callable:
    """sign_in(page, local, password=PASSWORD): through the real form, waiting to leave it."""

    def do(page, local: str, password: str = PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("Email").fill(email(local))
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)

    return do

