"""A synthetic clinic network at scale, for benchmarks and query-budget tests.

``flask --app kaptracker seed-scale --clients N [--sites K] [--seed S]`` writes, per 1,000
clients, about 20 therapists (plus medical staff and supervisors), 12,000 sessions across every
phase and route, 100,000 vitals readings, 6,000 outcome scores, alerts, overrides, review
comments and the audit events all of those would have written. Every person is invented.

The clients are spread over K sites (default 1) by therapist: a therapist's caseload is at one
site, therapist n's at site n mod K; medical staff and supervisors work at the sites of the therapists
they work with (``staff_site``). The database's own sites are used first (by id; every
database has the default site of migration 0012), and sites are added, in US time zones in turn,
until there are K.

Rows go in with the database's bulk path, not one ORM object at a time: ``COPY`` on PostgreSQL
(psycopg), ``executemany`` on SQLite, in one transaction. Ids are assigned here (from the
current maximum) so children reference parents without reading anything back.

The triggers of migrations 0002-0004 are respected, not disabled: readings and doses are
written while their session is still a draft, and the session is signed afterwards (an UPDATE
the triggers accept), exactly the order in which a clinic writes them. The stored course
summary (:mod:`kaptracker.rollup`) is refreshed at the end, since no ORM flush runs.

Deterministic: the same ``seed``, the same ``today`` and the same starting database give the
same rows. Dates are laid out backwards from the clinic's now (kaptracker.clock; with ``today``,
16:30 on that day in the clinic), at clinic hours in the clinic's zone, so that open courses are
current: today's open medicine sessions started 30-90 minutes before now and have their readings
up to now, and nothing lies in the future, whatever the hour the clinic is generated at.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

import click
from flask.cli import with_appcontext
from sqlalchemy import JSON, Date, DateTime, Numeric, TypeDecorator, func, select, text
from sqlalchemy.engine import Connection

from .. import clock, rollup
from ..extensions import db
from ..rules import scales
from . import demo_data

DOMAIN = "scale.example.org"
DEFAULT_PASSWORD = "scale-clinic-2026"
CLIENTS_PER_THERAPIST = 50  # 20 therapists per 1,000 clients
THERAPISTS_PER_MEDICAL = 4
THERAPISTS_PER_SUPERVISOR = 10
CHUNK = 500  # clients written per batch (bounded memory, a progress step)

# The demo clinic's names (kaptracker/ops/demo_data.py), and more, for a larger clinic.
GIVEN = demo_data.GIVEN + (
    "Emeric", "Florin", "Greta", "Hamid", "Isaura", "Jovan", "Kalinda", "Lysander", "Marit", "Nilo",
)
FAMILY = demo_data.FAMILY + (
    "Fitzallan", "Grimaldi", "Hargreave", "Isenberg", "Jessup", "Kowalczyk", "Larrabee", "Mbeki-Hart",
    "Northcott", "Okonkwo", "Pellegrino", "Quillfeather", "Rothwell", "Sandoval", "Trelawney",
    "Ulvaeus", "Valcourt", "Wexford", "Yarborough", "Zabriskie",
)
RELATIONSHIPS = demo_data.RELATIONSHIPS
INDICATION_SETS = (
    ("depression",), ("ptsd",), ("anxiety", "depression"), ("burnout",), ("grief",),
    ("existential",), ("depression", "ptsd"), ("anxiety",),
)
NOTES = {
    "screening": "Screening interview; history reviewed with the client.",
    "preparation": "Preparation: intentions and fears explored; grounding practised.",
    "dosing": "Medicine session; client settled with eye shades and music.",
    "integration": "Integration: what felt different, and one small experiment for the week.",
}
ROUTES = ("lozenge", "im", "iv")
SITE_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
              "America/Phoenix", "America/Anchorage", "Pacific/Honolulu")
# Where the main course of a client stands (weights add to 1).
PROFILES = (("preparation", 0.14), ("medicine", 0.30), ("integration", 0.10),
            ("completed", 0.36), ("discontinued", 0.10))


def _sqlite_datetime(value: dt.datetime) -> str:
    # The storage format of SQLAlchemy's SQLite DateTime: naive UTC, microseconds always.
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class BulkWriter:
    """Writes tuples into a table by its fastest path; fills NOT NULL columns left out with
    their model default (computed once)."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.rows_written = 0
        self._plans: dict[tuple, tuple] = {}

    def next_id(self, table: str) -> int:
        return (self.connection.execute(text(f'SELECT max(id) FROM "{table}"')).scalar() or 0) + 1

    def _plan(self, table_name: str, columns: tuple[str, ...]):
        key = (table_name, columns)
        if key not in self._plans:
            table = db.metadata.tables[table_name]
            extra, extra_values = [], []
            for column in table.columns:
                if column.name in columns or column.nullable or column.server_default is not None:
                    continue
                if column.primary_key and column.autoincrement in (True, "auto") and len(table.primary_key) == 1:
                    continue
                default = column.default
                if default is None:
                    raise ValueError(f"{table_name}.{column.name} needs a value")
                value = default.arg(None) if callable(default.arg) else default.arg
                extra.append(column.name)
                extra_values.append(value)
            names = (*columns, *extra)
            converters = []
            for name in names:
                kind = table.columns[name].type
                if isinstance(kind, TypeDecorator):
                    kind = kind.impl
                if isinstance(kind, JSON):
                    converters.append(json.dumps)
                elif self.postgres:
                    converters.append(None)
                elif isinstance(kind, DateTime):
                    converters.append(_sqlite_datetime)
                elif isinstance(kind, Date):
                    converters.append(dt.date.isoformat)
                elif isinstance(kind, Numeric):
                    converters.append(float)
                else:
                    converters.append(None)
            self._plans[key] = (names, tuple(extra_values), converters)
        return self._plans[key]

    def write(self, table_name: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        names, extra, converters = self._plan(table_name, tuple(columns))
        active = [(i, c) for i, c in enumerate(converters) if c is not None]

        def prepared():
            for row in rows:
                row = [*row, *extra] if extra else list(row)
                for i, convert in active:
                    if row[i] is not None:
                        row[i] = convert(row[i])
                yield row

        quoted = ", ".join(f'"{n}"' for n in names)
        count = 0
        if self.postgres:
            cursor = self.connection.connection.driver_connection.cursor()
            with cursor.copy(f'COPY "{table_name}" ({quoted}) FROM STDIN') as copy:
                for row in prepared():
                    copy.write_row(row)
                    count += 1
            cursor.close()
        else:
            batch = [tuple(row) for row in prepared()]
            count = len(batch)
            if batch:
                marks = ", ".join("?" for _ in names)
                self.connection.exec_driver_sql(
                    f'INSERT INTO "{table_name}" ({quoted}) VALUES ({marks})', batch)
        self.rows_written += count
        return count

    def sign(self, rows: list[tuple]) -> None:
        """(id, signed_at, signed_by_id, cosigned_at, cosigned_by_id): sign drafts whose readings
        and doses are in, as a clinician does last."""
        if not rows:
            return
        if self.postgres:
            self.connection.exec_driver_sql(
                "CREATE TEMP TABLE IF NOT EXISTS kap_scale_sign (id integer PRIMARY KEY,"
                " signed_at timestamptz, signed_by_id integer, cosigned_at timestamptz,"
                " cosigned_by_id integer) ON COMMIT DROP")
            cursor = self.connection.connection.driver_connection.cursor()
            with cursor.copy("COPY kap_scale_sign FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.close()
            self.connection.exec_driver_sql(
                "UPDATE clinical_session cs SET signed_at = s.signed_at, signed_by_id = s.signed_by_id,"
                " cosigned_at = s.cosigned_at, cosigned_by_id = s.cosigned_by_id"
                " FROM kap_scale_sign s WHERE cs.id = s.id")
            self.connection.exec_driver_sql("TRUNCATE kap_scale_sign")
        else:
            self.connection.exec_driver_sql(
                "UPDATE clinical_session SET signed_at = ?, signed_by_id = ?, cosigned_at = ?,"
                " cosigned_by_id = ? WHERE id = ?",
                [(_sqlite_datetime(a), b, c and _sqlite_datetime(c), d, i) for i, a, b, c, d in rows])

    def finish(self) -> None:
        """PostgreSQL: move each id sequence past the ids written here; refresh statistics."""
        if self.postgres:
            for table in db.metadata.sorted_tables:
                if "id" in table.columns and table.columns["id"].autoincrement in (True, "auto") \
                        and len(table.primary_key) == 1 and not table.columns["id"].foreign_keys:
                    self.connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                        f" coalesce((SELECT max(id) FROM \"{table.name}\"), 0) + 1, false)")


class _Ids:
    def __init__(self, writer: BulkWriter, tables: Iterable[str]):
        self._next = {t: writer.next_id(t) for t in tables}

    def __call__(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


class _Chunk:
    """Rows of one batch of clients, table by table, in an order the triggers accept."""

    TABLES = ("client", "client_indication", "course", "clinical_session", "screening",
              "preparation_session", "dosing_session", "integration_session", "administration",
              "vital_sign", "addendum", "safety_alert", "safety_override", "override_review",
              "outcome_score", "review_comment", "audit_event")

    def __init__(self):
        for table in self.TABLES:
            setattr(self, table, [])
        self.to_sign: list[tuple] = []
        self.course_ids: list[int] = []


class Generator:
    def __init__(self, writer: BulkWriter, *, seed: int, now: dt.datetime, zone, password_hash: str):
        self.writer = writer
        self.rng = random.Random(seed)
        self.now, self.zone = now, zone
        self.today = clock.date_of(now, zone)
        self.password_hash = password_hash
        self.ids = _Ids(writer, ("site", "user", "client", "course", "clinical_session", "administration", "vital_sign",
                                 "addendum", "safety_alert", "safety_override", "override_review",
                                 "outcome_score", "review_comment", "audit_event"))
        self.client_number = writer.connection.execute(text("SELECT count(*) FROM client")).scalar()

    # --- sites -------------------------------------------------------------------------------

    def sites(self, count: int) -> int:
        """Take ``count`` sites: the database's, first by id, then new ones; the number written."""
        have = [row[0] for row in self.writer.connection.execute(
            text("SELECT id FROM site ORDER BY id LIMIT :n"), {"n": count})]
        rows = []
        for number in range(len(have) + 1, count + 1):
            site_id = self.ids("site")
            rows.append((site_id, f"S{number:03d}", f"Scale site {number}", SITE_ZONES[(number - 1) % len(SITE_ZONES)],
                         f"+1 555 {number:07d}", "988", True, self.now - dt.timedelta(days=800), 1))
            have.append(site_id)
        self.site_ids = have
        return self.writer.write("site", ("id", "code", "name", "time_zone", "phone", "crisis_line", "active",
                                          "created_at", "version"), rows)

    # --- staff -------------------------------------------------------------------------------

    def staff(self, clients: int) -> dict[str, list[int]]:
        therapists = max(1, -(-clients // CLIENTS_PER_THERAPIST))
        counts = {"therapist": therapists,
                  "medical": max(1, -(-therapists // THERAPISTS_PER_MEDICAL)),
                  "supervisor": max(1, -(-therapists // THERAPISTS_PER_SUPERVISOR)),
                  "admin": 1}
        created = self.now - dt.timedelta(days=800)
        rows, staff = [], {}
        for role, count in counts.items():
            staff[role] = []
            for n in range(count):
                user_id = self.ids("user")
                given = GIVEN[(user_id * 3) % len(GIVEN)]
                family = FAMILY[(user_id * 7 + 3) % len(FAMILY)]
                title = "Dr " if role in ("medical", "supervisor") and n % 2 == 0 else ""
                rows.append((user_id, f"{role}{user_id}@{DOMAIN}", f"{title}{given} {family}", role,
                             self.password_hash, True, created, created, False))
                staff[role].append(user_id)
        # The network's medical lead: a supervisor of every site, without staff_site rows.
        lead = self.ids("user")
        rows.append((lead, f"lead{lead}@{DOMAIN}", f"Dr {GIVEN[lead % len(GIVEN)]} {FAMILY[(lead * 7 + 3) % len(FAMILY)]}",
                     "supervisor", self.password_hash, True, created, created, True))
        self.writer.write("user", ("id", "email", "name", "role", "password_hash", "active",
                                   "created_at", "password_changed_at", "network_lead"), rows)
        self.staff_ids = staff
        self.staff_sites = self.writer.write("staff_site", ("user_id", "site_id"), sorted(self._staff_sites(staff)))
        return staff

    def _staff_sites(self, staff: dict[str, list[int]]) -> set[tuple[int, int]]:
        """Who works where: therapist n at site n mod K (their caseload's site); medical staff and
        supervisors at the sites of the therapists they work with (see :meth:`_client`)."""
        pairs = set()
        for team, therapist in enumerate(staff["therapist"]):
            site = self.site_ids[team % len(self.site_ids)]
            pairs.add((therapist, site))
            pairs.add((staff["medical"][(team // THERAPISTS_PER_MEDICAL) % len(staff["medical"])], site))
            pairs.add((staff["supervisor"][(team // THERAPISTS_PER_SUPERVISOR) % len(staff["supervisor"])], site))
        return pairs

    # --- clients and courses ------------------------------------------------------------------

    def chunk(self, first: int, count: int) -> _Chunk:
        """Clients ``first`` .. ``first + count - 1`` (0-based positions in this run)."""
        out = _Chunk()
        self.force_today = True  # at least one medicine session today per batch, however small
        for position in range(first, first + count):
            self._client(out, position)
        return out

    def _audit(self, out: _Chunk, at, user_id, action, record_type, record_id, client_id, detail=None):
        out.audit_event.append((self.ids("audit_event"), at, user_id, action, record_type, record_id,
                                client_id, "10.0.0.1", detail))

    def _client(self, out: _Chunk, position: int) -> None:
        rng = self.rng
        staff = self.staff_ids
        therapist = staff["therapist"][min(position // CLIENTS_PER_THERAPIST, len(staff["therapist"]) - 1)]
        team = staff["therapist"].index(therapist)
        site = self.site_ids[team % len(self.site_ids)]
        medical = staff["medical"][(team // THERAPISTS_PER_MEDICAL) % len(staff["medical"])]
        supervisor = staff["supervisor"][(team // THERAPISTS_PER_SUPERVISOR) % len(staff["supervisor"])]
        client_id = self.ids("client")
        self.client_number += 1
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        roll = rng.random()
        profile = None
        if roll >= 0.08:  # 8 % referred, awaiting their first course
            roll = rng.random()
            for name, weight in PROFILES:
                roll -= weight
                if roll < 0:
                    profile = name
                    break
            profile = profile or PROFILES[-1][0]
        history = profile is not None and rng.random() < 0.16  # an earlier, completed course
        low, high = {"preparation": (0, 20), "medicine": (20, 70), "integration": (80, 110),
                     "completed": (120, 600), "discontinued": (60, 500), None: (0, 15)}[profile]
        start = self.today - dt.timedelta(days=rng.randint(low, high) + (420 if history else 0))
        created = self._at(start - dt.timedelta(days=rng.randint(3, 20)), 10)
        if profile is None:
            status = "referred"
        elif profile in ("completed", "discontinued"):
            status = "discharged"
        else:
            status = "on_hold" if rng.random() < 0.03 else "active"
        indications = INDICATION_SETS[rng.randrange(len(INDICATION_SETS))]
        out.client.append((
            client_id, f"SC-{self.client_number:07d}", given, family,
            "Dee" if given == "Delphine" else None, rng.choice((None, "she/her", "he/him", "they/them")),
            dt.date(rng.randint(1950, 2003), rng.randint(1, 12), rng.randint(1, 28)),
            f"+1 555 {rng.randint(1000000, 9999999)}",
            f"{given.lower()}.{family.lower().replace('-', '')}{client_id}@example.org",
            f"{rng.randint(2, 990)} Invented Lane, Springfield",
            f"{rng.choice(GIVEN)} {family}", rng.choice(RELATIONSHIPS), f"+1 555 {rng.randint(1000000, 9999999)}",
            therapist, site, status, created, created, 1,
        ))
        for indication in indications:
            out.client_indication.append((client_id, indication))
        self._audit(out, created, therapist, "create", "client", client_id, client_id)
        if history:
            self._course(out, client_id, site, indications, therapist, medical, supervisor, "completed",
                         start - dt.timedelta(days=420))
        if profile is not None:
            self._course(out, client_id, site, indications, therapist, medical, supervisor, profile,
                         start + dt.timedelta(days=0))

    def _at(self, day: dt.date, hour: int | None = None) -> dt.datetime:
        """A time in clinic hours (08:00-15:45 in the clinic's zone) on ``day``; never after now."""
        hour = self.rng.randint(8, 15) if hour is None else hour
        return self._past(clock.at(day, dt.time(hour, self.rng.choice((0, 15, 30, 45))), self.zone))

    def _past(self, moment: dt.datetime, before: int = 5) -> dt.datetime:
        """``moment``, or ``before`` minutes before now if it is later (nothing is written ahead)."""
        return min(moment, self.now - dt.timedelta(minutes=before))

    def _course(self, out, client_id, site, indications, therapist, medical, supervisor, profile, start):
        rng = self.rng
        course_id = self.ids("course")
        out.course_ids.append(course_id)
        route = rng.choice(ROUTES)
        planned = rng.choice((4, 6, 6, 8))
        ended = profile in ("completed", "discontinued")
        given = {"preparation": 0, "medicine": rng.randint(1, planned - 1), "integration": planned,
                 "completed": planned, "discontinued": rng.randint(0, 2)}[profile]
        force = profile == "medicine" and self.force_today
        if force:
            self.force_today = False
            given, start = planned - 1, self.today - dt.timedelta(days=20)
        day = start
        sessions = []  # (kind, occurred_at, author, signed, signer)

        def add(kind, when, author, signed=True, signer=None):
            session_id = self.ids("clinical_session")
            sessions.append((session_id, kind, when, author, signed, signer or author))
            return session_id

        # Screening: drafted by the therapist, decided and signed by medical staff.
        screening_signed = profile != "preparation" or rng.random() < 0.6
        decision = "not_eligible" if profile == "discontinued" and given == 0 and rng.random() < 0.5 else "eligible"
        screening = add("screening", self._at(day), therapist, screening_signed, medical)
        out.screening.append((screening, "Normotensive; no cardiac history.", "None known.",
                              "Sertraline 100 mg daily", [], "Major depressive disorder, recurrent",
                              "none", "none", "none", "Alcohol: occasional", "not_applicable",
                              "Partner and two close friends", "Partner drives home",
                              [], decision if screening_signed else None,
                              "Criteria reviewed; no absolute contraindication." if screening_signed else None))
        preparations = 1 if profile == "preparation" else rng.randint(2, 3)
        for n in range(preparations):
            day += dt.timedelta(days=rng.randint(3, 6))
            signed = not (profile == "preparation" and n == preparations - 1 and rng.random() < 0.5)
            sid = add("preparation", self._at(min(day, self.today)), therapist, signed)
            out.preparation_session.append((sid, "To feel less stuck; to reconnect with my family.",
                                            "Fewer low days", "Losing control", "Partner, running, journaling",
                                            True, True, "Ready"))
        weight = Decimal(rng.randint(520, 1050)) / 10
        last_dosing = None
        for n in range(given):
            day += dt.timedelta(days=rng.randint(5, 9))
            if day >= self.today:  # a few open courses have a medicine session today
                if ended or profile != "medicine" or (last_dosing and self._date(last_dosing[1]) == self.today) \
                        or (not force and rng.random() > 0.15):
                    break
                day = self.today
            today_session = not ended and day == self.today
            if today_session:  # in progress: started 30-90 minutes ago (40 for the first), on a 5-minute mark
                when = self.now - dt.timedelta(minutes=40 if force else rng.choice((30, 45, 60, 75, 90)))
                when = when.replace(minute=when.minute - when.minute % 5, second=0, microsecond=0)
            else:
                when = self._at(day)
            signed = not (today_session or (profile == "medicine" and n == given - 1 and rng.random() < 0.1))
            dosing = add("dosing", when, medical, signed)
            last_dosing = (dosing, when)
            self._dosing(out, client_id, dosing, when, route, weight, medical, therapist, supervisor,
                         open_session=not signed and not ended)
            overdue_gap = profile == "medicine" and n == given - 1
            if not overdue_gap or rng.random() < 0.5:
                idate = self._date(when) + dt.timedelta(days=rng.randint(1, 4))
                if idate <= self.today:
                    sid = add("integration", self._at(idate), therapist, True)
                    out.integration_session.append((sid, dosing, "Colours felt brighter; less heavy in the chest.",
                                                    "Warmth in the hands", "A memory of my grandmother",
                                                    "I can be kind to myself", "A ten-minute walk daily", "",
                                                    "Safety plan reviewed", None))
        ended_on = None
        if ended:
            ended_on = min(day + dt.timedelta(days=rng.randint(7, 30)), self.today - dt.timedelta(days=1))
            ended_on = max(ended_on, start)
        out.course.append((course_id, client_id, route, planned, "Reduce depressive symptoms; return to work.",
                           start, ended_on, profile if ended else None,
                           "Course ended as planned." if ended else None,
                           therapist, self._at(start, 13), self._at(start, 13), 1))
        self._audit(out, self._at(start, 13), therapist, "create", "course", course_id, client_id)
        # Sessions, their audit trail (created, viewed, signed), and who co-signed.
        for session_id, kind, when, author, signed, signer in sessions:
            out.clinical_session.append((session_id, course_id, kind, when, author, NOTES[kind],
                                         when, when, 1) + ((None,) * 4 if kind in ("screening", "dosing") or not signed
                                                          else self._signature(when, signer, supervisor))
                                        + (site,))
            self._audit(out, when, author, "create", kind, session_id, client_id)
            self._audit(out, self._past(when + dt.timedelta(minutes=5), 1), author, "view", kind, session_id, client_id)
            if signed:
                if kind in ("screening", "dosing"):
                    out.to_sign.append((session_id, *self._signature(when, signer, supervisor)))
                detail = f"signed; decision {decision}" if kind == "screening" else "signed"
                self._audit(out, self._past(when + dt.timedelta(hours=3), 1), signer, "update", kind, session_id,
                            client_id, detail)
                if rng.random() < 0.02 and when + dt.timedelta(days=1) < self.now:
                    out.addendum.append((self.ids("addendum"), session_id, author, when + dt.timedelta(days=1),
                                         "Late entry", "Client called the next day: slept well, no nausea."))
            if kind == "screening":  # a baseline blood pressure at screening
                out.vital_sign.append((self.ids("vital_sign"), session_id, when, "baseline",
                                       rng.randint(108, 138), rng.randint(66, 86), rng.randint(58, 90),
                                       rng.randint(96, 99), None, medical, when))
        self._scores(out, course_id, client_id, indications, therapist, sessions, profile, start, ended_on)
        if rng.random() < 0.10:
            at = self._at(start + dt.timedelta(days=20))
            comment = self.ids("review_comment")
            out.review_comment.append((comment, course_id, None, supervisor,
                                       "Please check the integration plan before session 3.", at))
            self._audit(out, at, supervisor, "create", "review_comment", comment, client_id)
            if rng.random() < 0.5:
                reply = self.ids("review_comment")
                out.review_comment.append((reply, course_id, comment, therapist,
                                           "Done: added a walking experiment.", self._past(at + dt.timedelta(days=1), 1)))

    def _signature(self, when, signer, supervisor):
        signed_at = self._past(when + dt.timedelta(hours=3), 2)
        cosigned_at = signed_at + dt.timedelta(days=2)
        if self.rng.random() < 0.3 and cosigned_at < self.now:
            return signed_at, signer, cosigned_at, supervisor
        return signed_at, signer, None, None

    def _date(self, moment: dt.datetime) -> dt.date:
        return clock.date_of(moment, self.zone)

    def _dosing(self, out, client_id, session_id, when, route, weight, medical, therapist, supervisor, open_session):
        rng = self.rng
        iv = route == "iv"
        interval = 10 if iv else 15
        readings = rng.randint(8, 12) if open_session else rng.randint(18, 30)
        if open_session:  # a session in progress has its readings up to now, not beyond
            readings = max(1, min(readings, (self.now - when - dt.timedelta(minutes=1)) // dt.timedelta(minutes=interval) + 1))
        end = when + dt.timedelta(minutes=interval * (readings - 1))
        out.dosing_session.append((
            session_id, route, medical, therapist, None if route == "lozenge" else weight,
            f"KH-{when.year}B{rng.randint(1, 9999):04d}", self._date(when) + dt.timedelta(days=300),
            when, None if open_session else end, True, True,
            [] if rng.random() < 0.6 else ["nausea"], None if open_session else rng.randint(0, 3),
            None if open_session else rng.randint(3, 5), None,
            None if open_session else end + dt.timedelta(minutes=10),
            [] if open_session else ["vitals_baseline", "oriented", "walking", "nausea_settled", "escort", "no_driving"],
            None if open_session else "Partner",
        ))
        base_sys, base_dia, base_hr = rng.randint(112, 140), rng.randint(68, 88), rng.randint(60, 88)
        held = rng.random() < 0.02
        if held:
            base_sys, base_dia = 164, 98
        spike = None if rng.random() > 0.06 or readings < 5 else rng.randint(2, readings - 3)
        vital_ids = []
        for n in range(readings):
            taken = when + dt.timedelta(minutes=interval * n - (5 if n == 0 else 0))
            timepoint = ("baseline" if n == 0 else "discharge" if n == readings - 1 and not open_session
                         else "post" if n >= readings - 3 and not open_session else "during")
            rise = 0 if n == 0 else max(0, 18 - abs(n - 4) * 3)
            systolic = min(base_sys + rise + rng.randint(-4, 4), 230)
            diastolic = min(base_dia + rise // 2 + rng.randint(-3, 3), systolic - 20)
            if spike is not None and n in (spike, spike + 1):
                systolic, diastolic = 184, 112
            vital_id = self.ids("vital_sign")
            vital_ids.append(vital_id)
            out.vital_sign.append((vital_id, session_id, taken, timepoint, systolic, diastolic,
                                   base_hr + rise // 3 + rng.randint(-5, 5), rng.randint(95, 100),
                                   None, medical, taken + dt.timedelta(minutes=1)))
            self._audit(out, taken + dt.timedelta(minutes=1), medical, "create", "vitals", vital_id, client_id,
                        f"session {session_id}")
        # The dose: the first administration, and a booster now and then.
        doses = 2 if route != "iv" and rng.random() < 0.15 else 1
        for n in range(doses):
            given_at = when + dt.timedelta(minutes=10 + 40 * n)
            if n and given_at >= self.now:  # no booster given in the future
                break
            administration = self.ids("administration")
            if route == "lozenge":
                out.administration.append((administration, session_id, given_at, Decimal(200 if n == 0 else 100),
                                           Decimal(100), Decimal(2 if n == 0 else 1), 15, False,
                                           None, None, None, medical))
            else:
                per_kg = Decimal("0.50") if route == "im" else Decimal("0.60")
                dose = (weight * per_kg * (1 if n == 0 else Decimal("0.5"))).quantize(Decimal("0.1"))
                out.administration.append((administration, session_id, given_at, dose, None, None, None,
                                           None, per_kg, "deltoid_left" if route == "im" else None,
                                           40 if iv else None, medical))
            self._audit(out, given_at, medical, "create", "administration", administration, client_id)
        if spike is not None:
            at = when + dt.timedelta(minutes=interval * (spike + 1))
            alert = self.ids("safety_alert")
            acknowledged = None if open_session and rng.random() < 0.7 else at + dt.timedelta(minutes=4)
            acknowledged = acknowledged if acknowledged and acknowledged < self.now else None
            out.safety_alert.append((
                alert, session_id, vital_ids[spike + 1], "sustained_high_bp", "alert",
                "Blood pressure 184/112 and 184/112 (two readings at or above 180/110, 5+ minutes "
                "apart): sustained high blood pressure.", at, acknowledged, acknowledged and medical,
                acknowledged and "Repeated after 5 minutes; client calm; medical lead informed."))
            if acknowledged:
                self._audit(out, acknowledged, medical, "update", "alert", alert, client_id, "acknowledged")
        if held:
            override = self.ids("safety_override")
            at = when - dt.timedelta(minutes=2)
            out.safety_override.append((override, session_id, "dose_hold", "baseline_hold",
                                        "Repeat reading 150/92 after rest; usual for this client; lead agreed.",
                                        medical, at))
            self._audit(out, at, medical, "create", "override", override, client_id)
            if not open_session and rng.random() < 0.6:
                out.override_review.append((self.ids("override_review"), override, supervisor,
                                            at + dt.timedelta(days=2), "Reasonable; documented well."))

    def _scores(self, out, course_id, client_id, indications, therapist, sessions, profile, start, ended_on):
        rng = self.rng
        screening = sessions[0]
        if not screening[4]:  # no signed screening yet: no baseline questionnaires
            return
        wanted = [scales.Scale.PHQ9, scales.Scale.GAD7]
        if "ptsd" in indications:
            wanted.append(scales.Scale.PCL5)
        severity = rng.uniform(0.45, 0.85)  # how unwell at baseline, as a share of each item's maximum
        occasions = [("baseline", None, self._date(screening[2]), severity)]
        dosings = [s for s in sessions if s[1] == "dosing"]
        for number, dosing in enumerate(dosings, start=1):
            if number % 2 == 1 or number == 2:
                occasions.append(("pre_session", number, self._date(dosing[2]), severity * (1 - 0.08 * number)))
        if profile == "completed" and ended_on:
            occasions.append(("follow_up", None, ended_on, severity * 0.45))
        for occasion, number, day, level in occasions:
            for scale in wanted:
                if occasion == "pre_session" and scale is not scales.Scale.PHQ9:
                    continue
                spec = scale.spec
                answers = [min(spec.item_max, max(0, round(rng.gauss(level * spec.item_max, 0.8))))
                           for _ in spec.items]
                if scale is scales.Scale.PHQ9:
                    answers[8] = 1 if rng.random() < 0.03 else 0
                total = scales.total(scale, answers)
                flagged = scales.self_harm_flag(scale, answers)
                recorded = self._at(day)
                acknowledged = flagged and (ended_on is not None or rng.random() < 0.7)
                score = self.ids("outcome_score")
                out.outcome_score.append((
                    score, course_id, scale.value, occasion, number, day, answers, total,
                    scales.band(scale, total).label, flagged, therapist, recorded,
                    self._past(recorded + dt.timedelta(hours=1), 1) if acknowledged else None,
                    therapist if acknowledged else None,
                    "Safety plan reviewed with the client; no current intent." if acknowledged else None))
                self._audit(out, recorded, therapist, "create", "outcome_score", score, client_id)

    # --- writing -----------------------------------------------------------------------------

    COLUMNS = {
        "client": ("id", "record_number", "given_name", "family_name", "preferred_name", "pronouns",
                   "date_of_birth", "phone", "email", "address", "emergency_contact_name",
                   "emergency_contact_relationship", "emergency_contact_phone", "therapist_id", "home_site_id",
                   "status", "created_at", "updated_at", "version"),
        "client_indication": ("client_id", "indication"),
        "course": ("id", "client_id", "planned_route", "planned_medicine_sessions", "goals", "started_on",
                   "ended_on", "end_reason", "end_note", "created_by_id", "created_at", "updated_at", "version"),
        "clinical_session": ("id", "course_id", "kind", "occurred_at", "author_id", "note", "created_at",
                             "updated_at", "version", "signed_at", "signed_by_id", "cosigned_at",
                             "cosigned_by_id", "site_id"),
        "screening": ("id", "bp_history", "heart_history", "current_medications", "interacting_medications",
                      "psychiatric_diagnoses", "psychosis_history", "mania_history", "dissociative_history",
                      "substance_use", "pregnancy", "support_network", "transport_home", "contraindications",
                      "decision", "decision_rationale"),
        "preparation_session": ("id", "intentions", "goals", "fears", "resources", "medically_ready",
                                "psychologically_ready", "readiness_notes"),
        "dosing_session": ("id", "route", "administered_by_id", "therapist_present_id", "weight_kg",
                           "lot_number", "lot_expiry", "started_at", "ended_at", "eye_shades", "music",
                           "side_effects", "dissociation", "sedation", "dose_reason", "discharged_at",
                           "discharge_criteria", "escort_name"),
        "integration_session": ("id", "dosing_session_id", "what_felt_different", "emotions_body",
                                "memories_beliefs", "insights", "experiments", "experiments_review",
                                "support_safety", "follow_up_on"),
        "administration": ("id", "session_id", "given_at", "dose_mg", "strength_mg", "count", "hold_minutes",
                           "swallowed", "mg_per_kg", "injection_site", "infusion_minutes", "recorded_by_id"),
        "vital_sign": ("id", "session_id", "taken_at", "timepoint", "systolic", "diastolic", "heart_rate",
                       "spo2", "note", "recorded_by_id", "recorded_at"),
        "addendum": ("id", "session_id", "author_id", "created_at", "reason", "text"),
        "safety_alert": ("id", "session_id", "vital_sign_id", "rule", "level", "message", "raised_at",
                         "acknowledged_at", "acknowledged_by_id", "acknowledgement_note"),
        "safety_override": ("id", "session_id", "kind", "rules", "reason", "created_by_id", "created_at"),
        "override_review": ("id", "override_id", "reviewed_by_id", "reviewed_at", "note"),
        "outcome_score": ("id", "course_id", "scale", "occasion", "session_number", "completed_on", "answers",
                          "total", "band", "self_harm_flag", "recorded_by_id", "recorded_at",
                          "flag_acknowledged_at", "flag_acknowledged_by_id", "flag_action"),
        "review_comment": ("id", "course_id", "reply_to_id", "author_id", "body", "created_at"),
        "audit_event": ("id", "at", "user_id", "action", "record_type", "record_id", "client_id", "ip", "detail"),
    }

    def write(self, out: _Chunk) -> dict[str, int]:
        counts = {}
        for table in _Chunk.TABLES:
            rows = getattr(out, table)
            if table == "addendum":  # after the signatures it follows
                self.writer.sign(out.to_sign)
            counts[table] = self.writer.write(table, self.COLUMNS[table], rows)
        rollup.refresh(self.writer.connection, out.course_ids)
        rollup.refresh_outcomes(self.writer.connection, out.course_ids)
        return counts


def load(connection: Connection, clients: int, *, sites: int = 1, seed: int = 1, today: dt.date | None = None,
         password_hash: str, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write a synthetic clinic of ``clients`` clients over ``sites`` sites on ``connection`` (the
    caller commits).
    Its records lead up to the clinic's now, or, given ``today``, to 16:30 that day in the clinic
    (the same rows whenever it runs). Returns the number of rows written per table."""
    writer = BulkWriter(connection)
    zone = clock.clinic_zone()
    now = clock.at(today, dt.time(16, 30), zone) if today else clock.now()
    generator = Generator(writer, seed=seed, now=now, zone=zone, password_hash=password_hash)
    new_sites = generator.sites(sites)
    staff = generator.staff(clients)
    totals = {"site": new_sites, "user": sum(len(v) for v in staff.values()) + 1,  # and the network lead
              "staff_site": generator.staff_sites}
    for first in range(0, clients, CHUNK):
        count = min(CHUNK, clients - first)
        for table, n in generator.write(generator.chunk(first, count)).items():
            totals[table] = totals.get(table, 0) + n
        if progress:
            progress(count)
    writer.finish()
    return totals


def count_rows(connection: Connection) -> dict[str, int]:
    return {table: connection.execute(select(func.count()).select_from(db.metadata.tables[table])).scalar()
            for table in ("site", "user", "staff_site", *_Chunk.TABLES)}


# --- the command ----------------------------------------------------------------------------


@click.command("seed-scale")
@click.option("--clients", type=click.IntRange(1, 1_000_000), required=True,
              help="Number of clients; staff and records scale with it.")
@click.option("--sites", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Number of sites the clients are spread over (the database's sites first).")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same clinic.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The clinic day the records lead up to, to 16:30 (default: now, in the clinic's zone).")
@click.option("--password", default=DEFAULT_PASSWORD, show_default=True,
              help="The password of every generated account (hashed once).")
@with_appcontext
def seed_scale(clients: int, sites: int, seed: int, today, password: str) -> None:
    """Bulk-load a synthetic clinic network (invented people) for benchmarks."""
    import time  # perf_counter only: how long the load took, not the wall clock (kaptracker.clock)

    from ..auth.sessions import hash_password
    from ..rules.passwords import password_problems

    problems = password_problems(password)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    started = time.perf_counter()
    with db.engine.begin() as connection:  # one transaction: all of it or nothing
        with click.progressbar(length=clients, label=f"Writing {clients:,} clients") as bar:
            totals = load(connection, clients, sites=sites, seed=seed, today=today.date() if today else None,
                          password_hash=hash_password(password), progress=bar.update)
        click.echo("Refreshing statistics...")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    elapsed = time.perf_counter() - started
    rows = sum(totals.values())
    click.echo(f"Wrote {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s):")
    for table, n in totals.items():
        click.echo(f"  {table:<20} {n:>12,}")
    click.echo(f"Every account's password: {password!r} (emails end @{DOMAIN})")
