"""Shared scaffolding for the course and session tests: a clinic whose staff each work in their
own test client, and helpers that read pages as a person would (visible text, the error beside
a field). Date-times are typed in the clinic's time zone, relative to the clinic's clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from sqlalchemy import select

from kaptracker.extensions import db
from kaptracker.models import ClientStatus, ClinicalSession
from kaptracker import clock

FMT = "%Y-%m-%dT%H:%M"


# --- helpers -----------------------------------------------------------------------------------


def local(delta: dt.timedelta = dt.timedelta(0)) -> str:
    """A date-time as typed into a form: clinic time zone, relative to the clinic's clock."""
    return typed(clock.now() + delta)


def typed(moment: dt.datetime) -> str:
    """``moment`` as typed into a date-time field. When the clock matrix stands just after the
    hour repeated in autumn and the test types a time from its first pass, the form reads that
    wall time as the second pass (clock.local_to_utc: the later that has happened), and no field
    can say otherwise: the test is skipped, saying so. The rule itself is tested in test_clock.py."""
    wall = clock.utc_to_local(moment)
    if clock.local_to_utc(wall) != moment.replace(second=0, microsecond=0):
        pytest.skip(f"{wall:%H:%M} names two instants today; the form takes the recent one")
    return wall.strftime(FMT)


def today(days: int = 0) -> str:
    return (clock.today() + dt.timedelta(days=days)).isoformat()


def raw(response) -> str:
    return response.get_data(as_text=True)


def page(response) -> str:
    """The page's visible text, tags removed and white space collapsed."""
    text = re.sub(r"<[^>]+>", " ", raw(response))
    return re.sub(r"\s+", " ", html.unescape(text)).replace(" .", ".").strip()


def error_beside(response, field_id: str) -> str:
    """The error message shown beside one form field ('' when there is none)."""
    match = re.search(
        rf'<p class="error-message" id="{re.escape(field_id)}-error">(.*?)</p>',
        response.get_data(as_text=True), re.S,
    )
    if not match:
        return ""
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).replace("Error:", "", 1).strip()


def id_from(response, prefix: str) -> int:
    assert response.status_code == 302, (response.status_code, page(response)[:3000])
    path = urlsplit(response.headers["Location"]).path
    match = re.fullmatch(rf"{prefix}/(\d+)", path)
    assert match, path
    return int(match.group(1))


def version_of(session_id: int) -> int:
    return db.session.scalar(select(ClinicalSession.version).where(ClinicalSession.id == session_id))


# Medicine sessions in these tests open two hours ago and the dose is given 110 minutes ago, so
# that discharge now meets the minimum observation time (60 minutes by default).
OPENED_AGO = dt.timedelta(hours=2)
DOSED_AGO = dt.timedelta(minutes=110)
VITALS = {"systolic": "118", "diastolic": "76", "heart_rate": "70", "spo2": "98"}
SCREENING = {
    "psychosis_history": "none", "mania_history": "none", "dissociative_history": "unknown",
    "pregnancy": "not_applicable", "bp_history": "Normotensive.", "note": "Screening interview.",
}


class Clinic:
    """A clinic's staff, each signed in on their own test client, a client record in treatment
    with the therapist, and shortcuts that go through the real routes."""

    def __init__(self, app, make_user, make_client, login):
        self.app, self._login = app, login
        self.therapist = make_user("therapist")
        self.other_therapist = make_user("therapist")
        self.medical = make_user("medical")
        self.supervisor = make_user("supervisor")
        self.admin = make_user("admin")
        self.record = make_client(self.therapist, status=ClientStatus.REFERRED)
        self._http = {}

    def http(self, user):
        if user.id not in self._http:
            self._http[user.id] = self.app.test_client()
            self._login(user, http=self._http[user.id])
        return self._http[user.id]

    def get(self, user, url):
        return self.http(user).get(url)

    def post(self, user, url, data=None):
        return self.http(user).post(url, data=data or {})

    # courses
    def start(self, user=None, record=None, **fields):
        data = {"planned_route": "im", "planned_medicine_sessions": "2",
                "goals": "Lift the depression; return to work.", "started_on": today(), **fields}
        record = record or self.record
        return self.post(user or self.therapist, f"/clients/{record.id}/courses/new", data)

    def course(self, **fields) -> int:
        return id_from(self.start(**fields), "/courses")

    # sessions
    def new(self, user, course_id, kind, **fields):
        return self.post(user, f"/courses/{course_id}/sessions/new/{kind}",
                         {"occurred_at": local(), **fields})

    def create(self, user, course_id, kind, **fields) -> int:
        return id_from(self.new(user, course_id, kind, **fields), "/sessions")

    def sign(self, user, session_id, **fields):
        return self.post(user, f"/sessions/{session_id}/sign", {"c-confirm": "y", **fields})

    def edit(self, user, session_id, **fields):
        session = db.session.get(ClinicalSession, session_id)
        data = {"occurred_at": clock.utc_to_local(session.occurred_at).strftime(FMT),
                "version": str(version_of(session_id)), **fields}
        return self.post(user, f"/sessions/{session_id}/edit", data)

    @contextlib.contextmanager
    def days_ago(self, days: int = 1):
        """Run requests ``days`` earlier, each person on a fresh test client: a medicine session
        dated two hours ago must come after the screening decision and preparation note that
        allow it (rules/phases.py), so those are written and signed the day before. The cached
        clients are not used in the past (their sign-in would look idle on the way back)."""
        cached = self._http
        self._http = {}
        try:
            with time_machine.travel(clock.now() - dt.timedelta(days=days), tick=True):
                yield
        finally:
            self._http = cached

    def screening(self, course_id, *, decision="eligible", found=(), sign=True, **decide) -> int:
        if not sign:
            return self.create(self.therapist, course_id, "screening", **SCREENING,
                               contraindications=list(found))
        with self.days_ago():
            sid = self.create(self.therapist, course_id, "screening", **SCREENING,
                              contraindications=list(found))
            response = self.sign(self.medical, sid, decision=decision,
                                 decision_rationale="Suitable for KAP after review.", **decide)
            assert response.status_code == 302, page(response)
        return sid

    def preparation(self, course_id, *, sign=True, note="Intentions explored.") -> int:
        if not sign:
            return self.create(self.therapist, course_id, "preparation", note=note,
                               intentions="To feel less stuck.")
        with self.days_ago():
            sid = self.create(self.therapist, course_id, "preparation", note=note,
                              intentions="To feel less stuck.")
            assert self.sign(self.therapist, sid).status_code == 302
        return sid

    def ready(self, **fields) -> int:
        """A course past both gates: signed eligible screening, signed preparation note."""
        course_id = self.course(**fields)
        self.screening(course_id)
        self.preparation(course_id)
        return course_id

    def vitals(self, session_id, timepoint, taken_at=None):
        data = {**VITALS, "timepoint": timepoint, "taken_at": taken_at or local()}
        response = self.post(self.medical, f"/sessions/{session_id}/vitals", data)
        assert response.status_code == 302, page(response)

    def dosing(self, course_id, route="im", **fields) -> int:
        """A draft medicine session opened two hours ago, with its baseline vitals (a dose needs
        them; the time leaves room for the observation period before discharge)."""
        sid = self.create(self.medical, course_id, "dosing", route=route,
                          **{"occurred_at": local(-OPENED_AGO), **fields})
        self.vitals(sid, "baseline", local(-OPENED_AGO))
        return sid

    def dose(self, session_id, **fields):
        """Record a dose: the first POST previews the computed mg, the second saves it."""
        url = f"/sessions/{session_id}/administrations"
        data = {"given_at": local(-DOSED_AGO), **fields}
        preview = self.post(self.medical, url, data)
        assert preview.status_code == 200, page(preview)
        mg = re.search(r'name="previewed_mg" type="hidden" value="([^"]*)"', raw(preview))
        return self.post(self.medical, url, {**data, "previewed_mg": mg.group(1), "submit": "y"})

    def discharge(self, session_id, **fields):
        """A discharge set of vitals, then the end and discharge times (now)."""
        self.vitals(session_id, "discharge")
        return self.edit(self.medical, session_id, ended_at=local(), discharged_at=local(), **fields)

    def give_medicine(self, course_id, *, sign=True) -> int:
        sid = self.dosing(course_id)
        assert self.dose(sid, weight_kg="70", mg_per_kg="0.5", injection_site="deltoid_left").status_code == 302
        assert self.discharge(sid, note="Uneventful.").status_code == 302
        if sign:
            assert self.sign(self.medical, sid).status_code == 302
        return sid

    def integrate(self, course_id, dosing_id, *, sign=True) -> int:
        sid = self.create(self.therapist, course_id, "integration", dosing_session_id=str(dosing_id),
                          insights="Saw the pattern.", note="Integration.")
        if sign:
            assert self.sign(self.therapist, sid).status_code == 302
        return sid
