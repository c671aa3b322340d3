"""Faults, with real server processes (gunicorn) on a database of their own:

* a server SIGKILLed in the middle of a stream of writes loses no acknowledged write and leaves
  nothing half-written (checked after a restart);
* the database going away (PostgreSQL: a proxy stops forwarding; SQLite: another process holds
  the write lock) gives the friendly 503 page, /healthz fails (PostgreSQL), and the same server
  process recovers once the database is back.
"""

from __future__ import annotations

import threading
import time

import pytest

from fault_support import Proxy, database_via, pid_alive, scratch_database
from kaptracker.ops import soak

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture
def crash_database(database, tmp_path):
    with scratch_database(database, tmp_path, "crash") as url:
        yield url


@pytest.fixture
def outage_database(database, tmp_path):
    with scratch_database(database, tmp_path, "outage") as url:
        yield url


def test_sigkill_mid_stream_loses_no_acknowledged_write(crash_database, tmp_path, capsys):
    url = crash_database
    soak.build_schema(url)
    staff = soak.prepare_clinic(url, medical=1, therapists=1, targets=2)
    before = soak.max_ids(url)
    server = soak.Server(url, workers=2, log=tmp_path / "server.log").start()
    stats, work, stop = soak.Stats(), soak.Work(), threading.Event()
    threads = [threading.Thread(target=soak.clinician_loop, args=(server.url, c, stop, work, stats),
                                kwargs={"think": 0, "relogin_every": 0, "seed": i,
                                        "tolerate_connection_errors": True})
               for i, c in enumerate(staff)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(work.acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # master and workers, mid-stream: requests are in flight
        killed_at = len(work.acknowledged)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        stop.set()
        server.stop()
    assert stats.errors == [], stats.errors  # no error before the kill
    assert killed_at >= 40, f"only {killed_at} writes acknowledged before the kill"
    acknowledged = list(work.acknowledged)
    in_flight = work.attempted - len(acknowledged)

    # Restart on the same database: it serves again, and everything acknowledged is there, whole.
    restarted = soak.Server(url, workers=2, log=tmp_path / "server.log").start()
    try:
        browser = soak.Browser(restarted.url)
        browser.login(staff[0].email)
        assert browser.get(f"/sessions/{staff[0].targets[0]}/vitals").status == 200
    finally:
        restarted.stop()
    verified, problems = soak.verify_writes(url, acknowledged)
    problems += soak.integrity_problems(url, audited_after=before)
    after = soak.max_ids(url)
    records = {table: after[table] - before[table] for table in after}
    assert problems == []
    assert verified == len(acknowledged)
    assert restarted.logged_exceptions() == 0, restarted.log_tail()
    with capsys.disabled():
        print(f"\n[crash] {soak._sqlalchemy_url(url).split(':')[0]}: SIGKILL after {len(acknowledged)} "
              f"acknowledged writes ({in_flight} in flight); {verified} verified whole; new rows checked "
              f"{records['vital_sign']} readings, {records['clinical_session']} sessions, "
              f"{records['audit_event']} audit events: 0 problems")


def _is_friendly_503(reply) -> bool:
    return reply.status == 503 and "The database is not answering" in reply.body and "Traceback" not in reply.body


def test_postgresql_going_away_gives_503_and_recovers_without_restart(database, outage_database, tmp_path):
    if database["kind"] != "postgresql":
        pytest.skip("needs PostgreSQL (KAPTRACKER_TEST_DATABASE_URL); the SQLite outage is the locked-file test")
    url = outage_database
    soak.build_schema(url)
    therapist = soak.prepare_clinic(url, medical=0, therapists=1, targets=1, demo_clinic=False)[0]
    parsed = soak.sa.engine.make_url(soak._sqlalchemy_url(url))
    proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    server = soak.Server(database_via(url, proxy.port), workers=2, log=tmp_path / "server.log")
    course = therapist.targets[0]
    try:
        server.start()
        pid = server.process.pid
        browser = soak.Browser(server.url, timeout=30)
        browser.login(therapist.email)
        assert browser.get(f"/courses/{course}").status == 200
        form = soak.form_fields(browser.get(f"/courses/{course}/sessions/new/preparation").body)

        proxy.cut()
        for _ in range(4):  # each gunicorn worker in turn
            page = browser.get(f"/courses/{course}")
            assert _is_friendly_503(page), (page.status, page.body[:300])
            health = browser.get("/healthz")
            assert health.status == 503 and '"database":"unavailable"' in health.body.replace(" ", "")
        saved = browser.post(f"/courses/{course}/sessions/new/preparation",
                             {**form, "note": "written while the database was away", "intentions": "x"})
        assert _is_friendly_503(saved)

        proxy.restore()
        deadline = time.monotonic() + 20
        statuses = []
        while time.monotonic() < deadline:
            statuses = [browser.get("/healthz").status for _ in range(4)]
            if statuses == [200] * 4:
                break
            time.sleep(0.5)
        assert statuses == [200] * 4
        for _ in range(4):
            assert browser.get(f"/courses/{course}").status == 200  # still signed in, same session
        form = soak.form_fields(browser.get(f"/courses/{course}/sessions/new/preparation").body)
        saved = browser.post(f"/courses/{course}/sessions/new/preparation",
                             {**form, "note": "written after it came back", "intentions": "y"})
        assert saved.status == 302
        assert server.process.poll() is None and server.process.pid == pid and pid_alive(pid)  # no restart
        assert server.logged_exceptions() == 0, server.log_tail()
    finally:
        server.stop()
        proxy.close()
    write = soak.Write("note", course, "", {"note": "written after it came back", "intentions": "y"},
                       record_id=int(saved.location.rsplit("/", 1)[-1]))
    assert soak.verify_writes(url, [write]) == (1, [])
    engine = soak.sa.create_engine(soak._sqlalchemy_url(url))
    with engine.connect() as conn:  # the write refused during the outage was not half-saved
        assert conn.scalar(soak.sa.text(
            "SELECT count(*) FROM clinical_session WHERE note LIKE 'written while%'")) == 0
    engine.dispose()
    assert soak.integrity_problems(url) == []


def test_sqlite_locked_by_another_process_gives_503_and_recovers(database, outage_database, tmp_path):
    """SQLite's way of going away: another process holds the write lock past the app's busy
    timeout (5 s). Reads go on (WAL), so /healthz stays up; a write answers the friendly 503 page
    and saves nothing, and works again as soon as the lock is released."""
    if database["kind"] != "sqlite":
        pytest.skip("SQLite only; PostgreSQL has the proxy test")
    import sqlite3

    url = outage_database
    soak.build_schema(url)
    therapist = soak.prepare_clinic(url, medical=0, therapists=1, targets=1, demo_clinic=False)[0]
    course = therapist.targets[0]
    server = soak.Server(url, workers=1, log=tmp_path / "server.log")
    locker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        server.start()
        browser = soak.Browser(server.url, timeout=30)
        browser.login(therapist.email)
        form = soak.form_fields(browser.get(f"/courses/{course}/sessions/new/preparation").body)
        locker.execute("BEGIN EXCLUSIVE")
        saved = browser.post(f"/courses/{course}/sessions/new/preparation",
                             {**form, "note": "written while locked", "intentions": "x"})
        assert _is_friendly_503(saved), (saved.status, saved.body[:300])
        assert browser.get("/healthz").status == 200
        locker.execute("ROLLBACK")
        saved = browser.post(f"/courses/{course}/sessions/new/preparation",
                             {**form, "note": "written after the lock", "intentions": "y"})
        assert saved.status == 302
        assert server.logged_exceptions() == 0, server.log_tail()
    finally:
        locker.close()
        server.stop()
    engine = soak.sa.create_engine(url)
    with engine.connect() as conn:
        notes = conn.scalars(soak.sa.text("SELECT note FROM clinical_session WHERE note LIKE 'written%'")).all()
    engine.dispose()
    assert notes == ["written after the lock"]
    assert soak.integrity_problems(url) == []
