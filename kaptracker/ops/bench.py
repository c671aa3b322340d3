"""Benchmark: every main page's server time, queries and size, against a floor; then gunicorn
under concurrent load.

    .venv/bin/python -m kaptracker.ops.bench --database-url postgresql://postgres@127.0.0.1:5432/kap6_50k \\
        --clients 50000 --json bench-50k.json

The database is filled with ``seed-scale`` first when it has no generated clinic yet
(``--clients``; it must already be migrated). In-process, each page is requested through the
Flask test client, signed in as the role that uses it: a few warm-up requests, then
``--requests`` measured ones, giving the median and 95th percentile time, SQL statements per
request and the response size. The **floor** is a page of the same stack that runs one query
and renders a 12-row table with Jinja (as TechEmpower's Fortunes test); it is added to the
benchmark's own app only, never to production routes. Every page's median is printed as a
multiple of the floor's.

The load test (PostgreSQL, ``--load-seconds``, 0 to skip) starts gunicorn (``--workers``) and
drives it with ``wrk`` (Debian package ``wrk``) from a Lua script that carries a signed-in
cookie and CSRF token: page views by a therapist and a supervisor, and vitals POSTs by medical
staff. It prints throughput, latency percentiles and errors, and checks that every reading
acknowledged with a redirect is in the database (no lost writes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time  # perf_counter only: durations, not the wall clock (that is kaptracker.clock)
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from .. import clock

FLOOR_TEMPLATE = """<!doctype html><html><head><title>Fortunes</title></head><body>
<table><tr><th>id</th><th>message</th></tr>
{% for id, message in rows %}<tr><td>{{ id }}</td><td>{{ message }}</td></tr>
{% endfor %}</table></body></html>"""


@dataclasses.dataclass
class Page:
    """One measured page. ``kind``: record (target 3x floor), list (5x), other (reported only)."""

    name: str
    role: str  # therapist | medical | supervisor | admin | anonymous
    kind: str
    endpoint: str  # skipped, with a note, when the app has no such endpoint yet
    request: Callable[[dict], tuple[str, str, dict | None]]  # ctx -> (method, url, form)


# An export states its purpose and recipient (kaptracker.disclosures).
EXPORT_FORM = {"purpose": "operations", "recipient": "Benchmark"}


def _vitals_form(ctx):
    return {"systolic": "124", "diastolic": "78", "heart_rate": "72", "spo2": "98",
            "timepoint": "during", "taken_at": ctx["local_now"], "note": ""}


def get(url: str) -> Callable[[dict], tuple[str, str, None]]:
    """A GET of ``url``, its ``{placeholders}`` filled from the context (``{ids[medical]}``)."""
    return lambda c: ("GET", url.format(**c), None)


def post(url: str, form: Callable[[dict], dict]) -> Callable[[dict], tuple[str, str, dict]]:
    """A POST of ``form(context)`` to ``url`` (placeholders as for :func:`get`)."""
    return lambda c: ("POST", url.format(**c), form(c))


def _export(c):
    return EXPORT_FORM


def _login(c):
    return {"email": c["emails"]["therapist"], "password": c["password"]}


# The pages, in the order printed. Adding a page is one line.
PAGES = [
    Page("floor (Fortunes)", "anonymous", "floor", "bench_floor", get("/bench/floor")),
    Page("login (scrypt)", "anonymous", "other", "auth.login", post("/login", _login)),
    Page("dashboard (therapist)", "therapist", "list", "dashboard.index", get("/dashboard/")),
    Page("dashboard (supervisor)", "supervisor", "list", "dashboard.index", get("/dashboard/")),
    Page("today (medical)", "medical", "list", "vitals.today", get("/today")),
    Page("client list (therapist)", "therapist", "list", "clients.index", get("/clients/")),
    Page("client list (supervisor)", "supervisor", "list", "clients.index", get("/clients/")),
    Page("client search (supervisor)", "supervisor", "list", "clients.index",
         post("/clients/", lambda c: {"q": c["search"]})),
    Page("client page", "therapist", "record", "clients.show", get("/clients/{client}")),
    Page("course timeline", "therapist", "record", "courses.show", get("/courses/{course}")),
    Page("medicine session note", "therapist", "record", "courses.show_session", get("/sessions/{dosing}")),
    Page("session vitals + chart", "medical", "record", "vitals.session_vitals", get("/sessions/{dosing}/vitals")),
    Page("vitals entry POST", "medical", "write", "vitals.record_vitals",
         post("/sessions/{open_dosing}/vitals", _vitals_form)),
    Page("audit search (latest)", "supervisor", "list", "audit.index", get("/audit/")),
    Page("audit search (client)", "supervisor", "list", "audit.index", get("/audit/?client={client}")),
    Page("audit search (user, action)", "supervisor", "list", "audit.index",
         get("/audit/?user={ids[medical]}&action=create")),
    Page("co-sign worklist", "supervisor", "list", "supervision.cosign_worklist", get("/supervision/")),
    Page("outcomes dashboard", "supervisor", "list", "dashboard.outcomes", get("/dashboard/outcomes")),
    Page("dashboard (network lead)", "lead", "list", "dashboard.index", get("/dashboard/")),
    Page("outcomes (network lead)", "lead", "list", "dashboard.outcomes", get("/dashboard/outcomes")),
    Page("audit search (network lead)", "lead", "list", "audit.index", get("/audit/")),
    Page("report: course summary", "therapist", "report", "reports.course_summary", get("/courses/{course}/summary")),
    Page("accounting of disclosures", "therapist", "record", "disclosures.client_disclosures",
         get("/clients/{client}/disclosures")),
    Page("report: caseload CSV", "therapist", "report", "exports.caseload_csv", post("/exports/caseload.csv", _export)),
    Page("report: course vitals CSV", "therapist", "report", "exports.course_vitals_csv",
         post("/courses/{course}/vitals.csv", _export)),
]

TARGETS = {"record": 3.0, "list": 5.0}


def make_app(database_url: str):
    from .. import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-secret-key",
                      "PASSWORD_HASH_METHOD": "scrypt:32768:8:1"})
    add_floor(app)
    return app


def add_floor(app) -> None:
    """The floor page, on this app instance only (never a production route)."""
    from flask import render_template_string

    from ..access import public
    from ..extensions import db
    from ..models import User

    @public
    def floor():
        rows = db.session.execute(sa.select(User.id, User.name).order_by(User.id).limit(12)).all()
        return render_template_string(FLOOR_TEMPLATE, rows=rows)

    app.add_url_rule("/bench/floor", "bench_floor", floor)


def ensure_clinic(app, clients: int | None, seed: int, sites: int = 1) -> None:
    from . import scale
    from ..auth.sessions import hash_password
    from ..extensions import db

    with app.app_context():
        have = db.session.scalar(sa.text("SELECT count(*) FROM \"user\" WHERE email LIKE :d"),
                                 {"d": f"%@{scale.DOMAIN}"})
        if have:
            return
        if not clients:
            sys.exit("No generated clinic in this database: give --clients N to load one.")
        print(f"Loading {clients:,} clients over {sites} sites (seed-scale)...", flush=True)
        started = time.perf_counter()
        with db.engine.begin() as connection:
            scale.load(connection, clients, sites=sites, seed=seed,
                       password_hash=hash_password(scale.DEFAULT_PASSWORD))
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)


def context(app, password: str, after_user: int = 0) -> dict:
    """The records the pages open: the first generated therapist's busiest client and course
    (among the staff with an id above ``after_user``: the query-budget tests load twice)."""
    from . import scale
    from ..extensions import db

    with app.app_context():
        q = lambda sql, **kw: db.session.execute(sa.text(sql), kw).first()  # noqa: E731
        like = f"%@{scale.DOMAIN}"
        ids = {role: q("SELECT id FROM \"user\" WHERE role = :r AND email LIKE :d AND id > :a"
                       " AND NOT network_lead ORDER BY id LIMIT 1", r=role, d=like, a=after_user)[0]
               for role in ("therapist", "medical", "supervisor", "admin")}
        lead = q("SELECT id FROM \"user\" WHERE network_lead AND email LIKE :d AND id > :a ORDER BY id LIMIT 1",
                 d=like, a=after_user)
        if lead:  # a clinic generated before seed-scale made one has none
            ids["lead"] = lead[0]
        emails = {role: q("SELECT email FROM \"user\" WHERE id = :i", i=i)[0] for role, i in ids.items()}
        course = q("SELECT c.id, c.client_id FROM course c JOIN client cl ON cl.id = c.client_id"
                   " JOIN clinical_session s ON s.course_id = c.id WHERE cl.therapist_id = :t"
                   " GROUP BY c.id, c.client_id ORDER BY count(*) DESC, c.id LIMIT 1", t=ids["therapist"])
        dosing = q("SELECT s.id FROM clinical_session s JOIN vital_sign v ON v.session_id = s.id"
                   " WHERE s.course_id = :c AND s.kind = 'dosing' GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1",
                   c=course[0])
        # An open medicine session of a client in treatment: where the vitals POSTs go.
        open_ids = [r[0] for r in db.session.execute(sa.text(
            "SELECT s.id FROM clinical_session s JOIN course c ON c.id = s.course_id"
            " JOIN client cl ON cl.id = c.client_id WHERE s.kind = 'dosing' AND s.signed_at IS NULL"
            " AND c.end_reason IS NULL AND cl.status = 'active' AND cl.therapist_id > :a"
            " ORDER BY s.occurred_at DESC, s.id LIMIT 40"), {"a": after_user})]
        family = q("SELECT family_name FROM client WHERE therapist_id = :t ORDER BY id LIMIT 1",
                   t=ids["therapist"])[0]
        local_now = clock.local_now().replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")
    return {"ids": ids, "emails": emails, "password": password, "client": course[1], "course": course[0],
            "dosing": dosing[0], "open_dosing": open_ids[0] if open_ids else None, "open_sessions": open_ids,
            "search": family[:6].lower(), "local_now": local_now}


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class CSRF:
    """The CSRF token in a page; "" where the app has CSRF switched off (tests)."""

    @staticmethod
    def search(page: str):
        match = CSRF_INPUT.search(page)
        return match or re.match(r"()", "")


def signed_in_client(app, email: str, password: str):
    http = app.test_client()
    page = http.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    answer = http.post("/login", data={"email": email, "password": password, "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"could not sign in as {email}: {answer.status_code}")
    # Signing in starts a new session, and with it a new CSRF token (the sign-out form has it).
    return http, CSRF.search(http.get("/account").get_data(as_text=True)).group(1)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def measure(app, ctx: dict, requests: int, warmup: int = 3, pages: list[Page] | None = None) -> list[dict]:
    from ..extensions import db

    sessions = {}
    counted = {"n": 0}

    def count(*_args, **_kwargs):
        counted["n"] += 1

    results = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for page in pages or PAGES:
            if page.endpoint not in app.view_functions:
                print(f"  (skipped {page.name}: no endpoint {page.endpoint} in this version)")
                continue
            if page.endpoint == "vitals.record_vitals" and not ctx["open_dosing"]:
                print(f"  (skipped {page.name}: no open medicine session in this clinic)")
                continue
            if page.role not in ctx["emails"] and page.role != "anonymous":
                print(f"  (skipped {page.name}: no {page.role} in this clinic)")
                continue
            if page.role == "anonymous":
                http, token = app.test_client(), None
            else:
                if page.role not in sessions:
                    sessions[page.role] = signed_in_client(app, ctx["emails"][page.role], ctx["password"])
                http, token = sessions[page.role]
            times, queries, sizes, statuses = [], [], [], set()
            for n in range(warmup + requests):
                method, url, form = page.request(ctx)
                if form is not None and token:
                    form = {**form, "csrf_token": token}
                if page.endpoint == "auth.login":  # a fresh browser each time, with its own token
                    http = app.test_client()
                    token = CSRF.search(http.get("/login").get_data(as_text=True)).group(1)
                    form["csrf_token"] = token
                counted["n"] = 0
                started = time.perf_counter()
                answer = http.open(url, method=method, data=form)
                elapsed = time.perf_counter() - started
                body = answer.get_data()
                if answer.status_code >= 400:
                    raise RuntimeError(f"{page.name}: {method} {url} answered {answer.status_code}\n"
                                       f"{body[:800].decode(errors='replace')}")
                if n >= warmup:
                    times.append(elapsed * 1000)
                    queries.append(counted["n"])
                    sizes.append(len(body))
                    statuses.add(answer.status_code)
            results.append({
                "page": page.name, "kind": page.kind, "role": page.role, "endpoint": page.endpoint,
                "median_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 95), 2),
                "queries": max(queries), "bytes": int(statistics.median(sizes)),
                "status": sorted(statuses),
            })
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    floor = next((r["median_ms"] for r in results if r["kind"] == "floor"), 1.0)
    for r in results:
        r["ratio"] = round(r["median_ms"] / floor, 2)
        target = TARGETS.get(r["kind"])
        r["target"] = target
        r["meets"] = None if target is None else bool(r["ratio"] <= target and r["p95_ms"] <= 2 * r["median_ms"])
    return results


def print_table(results: list[dict], title: str) -> None:
    print(f"\n{title}")
    print(f"{'page':<30} {'median ms':>9} {'p95 ms':>8} {'queries':>7} {'bytes':>8} {'x floor':>8}  target")
    for r in results:
        mark = "" if r["meets"] is None else ("ok" if r["meets"] else "MISSED")
        target = f"<={r['target']:.0f}x {mark}" if r["target"] else ""
        print(f"{r['page']:<30} {r['median_ms']:>9.2f} {r['p95_ms']:>8.2f} {r['queries']:>7} "
              f"{r['bytes']:>8} {r['ratio']:>8.1f}  {target}")


# --- gunicorn under load ----------------------------------------------------------------------

LUA = r"""
-- Generated by kaptracker.ops.bench: page views with a signed-in cookie, and vitals POSTs.
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local posts = {%(posts)s}
local post_cookie, post_token, taken_at = %(post_cookie)s, %(post_token)s, %(taken_at)s
local post_every = %(post_every)d
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; writes = 0; bad = 0; bad_status = 0 end
function request()
  n = n + 1
  if post_every > 0 and n %% post_every == 0 then
    local session = posts[(n / post_every) %% #posts + 1]
    local body = "csrf_token=" .. post_token .. "&systolic=124&diastolic=78&heart_rate=72&spo2=98" ..
                 "&timepoint=during&taken_at=" .. taken_at .. "&note="
    return wrk.format("POST", "/sessions/" .. session .. "/vitals",
      {["Cookie"] = post_cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
  end
  local i = n %% #paths + 1
  return wrk.format("GET", paths[i], {["Cookie"] = cookies[i]})
end
function response(status, headers, body)
  if status == 302 and headers["Location"] and string.find(headers["Location"], "/vitals$") then
    writes = writes + 1
  elseif status ~= 200 then
    bad = bad + 1; bad_status = status
  end
end
function done(summary, latency, requests)
  local w, b = 0, 0
  for _, t in ipairs(threads) do w = w + t:get("writes"); b = b + t:get("bad") end
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, ' ..
    '"non_2xx_3xx": %%d, "unexpected_status": %%d, "writes_acknowledged": %%d, "p50_ms": %%.2f, ' ..
    '"p95_ms": %%.2f, "p99_ms": %%.2f, "max_ms": %%.2f}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, b, w, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def _browser_login(base_url: str, email: str, password: str) -> tuple[str, str]:
    from .soak import Browser

    browser = Browser(base_url)
    reply = browser.login(email, password)
    if reply.status != 302:
        raise RuntimeError(f"sign-in as {email} failed under gunicorn: {reply.status}")
    page = browser.get("/account").body
    token = CSRF.search(page).group(1)
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    return cookie, token


def load_test(database_url: str, ctx: dict, seconds: int, workers: int, connections: int) -> dict:
    from urllib.parse import quote

    from .soak import Server

    wrk = shutil.which("wrk")
    if not wrk:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    server = Server(database_url, workers=workers).start()
    try:
        therapist = _browser_login(server.url, ctx["emails"]["therapist"], ctx["password"])
        supervisor = _browser_login(server.url, ctx["emails"]["supervisor"], ctx["password"])
        medical = _browser_login(server.url, ctx["emails"]["medical"], ctx["password"])
        views = [(f"/clients/{ctx['client']}", therapist), (f"/courses/{ctx['course']}", therapist),
                 (f"/sessions/{ctx['dosing']}", therapist), ("/clients/", therapist),
                 (f"/sessions/{ctx['dosing']}/vitals", medical), ("/today", medical),
                 (f"/audit/?client={ctx['client']}", supervisor)]
        if "dashboard" in server_endpoints(ctx):
            views.append(("/dashboard/", therapist))
        lua = LUA % {
            "paths": ", ".join(json.dumps(p) for p, _ in views),
            "cookies": ", ".join(json.dumps(c[0]) for _, c in views),
            "posts": ", ".join(str(s) for s in ctx["open_sessions"][:20]),
            "post_cookie": json.dumps(medical[0]), "post_token": json.dumps(quote(medical[1], safe="")),
            "taken_at": json.dumps(quote(ctx["local_now"], safe="")), "post_every": 10,
        }
        engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        count_sql = sa.text("SELECT count(*) FROM vital_sign WHERE session_id = ANY(:ids)")
        with engine.connect() as conn:
            before = conn.execute(count_sql, {"ids": ctx["open_sessions"][:20]}).scalar()
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua)
        run = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                              "-s", script.name, server.url], capture_output=True, text=True, timeout=seconds + 60)
        os.unlink(script.name)
        with engine.connect() as conn:
            after = conn.execute(count_sql, {"ids": ctx["open_sessions"][:20]}).scalar()
        engine.dispose()
        line = next((l for l in run.stdout.splitlines() if l.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk failed:\n{run.stdout}\n{run.stderr}")
        figures = json.loads(line[len("WRKJSON "):])
        figures["throughput_rps"] = round(figures["requests"] / (figures["duration_us"] / 1e6), 1)
        figures["readings_stored"] = after - before
        figures["lost_writes"] = figures["writes_acknowledged"] - (after - before)
        figures["server_exceptions"] = server.logged_exceptions()
        figures.update(workers=workers, connections=connections, seconds=seconds,
                       mix=f"{len(views)} pages round-robin, every 10th request a vitals POST")
        return figures
    finally:
        server.stop()


def server_endpoints(ctx) -> set[str]:
    return ctx.get("endpoints", set())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaptracker.ops.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a migrated database (sqlite:///... or postgresql://...)")
    parser.add_argument("--clients", type=int, help="load this many clients with seed-scale when none are there")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=1, help="sites the loaded clients are spread over")
    parser.add_argument("--requests", type=int, default=40, help="measured requests per page")
    parser.add_argument("--load-seconds", type=int, default=20, help="gunicorn load test length; 0 skips it")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", default="bench-results.json", help="where the results are written")
    args = parser.parse_args(argv)

    from .. import normalise_database_url
    from . import scale

    url = normalise_database_url(args.database_url)
    app = make_app(url)
    ensure_clinic(app, args.clients, args.seed, args.sites)
    ctx = context(app, scale.DEFAULT_PASSWORD)
    ctx["endpoints"] = {e.split(".")[0] for e in app.view_functions}
    with app.app_context():
        from ..extensions import db

        counts = {t: db.session.scalar(sa.text(f'SELECT count(*) FROM "{t}"'))
                  for t in ("client", "clinical_session", "vital_sign", "outcome_score", "audit_event")}
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{engine}: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()), flush=True)
    results = measure(app, ctx, args.requests)
    print_table(results, f"{engine}, {counts['client']:,} clients, {args.requests} requests per page "
                         "(server time in-process, Flask test client)")
    report = {"engine": engine, "rows": counts, "requests_per_page": args.requests, "pages": results,
              "at": clock.now().isoformat(timespec="seconds")}
    if args.load_seconds and engine == "PostgreSQL":
        print(f"\nLoad: gunicorn {args.workers} workers, wrk {args.connections} connections, "
              f"{args.load_seconds} s...", flush=True)
        report["load"] = load_test(args.database_url, ctx, args.load_seconds, args.workers, args.connections)
        load = report["load"]
        if "skipped" in load:
            print(f"  skipped: {load['skipped']}")
        else:
            print(f"  {load['throughput_rps']} requests/s; latency p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms,"
                  f" p99 {load['p99_ms']} ms; errors: {load['socket_errors']} socket, {load['non_2xx_3xx']} HTTP,"
                  f" {load['unexpected_status']} unexpected status, {load['server_exceptions']} server exceptions;"
                  f" writes acknowledged {load['writes_acknowledged']}, stored {load['readings_stored']},"
                  f" lost {load['lost_writes']}")
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nResults written to {args.json}")
    missed = [r["page"] for r in results if r["meets"] is False]
    if missed:
        print("Targets missed: " + ", ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
