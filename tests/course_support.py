"""Shared scaffolding for the tests through the routes: the clinic (the ``clinic`` fixture of
conftest.py) whose staff each work in their own test client, and helpers that read pages as a
person would (visible text, the error beside a field). Date-times are typed in the clinic's
time zone, relative to the clinic's clock."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import urlsplit

import pytest
from factories import DOSED_AGO
from sqlalchemy import select

from kaptracker import clock
from kaptracker.extensions import db
from kaptracker.models import ClientStatus, ClinicalSession, Course, VitalSign

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


SCREENING = {
    "psychosis_history": "none", "mania_history": "none", "dissociative_history": "unknown",
    "pregnancy": "not_applicable", "bp_history": "Normotensive.", "note": "Screening interview.",
}


class Clinic:
    """A clinic's staff, each signed in on their own test client (on first use), a referred
    client record of the therapist, the test's clock reading, and shortcuts through the real
    routes. The state a test is not about is built with tests/factories.py instead."""

    def __init__(self, app, make_user, make_client, login):
        self.app, self._login = app, login
        self.therapist = make_user("therapist")
        self.other_therapist = make_user("therapist")
        self.medical = make_user("medical")
        self.supervisor = make_user("supervisor")
        self.admin = make_user("admin")
        self.record = make_client(self.therapist, status=ClientStatus.REFERRED)
        # One clock reading per test, to the whole minute, for at() and utc().
        self.instant = clock.now().replace(second=0, microsecond=0)
        self.now = clock.utc_to_local(self.instant)
        self._http = {}

    # time
    def at(self, minutes: float = 0) -> str:
        """A clinic-local time as typed into a form, ``minutes`` from the test's clock reading
        (skipped when that wall time names two instants: ``typed``)."""
        return typed(self.utc(minutes))

    def utc(self, minutes: float = 0) -> dt.datetime:
        """The instant ``minutes`` from the test's clock reading (counted on the instant, so a
        DST change within the span is an hour like any other)."""
        return self.instant + dt.timedelta(minutes=minutes)

    # http
    def http(self, user):
        if user.id not in self._http:
            self._http[user.id] = self.app.test_client()
            self._login(user, http=self._http[user.id])
        return self._http[user.id]

    def get(self, user, url):
        return self.http(user).get(url)

    def post(self, user, url, data=None):
        return self.http(user).post(url, data=data or {})

    # courses and sessions
    def start(self, user=None, record=None, **fields):
        data = {"planned_route": "im", "planned_medicine_sessions": "2",
                "goals": "Lift the depression; return to work.", "started_on": today(), **fields}
        record = record or self.record
        return self.post(user or self.therapist, f"/clients/{record.id}/courses/new", data)

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

    def dose(self, session_id, *, user=None, **fields):
        """Record a dose (given 110 minutes ago unless ``given_at``): the first POST previews the
        computed mg, the second saves it. Returns the last response (the preview's when it was
        refused)."""
        url = f"/sessions/{session_id}/administrations"
        data = {"given_at": local(-DOSED_AGO), **fields}
        preview = self.post(user or self.medical, url, data)
        if preview.status_code != 200:
            return preview
        mg = re.search(r'name="previewed_mg" type="hidden" value="([^"]*)"', raw(preview)).group(1)
        return self.post(user or self.medical, url, {**data, "previewed_mg": mg, "submit": "y"})

    def discharge(self, session_id, at=0, user=None, **fields):
        """The end and discharge times, ``at`` minutes from the test's clock reading."""
        return self.edit(user or self.medical, session_id, ended_at=self.at(at), discharged_at=self.at(at), **fields)

    def course_of(self, session_id: int) -> Course:
        db.session.expire_all()
        return db.session.get(ClinicalSession, session_id).course

    # vitals
    def vitals(self, session_id, bp="118/76", heart_rate=70, spo2=98, *, at=0, timepoint="during",
               user=None, note=None):
        systolic, diastolic = bp.split("/")
        data = {"systolic": systolic, "diastolic": diastolic, "heart_rate": str(heart_rate),
                "spo2": "" if spo2 is None else str(spo2), "timepoint": timepoint,
                "taken_at": self.at(at)}
        if note is not None:
            data["note"] = note
        return self.post(user or self.medical, f"/sessions/{session_id}/vitals", data)

    def reading(self, session_id, bp="118/76", heart_rate=70, spo2=98, *, at=0, timepoint="during",
                user=None) -> VitalSign:
        """Record a reading through the vitals form (it must be saved); the stored row."""
        before = set(db.session.scalars(select(VitalSign.id).where(VitalSign.session_id == session_id)))
        response = self.vitals(session_id, bp, heart_rate, spo2, at=at, timepoint=timepoint, user=user)
        assert response.status_code == 302, (response.status_code, re.findall(r"Error:</span> ([^<]*)", raw(response)))
        assert response.headers["Location"] == f"/sessions/{session_id}/vitals"
        [new] = set(db.session.scalars(select(VitalSign.id).where(VitalSign.session_id == session_id))) - before
        db.session.expire_all()
        return db.session.get(VitalSign, new)

    def mark_in_error(self, vital_id, reason="Typed 118 for 181.", user=None):
        return self.post(user or self.medical, f"/vitals/{vital_id}/error", {"error_reason": reason})

    def acknowledge(self, alert_id, note="Repeated after 5 minutes; physician informed.", user=None):
        return self.post(user or self.medical, f"/alerts/{alert_id}/acknowledge",
                         {"acknowledgement_note": note})

    def override(self, session_id, kind="dose_hold", reason="Physician reviewed: chronic, stable.",
                 user=None):
        return self.post(user or self.medical, f"/sessions/{session_id}/overrides",
                         {"kind": kind, "reason": reason})
