"""Soak test: gunicorn on PostgreSQL, several simulated clinicians writing at once.

    .venv/bin/python -m kaptracker.ops.soak --minutes 3

makes a scratch database on the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432),
builds the schema, seeds the demo clinic plus the soak's own staff and courses, starts gunicorn
(4 workers) on a free loopback port, and lets the clinicians work: medical staff open a medicine
session's vitals page and enter a reading, therapists open the preparation-note form and save a
draft, each with a short pause, signing out and in again now and then. Afterwards every
acknowledged write (a redirect after the POST) is looked up in the database: the row, its
values, its subtype row and its audit event. It prints requests, errors, latency percentiles and
writes verified, and the same as JSON on the last line; the exit status is 1 unless there were no
errors and every acknowledged write was found. The scratch database is dropped (``--keep`` keeps
it). Nothing but the standard library is used to drive the server.

The HTTP client (:class:`Browser`), the server (:class:`Server`), the clinic set-up
(:func:`prepare_clinic`) and the checks (:func:`verify_writes`, :func:`integrity_problems`) are
also used by the crash and fault tests in ``tests/test_faults.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import http.client
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time  # monotonic only: durations and deadlines, not the wall clock (kaptracker.clock)
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

PASSWORD = "soak-test-passphrase-2026"
DOMAIN = "soak.example.org"

# --- HTTP, as a browser does it ---------------------------------------------------------------


@dataclass
class Reply:
    status: int
    location: str
    body: str
    seconds: float


class Stats:
    """Latencies and errors of every request, shared by all clinicians (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def add(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)

    def percentiles(self) -> dict[str, float]:
        with self.lock:
            data = sorted(self.latencies)
        if not data:
            return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
        q = statistics.quantiles(data, n=100, method="inclusive") if len(data) > 1 else data * 99
        return {"p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
                "p99_ms": round(q[98] * 1000, 1), "max_ms": round(data[-1] * 1000, 1)}


class Browser:
    """One person's browser: keeps the session cookie, reads forms (CSRF token included)."""

    def __init__(self, base_url: str, stats: Stats | None = None, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.stats = stats
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> Reply:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                self._keep(header)
        finally:
            conn.close()
        seconds = time.monotonic() - started
        if self.stats is not None:
            self.stats.add(seconds)
        return Reply(response.status, urlsplit(response.headers.get("Location", "")).path,
                     data.decode("utf-8", errors="replace"), seconds)

    def _keep(self, header: str) -> None:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Reply:
        return self.request("POST", path, form)

    def login(self, email: str, password: str = PASSWORD) -> Reply:
        fields = form_fields(self.get("/login").body)
        reply = self.post("/login", {"csrf_token": fields["csrf_token"], "email": email, "password": password})
        if reply.status != 302:
            raise RuntimeError(f"sign-in of {email} answered {reply.status}")
        return reply

    def logout(self, csrf_token: str) -> Reply:
        return self.post("/logout", {"csrf_token": csrf_token})


_INPUT = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.S)
_ATTR = re.compile(r'([a-zA-Z_:][-\w:.]*)="([^"]*)"')


def form_fields(page: str) -> dict[str, str]:
    """The name and value of every <input> on a page (the CSRF token, the default date-time)."""
    fields: dict[str, str] = {}
    for match in _INPUT.finditer(page):
        attrs = dict(_ATTR.findall(match.group(2)))
        if "name" in attrs and match.group(1) == "input":
            fields.setdefault(attrs["name"], html.unescape(attrs.get("value", "")))
    return fields


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment for an app server: no KAPTRACKER_* setting from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAPTRACKER_")}
    env.update(KAPTRACKER_DATABASE_URL=database_url, KAPTRACKER_SECRET_KEY=secrets.token_hex(32), **extra)
    return env


class Server:
    """gunicorn serving ``kaptracker:create_app()`` in its own process group on a loopback port."""

    def __init__(self, database_url: str, *, workers: int = 2, port: int | None = None,
                 log: Path | None = None, secret_key: str | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = server_environment(database_url, **env)
        if secret_key:
            self.env["KAPTRACKER_SECRET_KEY"] = secret_key
        if log is None:
            fd, name = tempfile.mkstemp(prefix="kaptracker-server-", suffix=".log")
            os.close(fd)
            log = Path(name)
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, wait: float = 60) -> Server:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                 "--bind", f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "5",
                 "--log-level", "warning", "kaptracker:create_app()"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start-up:\n{self.log_tail()}")
            try:
                if Browser(self.url, timeout=5).get("/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {wait} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: a power cut, as far as the app knows."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process:  # workers orphaned by a dead master, if any
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def logged_exceptions(self) -> int:
        try:
            return self.log.read_text(errors="replace").count("Traceback (most recent call last)")
        except OSError:
            return 0


# --- the clinic -------------------------------------------------------------------------------


@dataclass
class Clinician:
    email: str
    role: str  # "medical": vitals on medicine sessions; "therapist": preparation notes on courses
    targets: list[int]  # dosing session ids, or course ids


def setup_app(database_url: str):
    """An in-process app on the same database, to build and check it (CSRF off, no server)."""
    from .. import create_app

    return create_app({"DATABASE_URL": database_url, "SQLALCHEMY_DATABASE_URI": database_url,
                       "SECRET_KEY": "soak-set-up", "TESTING": True, "WTF_CSRF_ENABLED": False})


def build_schema(database_url: str) -> None:
    """Empty the database (it must be a scratch one) and migrate it from scratch."""
    from flask_migrate import upgrade

    from ..extensions import db

    app = setup_app(database_url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        db.session.remove()
        db.engine.dispose()


def prepare_clinic(database_url: str, *, medical: int = 2, therapists: int = 2, targets: int = 3,
                   demo_clinic: bool = True) -> list[Clinician]:
    """The demo clinic plus soak staff: each medical clinician gets ``targets`` medicine sessions
    open for vitals (course, signed screening and preparation, opened through the app's own
    routes), each therapist ``targets`` courses of their own clients to write notes in."""
    from . import demo
    from ..auth.sessions import hash_password
    from ..extensions import db
    from sqlalchemy import select

    from ..models import Client, ClientStatus, Site, User
    from ..rules.access import Role
    from .. import clock

    app = setup_app(database_url)
    clinicians: list[Clinician] = []
    with app.app_context():
        if demo_clinic:
            demo.seed(PASSWORD)
        hashed = hash_password(PASSWORD)
        home = db.session.scalars(select(Site).order_by(Site.id).limit(1)).all()  # every database has one
        staff = {}
        for role, count in ((Role.MEDICAL, medical), (Role.THERAPIST, therapists)):
            for i in range(1, count + 1):
                local = f"soak-{role.value}-{i}"
                user = User(email=f"{local}@{DOMAIN}", name=f"Soak {role.label} {i}", role=role,
                            password_hash=hashed, sites=list(home))
                db.session.add(user)
                staff[local] = user
        # The therapist who writes the screenings and preparation notes of the medical targets.
        lead = User(email=f"soak-lead-therapist@{DOMAIN}", name="Soak Lead Therapist",
                    role=Role.THERAPIST, password_hash=hashed, sites=list(home))
        db.session.add(lead)
        db.session.flush()
        numbers = itertools.count(1)
        site_id = home[0].id

        def new_client(therapist: User) -> Client:
            n = next(numbers)
            record = Client(record_number=f"SOAK-{n:04d}", given_name="Soak", family_name=f"Client {n}",
                            date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=n), phone="+1 555 0100",
                            emergency_contact_name="Invented Contact", emergency_contact_relationship="Friend",
                            emergency_contact_phone="+1 555 0199", therapist_id=therapist.id,
                            home_site_id=site_id, status=ClientStatus.ACTIVE)
            db.session.add(record)
            db.session.flush()
            return record

        plan = []
        for local, user in staff.items():
            owner = lead if user.role is Role.MEDICAL else user
            plan.append((user, [new_client(owner) for _ in range(targets)]))
        db.session.commit()
        emails = {u.id: u.email for u in [*staff.values(), lead]}

        http = {}

        def as_user(email: str):
            if email not in http:
                http[email] = app.test_client()
                response = http[email].post("/login", data={"email": email, "password": PASSWORD})
                assert response.status_code == 302, f"set-up sign-in of {email}: {response.status_code}"
            return http[email]

        def post(email: str, url: str, data: dict) -> int:
            response = as_user(email).post(url, data=data)
            if response.status_code != 302:
                raise RuntimeError(f"set-up step {url} answered {response.status_code}")
            return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1] or 0)

        def local_time(delta=dt.timedelta(0)) -> str:
            return clock.local_in(delta).strftime("%Y-%m-%dT%H:%M")

        today = clock.today().isoformat()
        for user, records in plan:
            ids = []
            for record in records:
                therapist = emails[record.therapist_id]
                course = post(therapist, f"/clients/{record.id}/courses/new", {
                    "planned_route": "im", "planned_medicine_sessions": "4",
                    "goals": "Soak test course (invented).", "started_on": today})
                if user.role is Role.THERAPIST:
                    ids.append(course)
                    continue
                screening = post(therapist, f"/courses/{course}/sessions/new/screening", {
                    "occurred_at": local_time(-dt.timedelta(hours=3)), "psychosis_history": "none",
                    "mania_history": "none", "dissociative_history": "none", "pregnancy": "not_applicable",
                    "bp_history": "Normotensive.", "note": "Soak screening."})
                post(user.email, f"/sessions/{screening}/sign", {
                    "c-confirm": "y", "decision": "eligible", "decision_rationale": "Suitable (soak test)."})
                preparation = post(therapist, f"/courses/{course}/sessions/new/preparation", {
                    "occurred_at": local_time(-dt.timedelta(hours=2, minutes=30)),
                    "intentions": "To rest.", "note": "Soak preparation."})
                post(therapist, f"/sessions/{preparation}/sign", {"c-confirm": "y"})
                # Now: a medicine session cannot be dated before the decision just signed.
                ids.append(post(user.email, f"/courses/{course}/sessions/new/dosing", {
                    "route": "im", "occurred_at": local_time()}))
            clinicians.append(Clinician(user.email, user.role.value, ids))
        db.session.remove()
        db.engine.dispose()
    return clinicians


# --- the workload -----------------------------------------------------------------------------


@dataclass
class Write:
    """A write the server acknowledged (answered the POST with a redirect)."""

    kind: str  # "vitals" or "note"
    target: int  # dosing session id or course id
    marker: str  # unique text stored with the record
    values: dict
    record_id: int | None = None  # the new session's id, for notes


@dataclass
class Work:
    acknowledged: list[Write] = field(default_factory=list)
    attempted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, write: Write) -> None:
        with self.lock:
            self.acknowledged.append(write)


def write_once(browser: Browser, clinician: Clinician, target: int, marker: str, rng: random.Random,
               work: Work, stats: Stats) -> str:
    """Open the form, fill it in, save; returns the CSRF token seen (for signing out)."""
    medical = clinician.role == "medical"
    kind = "vitals" if medical else "note"
    path = f"/sessions/{target}/vitals" if medical else f"/courses/{target}/sessions/new/preparation"
    page = browser.get(path)
    if page.status != 200:
        stats.error(f"GET {'vitals page' if medical else 'note form'}: {page.status}")
        return ""
    fields = form_fields(page.body)
    if medical:
        systolic = rng.randint(105, 138)
        values = {"systolic": systolic, "diastolic": rng.randint(62, min(88, systolic - 25)),
                  "heart_rate": rng.randint(58, 92), "spo2": rng.randint(95, 99)}
        form = {"csrf_token": fields.get("csrf_token", ""), "taken_at": fields.get("taken_at", ""),
                "timepoint": "baseline", "note": marker, **{k: str(v) for k, v in values.items()}}
    else:
        values = {"intentions": f"To notice {rng.choice(['breath', 'anger', 'grief', 'hope'])}.",
                  "note": f"{marker}\nClient arrived on time; intentions reviewed. " * rng.randint(1, 8)}
        form = {"csrf_token": fields.get("csrf_token", ""), "occurred_at": fields.get("occurred_at", ""),
                **values}
    with work.lock:
        work.attempted += 1
    reply = browser.post(path, form)
    if reply.status != 302:
        stats.error(f"POST {kind}: {reply.status}")
        return fields.get("csrf_token", "")
    write = Write(kind, target, marker, values)
    if kind == "note":
        write.record_id = int(reply.location.rsplit("/", 1)[-1])
    work.ack(write)
    follow = browser.get(reply.location)  # the page the person lands on
    if follow.status != 200:
        stats.error(f"GET after {kind}: {follow.status}")
    return fields.get("csrf_token", "")


def clinician_loop(base_url: str, clinician: Clinician, stop: threading.Event, work: Work, stats: Stats,
                   *, think: float = 0.2, relogin_every: int = 25, seed: int = 0,
                   tolerate_connection_errors: bool = False) -> None:
    rng = random.Random(seed)
    browser = Browser(base_url, stats)
    run = uuid.uuid4().hex[:6]
    try:
        browser.login(clinician.email)
        for n in itertools.count():
            if stop.is_set():
                return
            target = clinician.targets[n % len(clinician.targets)]
            marker = f"soak {run} {clinician.email.split('@')[0]} #{n}"
            token = write_once(browser, clinician, target, marker, rng, work, stats)
            if relogin_every and n % relogin_every == relogin_every - 1 and token:
                if browser.logout(token).status != 302:
                    stats.error("POST logout: not a redirect")
                browser.login(clinician.email)
            if think:
                stop.wait(rng.uniform(0, 2 * think))
    except (OSError, http.client.HTTPException) as error:
        if not tolerate_connection_errors:
            stats.error(f"{clinician.role}: {type(error).__name__}")
    except Exception as error:  # noqa: BLE001 - counted, never hidden
        stats.error(f"{clinician.role}: {type(error).__name__}: {error}")


# --- the checks -------------------------------------------------------------------------------


def verify_writes(database_url: str, writes: list[Write]) -> tuple[int, list[str]]:
    """Every acknowledged write, found whole: the row and its values, its subtype row (notes),
    and its audit event. Returns how many were found whole, and the problems."""
    from ..extensions import db
    from ..models import AuditEvent, ClinicalSession, PreparationSession, VitalSign

    problems: list[str] = []
    verified = 0
    app = setup_app(database_url)
    with app.app_context():
        vitals = {v.note: v for v in db.session.scalars(sa.select(VitalSign).where(VitalSign.note.like("soak %")))}
        audited = set(db.session.execute(sa.select(AuditEvent.record_type, AuditEvent.record_id)
                                         .where(AuditEvent.action == "create")).all())
        for write in writes:
            found_before = len(problems)
            if write.kind == "vitals":
                row = vitals.get(write.marker)
                if row is None:
                    problems.append(f"reading {write.marker!r} acknowledged but missing")
                    continue
                got = {k: getattr(row, k) for k in write.values}
                if got != write.values or row.session_id != write.target:
                    problems.append(f"reading {write.marker!r} stored as {got}")
                if ("vitals", row.id) not in audited:
                    problems.append(f"reading {row.id} has no audit event")
            else:
                session = db.session.get(ClinicalSession, write.record_id)
                if session is None:
                    problems.append(f"note {write.record_id} acknowledged but missing")
                    continue
                if not isinstance(session, PreparationSession) or session.course_id != write.target:
                    problems.append(f"note {write.record_id} is not the preparation note written")
                elif session.note != write.values["note"].strip() or session.intentions != write.values["intentions"]:
                    problems.append(f"note {write.record_id}: text differs from what was sent")
                if ("preparation", write.record_id) not in audited:
                    problems.append(f"note {write.record_id} has no audit event")
            verified += len(problems) == found_before
        db.session.remove()
        db.engine.dispose()
    return verified, problems


SUBTYPES = {"screening": "screening", "preparation": "preparation_session", "dosing": "dosing_session",
            "integration": "integration_session"}


def integrity_problems(database_url: str, *, audited_after: dict[str, int] | None = None) -> list[str]:
    """Nothing half-written anywhere: every clinical session has its subtype row and no other;
    foreign keys hold (SQLite checks them itself after a crash); the file is sound (SQLite); every
    session and reading with an id above ``audited_after`` has its audit event."""
    engine = sa.create_engine(_sqlalchemy_url(database_url))
    problems = []
    try:
        with engine.connect() as conn:
            for kind, table in SUBTYPES.items():
                missing = conn.scalar(sa.text(
                    f"SELECT count(*) FROM clinical_session s LEFT JOIN {table} t ON t.id = s.id "
                    "WHERE s.kind = :kind AND t.id IS NULL"), {"kind": kind})
                if missing:
                    problems.append(f"{missing} {kind} session(s) without their {table} row")
                stray = conn.scalar(sa.text(
                    f"SELECT count(*) FROM {table} t JOIN clinical_session s ON s.id = t.id WHERE s.kind <> :kind"),
                    {"kind": kind})
                if stray:
                    problems.append(f"{stray} {table} row(s) under a session of another kind")
            if engine.dialect.name == "sqlite":
                check = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
                if check != "ok":
                    problems.append(f"SQLite integrity_check: {check}")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    problems.append(f"{len(broken)} rows break a foreign key: {broken[:5]}")
            for table, record_type in (("vital_sign", "vitals"), ("clinical_session", None)):
                after = (audited_after or {}).get(table)
                if after is None:
                    continue
                kind = "'vitals'" if record_type else "s.kind"
                unaudited = conn.scalar(sa.text(
                    f"SELECT count(*) FROM {table} s WHERE s.id > :after AND NOT EXISTS ("
                    f"SELECT 1 FROM audit_event a WHERE a.action = 'create' AND a.record_type = {kind} "
                    "AND a.record_id = s.id)"), {"after": after})
                if unaudited:
                    problems.append(f"{unaudited} {table} row(s) without their audit event")
    finally:
        engine.dispose()
    return problems


def max_ids(database_url: str) -> dict[str, int]:
    engine = sa.create_engine(_sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            return {t: conn.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {t}"))
                    for t in ("vital_sign", "clinical_session", "audit_event")}
    finally:
        engine.dispose()


def _sqlalchemy_url(url: str) -> str:
    from .. import normalise_database_url

    return normalise_database_url(url)


# --- the soak ---------------------------------------------------------------------------------


def soak(database_url: str, *, seconds: float, clinicians: int = 8, workers: int = 4, think: float = 0.2,
         targets: int = 3, log=print) -> dict:
    """Run the soak against a scratch database (emptied first) and return the figures."""
    medical = clinicians // 2
    log(f"Preparing the clinic: schema, demo clinic, {medical} medical staff and "
        f"{clinicians - medical} therapists with {targets} records each...")
    build_schema(database_url)
    staff = prepare_clinic(database_url, medical=medical, therapists=clinicians - medical, targets=targets)
    before = max_ids(database_url)
    server = Server(database_url, workers=workers).start()
    log(f"gunicorn ({workers} workers) at {server.url}; {clinicians} clinicians for {seconds:.0f} s...")
    stats, work, stop = Stats(), Work(), threading.Event()
    threads = [threading.Thread(target=clinician_loop, args=(server.url, c, stop, work, stats),
                                kwargs={"think": think, "seed": i}, name=f"clinician-{i}")
               for i, c in enumerate(staff)]
    started = time.monotonic()
    try:
        for t in threads:
            t.start()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - started
        exceptions = server.logged_exceptions()
    finally:
        server.stop()
    verified, problems = verify_writes(database_url, work.acknowledged)
    problems += integrity_problems(database_url, audited_after=before)
    figures = {
        "seconds": round(elapsed, 1),
        "clinicians": clinicians,
        "gunicorn_workers": workers,
        "database": sa.engine.make_url(_sqlalchemy_url(database_url)).get_backend_name(),
        "requests": len(stats.latencies),
        "requests_per_second": round(len(stats.latencies) / elapsed, 1) if elapsed else 0,
        "errors": len(stats.errors) + exceptions,
        "server_exceptions": exceptions,
        "writes_attempted": work.attempted,
        "writes_acknowledged": len(work.acknowledged),
        "vitals_acknowledged": sum(1 for w in work.acknowledged if w.kind == "vitals"),
        "notes_acknowledged": sum(1 for w in work.acknowledged if w.kind == "note"),
        "writes_verified": verified,
        "problems": problems[:20],
        "error_samples": sorted(set(stats.errors))[:10],
        **stats.percentiles(),
    }
    figures["ok"] = figures["errors"] == 0 and not problems and figures["writes_acknowledged"] > 0
    return figures


def _scratch_database(server_url: str) -> tuple[str, callable]:
    from .. import normalise_database_url

    url = sa.engine.make_url(normalise_database_url(server_url))
    name = f"kaptracker_soak_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaptracker.ops.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the clinicians work (default 3)")
    parser.add_argument("--clinicians", type=int, default=8, help="simulated clinicians, half medical (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--think", type=float, default=0.2, help="mean pause between actions, s (default 0.2)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                        help="the PostgreSQL server; a scratch database is made on it and dropped after")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args(argv)
    database_url, drop = _scratch_database(args.postgres)
    print(f"Scratch database: {sa.engine.make_url(database_url).render_as_string(hide_password=True)}")
    try:
        figures = soak(database_url, seconds=args.minutes * 60, clinicians=args.clinicians,
                       workers=args.workers, think=args.think)
    finally:
        if not args.keep:
            drop()
    print(f"\nrequests {figures['requests']} ({figures['requests_per_second']}/s), errors {figures['errors']}, "
          f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms, "
          f"max {figures['max_ms']} ms")
    print(f"writes acknowledged {figures['writes_acknowledged']} ({figures['vitals_acknowledged']} vitals, "
          f"{figures['notes_acknowledged']} notes), verified {figures['writes_verified']}")
    for problem in figures["problems"] + figures["error_samples"]:
        print(f"  ! {problem}")
    print(json.dumps(figures, sort_keys=True))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
