"""The course rollup that lists and dashboards read: phase, medicine sessions given, last contact,
the oldest medicine session still without integration; and per scale, the baseline and latest
outcome scores (``course_outcome``). Kept in the ``course`` row so that a caseload of any size is
counted by index, not by re-reading every session. (The printed course summary is another thing:
kaptracker/reports.)

The phase is still decided by :mod:`kaptracker.rules.phases` (the pure rules); this module only
stores their result. After every flush that adds, changes or deletes a session or a course, the
courses concerned are rolled up again in the same transaction, whoever wrote them (views, the
demo, tests, commands), so the stored rollup cannot lag behind the record. Bulk loaders that
bypass the ORM call :func:`refresh` or :func:`refresh_all` themselves.

Plain SQL on a connection. Migrations 0004 and 0007 carry frozen copies of it (they never import
this module): a change here does not change them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key

from .models import ClinicalSession, Course, OutcomeScore
from .rules import phases
from .rules.scales import Occasion, OutcomeRules, Point, Scale, outcome
from .rules.screening import Decision

BATCH = 500

_COURSES = text(
    "SELECT id, end_reason, planned_medicine_sessions FROM course WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_SESSIONS = text(
    "SELECT cs.course_id, cs.id, cs.kind, cs.occurred_at, cs.signed_at, s.decision,"
    " i.dosing_session_id"
    " FROM clinical_session cs"
    " LEFT JOIN screening s ON s.id = cs.id"
    " LEFT JOIN integration_session i ON i.id = cs.id"
    " WHERE cs.course_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
COLUMNS = ("phase", "medicine_given", "last_contact_at", "unintegrated_since", "unintegrated_session_id")


def _update(columns) -> text:
    return text("UPDATE course SET " + ", ".join(f"{c} = :{c}" for c in columns) + " WHERE id = :id")
_SCORES = text(
    "SELECT id, course_id, scale, occasion, completed_on, total FROM outcome_score"
    " WHERE course_id IN :ids AND entered_in_error_at IS NULL"
).bindparams(bindparam("ids", expanding=True))
_DELETE_OUTCOMES = text("DELETE FROM course_outcome WHERE course_id IN :ids").bindparams(
    bindparam("ids", expanding=True))
_INSERT_OUTCOME = text(
    "INSERT INTO course_outcome (course_id, scale, baseline_total, latest_total, measured)"
    " VALUES (:course_id, :scale, :baseline_total, :latest_total, :measured)"
)


def _as_utc(value):
    """Timestamps read through plain SQL: SQLite gives strings or naive values (stored as UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def roll_up(connection: Connection, course_ids: Iterable[int]) -> dict[int, dict]:
    """{course id: {"phase", "medicine_given", "last_contact_at"}} computed from the record."""
    ids = sorted(set(course_ids))
    result: dict[int, dict] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        courses = connection.execute(_COURSES, {"ids": chunk}).all()
        rows_by_course = defaultdict(list)
        for row in connection.execute(_SESSIONS, {"ids": chunk}):
            rows_by_course[row.course_id].append(row)
        for course in courses:
            rows = sorted(rows_by_course[course.id], key=lambda r: (_as_utc(r.occurred_at), r.id))
            integrated = {r.dosing_session_id for r in rows if r.dosing_session_id is not None}
            screening = next((r for r in rows if r.kind == "screening"), None)
            medicine = tuple(
                phases.MedicineFact(r.id, _as_utc(r.occurred_at), r.id in integrated)
                for r in rows if r.kind == "dosing"
            )
            facts = phases.CourseFacts(
                end_reason=phases.EndReason(course.end_reason) if course.end_reason else None,
                screening_decision=(
                    Decision(screening.decision)
                    if screening is not None and screening.signed_at is not None and screening.decision
                    else None
                ),
                signed_preparation_notes=sum(
                    1 for r in rows if r.kind == "preparation" and r.signed_at is not None
                ),
                planned_medicine_sessions=course.planned_medicine_sessions,
                medicine_sessions=medicine,
            )
            waiting = next((m for m in medicine if not m.integrated), None)
            result[course.id] = {
                "phase": phases.phase(facts).value,
                "medicine_given": len(medicine),
                "last_contact_at": max((_as_utc(r.occurred_at) for r in rows), default=None),
                "unintegrated_since": waiting.occurred_at if waiting else None,
                "unintegrated_session_id": waiting.id if waiting else None,
            }
    return result


def refresh(connection: Connection, course_ids: Iterable[int], columns=COLUMNS) -> dict[int, dict]:
    """Roll the courses up and store the rollup (``columns``: migrations that ran before a
    column existed name the ones they know)."""
    rollups = roll_up(connection, course_ids)
    if rollups:
        sqlite = connection.dialect.name == "sqlite"

        def stored(value):
            return value.replace(tzinfo=None) if sqlite and value is not None else value

        connection.execute(_update(columns), [
            {"id": course_id, **{c: values[c] for c in columns},
             **{c: stored(values[c]) for c in ("last_contact_at", "unintegrated_since") if c in columns}}
            for course_id, values in rollups.items()
        ])
    return rollups


def refresh_outcomes(connection: Connection, course_ids: Iterable[int]) -> int:
    """Rewrite the ``course_outcome`` rows of these courses from their valid scores, with the pure
    rules' choice of baseline and latest score. Returns the number of rows written."""
    ids = sorted(set(course_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        points: dict[tuple[int, str], list] = defaultdict(list)
        for row in connection.execute(_SCORES, {"ids": chunk}):
            day = row.completed_on if not isinstance(row.completed_on, str) else dt.date.fromisoformat(row.completed_on)
            points[(row.course_id, row.scale)].append((day, row.id, row.total, row.occasion))
        rows = []
        for (course_id, scale), found in points.items():
            found.sort()  # by date, then id: the order the rules and the course page use
            result = outcome(Scale(scale), [Point(d, t, Occasion(o)) for d, _, t, o in found], OutcomeRules())
            rows.append({"course_id": course_id, "scale": scale, "baseline_total": result.baseline.total,
                         "latest_total": result.latest.total, "measured": result.measured})
        connection.execute(_DELETE_OUTCOMES, {"ids": chunk})
        if rows:
            connection.execute(_INSERT_OUTCOME, rows)
        written += len(rows)
    return written


def refresh_all(connection: Connection, columns=COLUMNS) -> int:
    ids = list(connection.execute(text("SELECT id FROM course")).scalars())
    refresh(connection, ids, columns)
    return len(ids)


def refresh_all_outcomes(connection: Connection) -> int:
    ids = list(connection.execute(text("SELECT DISTINCT course_id FROM outcome_score")).scalars())
    return refresh_outcomes(connection, ids)


# --- kept up to date after every ORM flush -----------------------------------------------------

_PENDING = "kap_courses_to_roll_up"


_PENDING_SCORES = "kap_courses_to_score"


def _touched_score_courses(session: Session) -> set[int]:
    return {obj.course_id for obj in (*session.new, *session.dirty, *session.deleted)
            if isinstance(obj, OutcomeScore) and obj.course_id is not None}


def _touched_courses(session: Session) -> set[int]:
    ids = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ClinicalSession) and obj.course_id is not None:
            ids.add(obj.course_id)
        elif isinstance(obj, Course) and obj.id is not None:
            state = attributes.instance_state(obj)
            if obj in session.new or any(
                state.attrs[name].history.has_changes()
                for name in ("end_reason", "planned_medicine_sessions")
            ):
                ids.add(obj.id)
    return ids


def _before_flush(session: Session, flush_context, instances) -> None:
    session.info.setdefault(_PENDING, set())


def _after_flush(session: Session, flush_context) -> None:
    # Ids of new rows exist now (after the INSERTs); remember them for after_flush_postexec.
    session.info.setdefault(_PENDING, set()).update(_touched_courses(session))
    session.info.setdefault(_PENDING_SCORES, set()).update(_touched_score_courses(session))


def _after_flush_postexec(session: Session, flush_context) -> None:
    scored = session.info.pop(_PENDING_SCORES, set())
    if scored:
        refresh_outcomes(session.connection(), scored)
    pending = session.info.pop(_PENDING, set())
    if not pending:
        return
    rollups = refresh(session.connection(), pending)
    # Loaded Course objects see the new values without another query.
    for course_id, values in rollups.items():
        course = session.identity_map.get(identity_key(Course, course_id))
        if course is not None:
            for name, value in values.items():
                attributes.set_committed_value(
                    course, name, phases.Phase(value) if name == "phase" else value)


def init_app() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_flush_postexec", _after_flush_postexec)
