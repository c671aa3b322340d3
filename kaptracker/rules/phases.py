"""Where a treatment course stands: its phase, what blocks the next step, what is overdue.

The course's phase is never stored; it follows from facts about its screening and sessions
(DESIGN.md, "Phase rules"), so it can never disagree with the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from .screening import Decision
from .. import clock  # the clinic's wall, for the times a message names (clock imports no app code)


class Phase(enum.StrEnum):
    PREPARATION = "preparation"
    MEDICINE = "medicine"
    INTEGRATION = "integration"
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class EndReason(enum.StrEnum):
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"


@dataclasses.dataclass(frozen=True)
class MedicineFact:
    id: int
    occurred_at: dt.datetime
    integrated: bool  # an integration session is linked to it


@dataclasses.dataclass(frozen=True)
class CourseFacts:
    end_reason: EndReason | None
    screening_decision: Decision | None  # the *signed* decision, None while unsigned
    signed_preparation_notes: int
    planned_medicine_sessions: int
    medicine_sessions: tuple[MedicineFact, ...] = ()  # in time order
    unsigned_notes: int = 0
    # When the screening decision and each preparation note were signed (aware UTC): the gates
    # must hold at a medicine session's own time, not only now (``medicine_blockers(at=...)``).
    screening_signed_at: dt.datetime | None = None
    preparation_signed_at: tuple[dt.datetime, ...] = ()


def phase(facts: CourseFacts) -> Phase:
    if facts.end_reason is EndReason.COMPLETED:
        return Phase.COMPLETED
    if facts.end_reason is EndReason.DISCONTINUED:
        return Phase.DISCONTINUED
    if medicine_blockers(facts):
        return Phase.PREPARATION if not facts.medicine_sessions else Phase.INTEGRATION
    if facts.medicine_sessions and not facts.medicine_sessions[-1].integrated:
        return Phase.INTEGRATION
    if len(facts.medicine_sessions) >= facts.planned_medicine_sessions:
        return Phase.INTEGRATION  # every planned medicine session given: integrating to the end
    return Phase.MEDICINE


def _when(moment: dt.datetime) -> str:
    return f"{clock.utc_to_local(moment):%d %b %Y %H:%M}"


def medicine_blockers(facts: CourseFacts, at: dt.datetime | None = None) -> list[str]:
    """Why a medicine session may not start now, in plain words; empty when it may.

    With ``at`` (the session's own time, aware UTC), the gates must also have been passed by
    then: a medicine session dated before its screening decision or before any preparation note
    was signed would put the medicine before the decision that allows it.
    """
    if facts.end_reason is not None:
        return [f"The course is {facts.end_reason.value}: it is read-only but for addenda."]
    reasons = []
    if facts.screening_decision is None:
        reasons.append("The screening has no signed medical decision yet.")
    elif facts.screening_decision is not Decision.ELIGIBLE:
        reasons.append(
            f"The signed screening decision is '{facts.screening_decision.label.lower()}', not eligible."
        )
    if facts.signed_preparation_notes == 0:
        reasons.append("No preparation session note has been signed yet.")
    if reasons or at is None:
        return reasons
    # Typed times have whole minutes: a session at 10:44 follows a decision signed at 10:44:23.
    def later(signed: dt.datetime) -> bool:
        return signed.replace(second=0, microsecond=0) > at

    signed = facts.screening_signed_at
    if signed is not None and later(signed):
        reasons.append(
            f"The screening decision was signed at {_when(signed)}, after this session's time "
            f"({_when(at)}): a medicine session cannot be dated before the decision that allows it."
        )
    if facts.preparation_signed_at and later(min(facts.preparation_signed_at)):
        reasons.append(
            f"The first preparation note was signed at {_when(min(facts.preparation_signed_at))}, "
            f"after this session's time ({_when(at)}): a medicine session cannot be dated before it."
        )
    return reasons


def medicine_warnings(facts: CourseFacts) -> list[str]:
    """Reasons to pause before another medicine session that do not forbid it."""
    warnings = []
    given = len(facts.medicine_sessions)
    if given >= facts.planned_medicine_sessions:
        warnings.append(
            f"{given} of {facts.planned_medicine_sessions} planned medicine sessions have been given: "
            "another one goes beyond the plan."
        )
    if facts.medicine_sessions and not facts.medicine_sessions[-1].integrated:
        warnings.append("The last medicine session has no integration session yet.")
    return warnings


def overdue_integrations(
    facts: CourseFacts, now: dt.datetime, due_days: int
) -> list[MedicineFact]:
    """Medicine sessions whose integration session is more than ``due_days`` late."""
    if facts.end_reason is not None:
        return []
    limit = dt.timedelta(days=due_days)
    return [m for m in facts.medicine_sessions if not m.integrated and now - m.occurred_at > limit]


def completion_blockers(facts: CourseFacts) -> list[str]:
    """What must happen before a course can be marked completed."""
    if facts.end_reason is not None:
        return [f"The course is already {facts.end_reason.value}."]
    reasons = []
    if not facts.medicine_sessions:
        reasons.append("No medicine session has been given; discontinue the course instead.")
    missing = sum(1 for m in facts.medicine_sessions if not m.integrated)
    if missing:
        reasons.append(f"{missing} medicine session(s) have no integration session yet.")
    if facts.unsigned_notes:
        reasons.append(f"{facts.unsigned_notes} session note(s) are not signed yet.")
    return reasons


def next_step(facts: CourseFacts) -> str:
    """One sentence: what the team should do next."""
    current = phase(facts)
    if current in (Phase.COMPLETED, Phase.DISCONTINUED):
        return "Nothing: the course has ended. Addenda can still be added to its notes."
    if facts.screening_decision is None:
        return "Complete the screening and have medical staff sign a decision."
    if facts.screening_decision is not Decision.ELIGIBLE:
        return "The client is not eligible now: revisit the screening or discontinue the course."
    if facts.signed_preparation_notes == 0:
        return "Hold a preparation session and sign its note."
    if facts.medicine_sessions and not facts.medicine_sessions[-1].integrated:
        return "Hold an integration session for the last medicine session."
    if len(facts.medicine_sessions) >= facts.planned_medicine_sessions:
        return "Every planned medicine session is done: finish integration and complete the course."
    n = len(facts.medicine_sessions) + 1
    return f"Medicine session {n} of {facts.planned_medicine_sessions} can be scheduled."
