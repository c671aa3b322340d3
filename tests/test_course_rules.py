"""Tables of cases for the pure course rules: phases, dose arithmetic, screening decisions.

No app and no database: every rule here is a plain function of plain facts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from kaptracker.rules import dosing, phases
from kaptracker.rules import settings as registry
from kaptracker.rules.dosing import Route, check_total, default_ranges, lozenge_mg, weight_based_mg
from kaptracker.rules.phases import CourseFacts, EndReason, MedicineFact, Phase
from kaptracker.rules.screening import (
    BY_KEY,
    CONTRAINDICATIONS,
    Decision,
    Severity,
    decision_problems,
    severity_of,
)

T0 = dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.UTC)
ELIGIBLE, NOT_ELIGIBLE, DEFERRED = Decision.ELIGIBLE, Decision.NOT_ELIGIBLE, Decision.DEFERRED


def med(n: int, integrated: bool, *, days_ago: float = 0, now: dt.datetime = T0) -> MedicineFact:
    return MedicineFact(n, now - dt.timedelta(days=days_ago), integrated)


def facts(
    *,
    end=None,
    decision=ELIGIBLE,
    prep=1,
    planned=3,
    medicine=(),
    unsigned=0,
) -> CourseFacts:
    return CourseFacts(
        end_reason=end,
        screening_decision=decision,
        signed_preparation_notes=prep,
        planned_medicine_sessions=planned,
        medicine_sessions=tuple(medicine),
        unsigned_notes=unsigned,
    )


# --- phases ----------------------------------------------------------------------------------

PHASE_CASES = {
    "no screening decision yet": (facts(decision=None, prep=0), Phase.PREPARATION),
    "no decision, even with a signed preparation note": (facts(decision=None), Phase.PREPARATION),
    "not eligible": (facts(decision=NOT_ELIGIBLE), Phase.PREPARATION),
    "deferred": (facts(decision=DEFERRED), Phase.PREPARATION),
    "eligible without a signed preparation note": (facts(prep=0), Phase.PREPARATION),
    "eligible and prepared": (facts(), Phase.MEDICINE),
    "medicine session awaiting integration": (facts(medicine=[med(1, False)]), Phase.INTEGRATION),
    "integrated, more planned": (facts(medicine=[med(1, True)]), Phase.MEDICINE),
    "two integrated of three": (facts(medicine=[med(1, True), med(2, True)]), Phase.MEDICINE),
    "an earlier one unintegrated, the last integrated": (
        facts(medicine=[med(1, False), med(2, True)]), Phase.MEDICINE),
    "every planned session given and integrated": (
        facts(planned=2, medicine=[med(1, True), med(2, True)]), Phase.INTEGRATION),
    "beyond the plan": (facts(planned=1, medicine=[med(1, True), med(2, True)]), Phase.INTEGRATION),
    "completed": (facts(end=EndReason.COMPLETED, medicine=[med(1, True)]), Phase.COMPLETED),
    "completed wins over a missing decision": (
        facts(end=EndReason.COMPLETED, decision=None, prep=0), Phase.COMPLETED),
    "discontinued": (facts(end=EndReason.DISCONTINUED), Phase.DISCONTINUED),
    "discontinued before any screening": (
        facts(end=EndReason.DISCONTINUED, decision=None, prep=0), Phase.DISCONTINUED),
    # A gate closed after medicine was given (cannot happen through the app, but the rule
    # must still answer): the course is integrating what was given.
    "blocked after medicine was given": (
        facts(decision=DEFERRED, medicine=[med(1, True)]), Phase.INTEGRATION),
}


@pytest.mark.parametrize("course, expected", PHASE_CASES.values(), ids=PHASE_CASES.keys())
def test_phase(course, expected):
    assert phases.phase(course) is expected


def test_phase_labels():
    assert [p.label for p in Phase] == [
        "Preparation", "Medicine", "Integration", "Completed", "Discontinued"]


BLOCKER_CASES = {
    "eligible and prepared": (facts(), []),
    "no decision": (facts(decision=None), ["The screening has no signed medical decision yet."]),
    "not eligible": (facts(decision=NOT_ELIGIBLE),
                     ["The signed screening decision is 'not eligible', not eligible."]),
    "deferred": (facts(decision=DEFERRED),
                 ["The signed screening decision is 'deferred', not eligible."]),
    "no preparation note": (facts(prep=0), ["No preparation session note has been signed yet."]),
    "no decision and no preparation note": (
        facts(decision=None, prep=0),
        ["The screening has no signed medical decision yet.",
         "No preparation session note has been signed yet."]),
    "deferred and no preparation note": (
        facts(decision=DEFERRED, prep=0),
        ["The signed screening decision is 'deferred', not eligible.",
         "No preparation session note has been signed yet."]),
    "completed": (facts(end=EndReason.COMPLETED),
                  ["The course is completed: it is read-only but for addenda."]),
    "discontinued, whatever else": (facts(end=EndReason.DISCONTINUED, decision=None, prep=0),
                                    ["The course is discontinued: it is read-only but for addenda."]),
}


@pytest.mark.parametrize("course, expected", BLOCKER_CASES.values(), ids=BLOCKER_CASES.keys())
def test_medicine_blockers(course, expected):
    assert phases.medicine_blockers(course) == expected


BEYOND = "3 of 3 planned medicine sessions have been given: another one goes beyond the plan."
UNINTEGRATED = "The last medicine session has no integration session yet."
WARNING_CASES = {
    "nothing given": (facts(), []),
    "one integrated": (facts(medicine=[med(1, True)]), []),
    "last one unintegrated": (facts(medicine=[med(1, True), med(2, False)]), [UNINTEGRATED]),
    "an earlier one unintegrated only": (facts(medicine=[med(1, False), med(2, True)]), []),
    "plan reached": (facts(medicine=[med(1, True), med(2, True), med(3, True)]), [BEYOND]),
    "plan reached and last unintegrated": (
        facts(medicine=[med(1, True), med(2, True), med(3, False)]), [BEYOND, UNINTEGRATED]),
    "beyond the plan": (
        facts(planned=1, medicine=[med(1, True), med(2, True)]),
        ["2 of 1 planned medicine sessions have been given: another one goes beyond the plan."]),
}


@pytest.mark.parametrize("course, expected", WARNING_CASES.values(), ids=WARNING_CASES.keys())
def test_medicine_warnings(course, expected):
    assert phases.medicine_warnings(course) == expected


DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
OVERDUE_CASES = {
    "just given": (dt.timedelta(0), False),
    "six days": (6 * DAY, False),
    "exactly seven days: not yet overdue": (7 * DAY, False),
    "seven days and one second": (7 * DAY + SECOND, True),
    "a month": (30 * DAY, True),
    "in the future (clock skew)": (-DAY, False),
}


@pytest.mark.parametrize("age, overdue", OVERDUE_CASES.values(), ids=OVERDUE_CASES.keys())
def test_overdue_integrations_at_the_due_boundary(age, overdue):
    given = MedicineFact(5, T0 - age, integrated=False)
    result = phases.overdue_integrations(facts(medicine=[given]), T0, 7)
    assert result == ([given] if overdue else [])


@pytest.mark.parametrize("due_days, overdue", [(1, True), (3, True), (4, False), (60, False)])
def test_overdue_follows_the_due_days_setting(due_days, overdue):
    given = MedicineFact(5, T0 - 3 * DAY - SECOND, integrated=False)
    assert bool(phases.overdue_integrations(facts(medicine=[given]), T0, due_days)) is overdue


def test_overdue_integrations_lists_only_the_unintegrated_late_ones():
    late = MedicineFact(1, T0 - 20 * DAY, False)
    integrated = MedicineFact(2, T0 - 15 * DAY, True)
    late_too = MedicineFact(3, T0 - 8 * DAY, False)
    recent = MedicineFact(4, T0 - DAY, False)
    course = facts(planned=6, medicine=[late, integrated, late_too, recent])
    assert phases.overdue_integrations(course, T0, 7) == [late, late_too]


@pytest.mark.parametrize("end", list(EndReason))
def test_an_ended_course_has_nothing_overdue(end):
    course = facts(end=end, medicine=[MedicineFact(1, T0 - 90 * DAY, False)])
    assert phases.overdue_integrations(course, T0, 7) == []


COMPLETION_CASES = {
    "ready": (facts(medicine=[med(1, True)]), []),
    "no medicine given": (
        facts(), ["No medicine session has been given; discontinue the course instead."]),
    "one unintegrated": (
        facts(medicine=[med(1, True), med(2, False)]),
        ["1 medicine session(s) have no integration session yet."]),
    "two unintegrated": (
        facts(medicine=[med(1, False), med(2, False)]),
        ["2 medicine session(s) have no integration session yet."]),
    "unsigned notes": (
        facts(medicine=[med(1, True)], unsigned=2), ["2 session note(s) are not signed yet."]),
    "no medicine and unsigned notes": (
        facts(unsigned=1),
        ["No medicine session has been given; discontinue the course instead.",
         "1 session note(s) are not signed yet."]),
    "unintegrated and unsigned": (
        facts(medicine=[med(1, False)], unsigned=1),
        ["1 medicine session(s) have no integration session yet.",
         "1 session note(s) are not signed yet."]),
    "already completed": (facts(end=EndReason.COMPLETED), ["The course is already completed."]),
    "already discontinued": (
        facts(end=EndReason.DISCONTINUED, unsigned=3), ["The course is already discontinued."]),
}


@pytest.mark.parametrize("course, expected", COMPLETION_CASES.values(), ids=COMPLETION_CASES.keys())
def test_completion_blockers(course, expected):
    assert phases.completion_blockers(course) == expected


NEXT_STEP_CASES = {
    "completed": (facts(end=EndReason.COMPLETED),
                  "Nothing: the course has ended. Addenda can still be added to its notes."),
    "discontinued": (facts(end=EndReason.DISCONTINUED, decision=None),
                     "Nothing: the course has ended. Addenda can still be added to its notes."),
    "no decision": (facts(decision=None),
                    "Complete the screening and have medical staff sign a decision."),
    "not eligible": (facts(decision=NOT_ELIGIBLE),
                     "The client is not eligible now: revisit the screening or discontinue the course."),
    "deferred": (facts(decision=DEFERRED),
                 "The client is not eligible now: revisit the screening or discontinue the course."),
    "no preparation": (facts(prep=0), "Hold a preparation session and sign its note."),
    "first medicine session": (facts(), "Medicine session 1 of 3 can be scheduled."),
    "awaiting integration": (facts(medicine=[med(1, False)]),
                             "Hold an integration session for the last medicine session."),
    "second medicine session": (facts(medicine=[med(1, True)]),
                                "Medicine session 2 of 3 can be scheduled."),
    "plan done": (facts(planned=1, medicine=[med(1, True)]),
                  "Every planned medicine session is done: finish integration and complete the course."),
}


@pytest.mark.parametrize("course, expected", NEXT_STEP_CASES.values(), ids=NEXT_STEP_CASES.keys())
def test_next_step(course, expected):
    assert phases.next_step(course) == expected


# --- facts from model objects (service.facts), without a database ------------------------------


def _facts_from(sessions, *, end=None, planned=3):
    from kaptracker.courses.service import facts as build
    from kaptracker.models import Course

    course = Course(planned_medicine_sessions=planned, end_reason=end)
    return build(course, sessions)


def _signed():
    return dict(signed_at=T0, signed_by_id=1)


def test_an_unsigned_screening_gives_no_decision():
    from kaptracker.models import PreparationSession, Screening

    draft = Screening(decision=ELIGIBLE, occurred_at=T0)  # decided in the draft, not signed
    prepared = PreparationSession(occurred_at=T0, **_signed())
    course = _facts_from([draft, prepared])
    assert course.screening_decision is None
    assert course.signed_preparation_notes == 1
    assert course.unsigned_notes == 1
    assert phases.phase(course) is Phase.PREPARATION
    assert phases.medicine_blockers(course) == ["The screening has no signed medical decision yet."]


def test_facts_count_signed_preparation_and_link_integrations():
    from kaptracker.models import DosingSession, IntegrationSession, PreparationSession, Screening

    screening = Screening(decision=ELIGIBLE, occurred_at=T0, **_signed())
    draft_prep = PreparationSession(occurred_at=T0)
    first = DosingSession(id=11, occurred_at=T0 + DAY, **_signed())
    second = DosingSession(id=12, occurred_at=T0 + 9 * DAY)
    integration = IntegrationSession(dosing_session_id=11, occurred_at=T0 + 2 * DAY)
    course = _facts_from([screening, draft_prep, first, integration, second])
    assert course.screening_decision is ELIGIBLE
    assert course.signed_preparation_notes == 0  # the only preparation note is a draft
    assert course.medicine_sessions == (
        MedicineFact(11, T0 + DAY, True), MedicineFact(12, T0 + 9 * DAY, False))
    assert course.unsigned_notes == 3


# --- dose arithmetic ---------------------------------------------------------------------------

WEIGHT_CASES = [
    # weight kg, mg/kg, mg (rounded half up to 0.1 mg)
    ("70.3", "0.75", "52.7"),  # 52.725
    ("70.5", "0.5", "35.3"),  # 35.25: half up (half-even would give 35.2)
    ("70.1", "0.75", "52.6"),  # 52.575: half up, no binary floating point on the way
    ("70.3", "0.5", "35.2"),  # 35.15
    ("80", "1", "80.0"),
    ("65.4", "0.33", "21.6"),  # 21.582
    ("21", "0.05", "1.1"),  # 1.05
    ("349", "5", "1745.0"),
    ("100", "0.55", "55.0"),
]


@pytest.mark.parametrize("weight, per_kg, expected", WEIGHT_CASES)
def test_weight_based_mg(weight, per_kg, expected):
    result = weight_based_mg(D(weight), D(per_kg))
    assert result == D(expected)
    assert str(result) == expected  # always one decimal place, as shown and stored


LOZENGE_CASES = [
    # strength mg, count, mg
    ("100", "1", "100.0"),
    ("100", "1.5", "150.0"),
    ("200", "0.5", "100.0"),
    ("12.5", "0.5", "6.3"),  # 6.25: half up
    ("33.3", "3", "99.9"),
    ("150", "2", "300.0"),
    ("1000", "10", "10000.0"),
]


@pytest.mark.parametrize("strength, count, expected", LOZENGE_CASES)
def test_lozenge_mg(strength, count, expected):
    result = lozenge_mg(D(strength), D(count))
    assert result == D(expected) and str(result) == expected


def test_default_ranges_follow_clinical_md():
    ranges = default_ranges()
    assert (ranges[Route.LOZENGE].low, ranges[Route.LOZENGE].high, ranges[Route.LOZENGE].unit) == (
        D(50), D(400), "mg")
    for route in (Route.IM, Route.IV):
        assert (ranges[route].low, ranges[route].high, ranges[route].unit) == (
            D("0.5"), D("1.0"), "mg/kg")
    assert all(r.source.startswith("CLINICAL.md") for r in ranges.values())
    assert [r.label for r in Route] == [
        "Lozenge / troche (sublingual)", "Intramuscular (IM) injection", "Intravenous (IV) infusion"]


CHECK_CASES = [
    # route, total mg, weight, in range, mg/kg, side
    (Route.LOZENGE, "50", None, True, None, None),  # exactly low
    (Route.LOZENGE, "49.9", None, False, None, "below"),
    (Route.LOZENGE, "400", None, True, None, None),  # exactly high
    (Route.LOZENGE, "400.1", None, False, None, "above"),
    (Route.LOZENGE, "150", "70", True, None, None),  # weight plays no part for lozenges
    (Route.LOZENGE, "0.1", None, False, None, "below"),
    (Route.IM, "35", "70", True, "0.50", None),  # exactly 0.5 mg/kg
    (Route.IM, "34.6", "70", False, "0.49", "below"),
    (Route.IM, "70", "70", True, "1.00", None),  # exactly 1 mg/kg
    (Route.IM, "70.7", "70", False, "1.01", "above"),
    (Route.IM, "52.7", "70.3", True, "0.75", None),  # 0.75 mg/kg x 70.3 kg, as computed
    (Route.IV, "40", "80", True, "0.50", None),
    (Route.IV, "39.5", "80", False, "0.49", "below"),
    (Route.IV, "80", "80", True, "1.00", None),
    (Route.IV, "81", "80", False, "1.01", "above"),
    (Route.IV, "35.2", "70.3", True, "0.50", None),  # 0.5 mg/kg rounded up to 35.2 mg
    # The comparison is exact (low x kg <= mg <= high x kg), never on the rounded mg/kg shown:
    # 100.4 mg at 100 kg shows as 1.00 mg/kg and is above 1 mg/kg.
    (Route.IV, "100.4", "100", False, "1.00", "above"),
    (Route.IV, "100.0", "100", True, "1.00", None),
    (Route.IV, "49.6", "100", False, "0.50", "below"),
    (Route.IM, "70.31", "70.3", False, "1.00", "above"),
]


@pytest.mark.parametrize("route, total, weight, in_range, per_kg, side", CHECK_CASES)
def test_check_total_at_and_around_the_range_edges(route, total, weight, in_range, per_kg, side):
    check = check_total(route, D(total), weight and D(weight), default_ranges()[route])
    assert check.in_range is in_range
    assert check.total_mg == D(total)
    assert check.per_kg == (per_kg and D(per_kg))
    if in_range:
        assert "is within the usual" in check.message
        assert "Record the reason" not in check.message
    else:
        assert f"is {side} the usual {route.label} range" in check.message
        assert check.message.endswith("Record the reason for this dose.")
    if route is Route.LOZENGE:  # the total is named once, in mg
        assert check.message.startswith(f"Session total {D(total)} mg is ")
        assert "50-400 mg" in check.message
    else:
        assert f"({per_kg} mg/kg)" in check.message and "0.5-1.0 mg/kg" in check.message


def test_an_entered_dose_is_compared_exactly_and_the_message_shows_the_rounded_figure():
    check = check_total(Route.IV, D("100.4"), D("100"), default_ranges()[Route.IV])
    assert not check.in_range and check.per_kg == D("1.00")
    assert check.message == (
        "Session total 100.4 mg (1.00 mg/kg) is above the usual Intravenous (IV) infusion range of "
        "0.5-1.0 mg/kg. At 100.0 kg that is at most 100.0 mg. Record the reason for this dose.")
    low = check_total(Route.IV, D("49.6"), D("100"), default_ranges()[Route.IV])
    assert "(0.50 mg/kg) is below" in low.message and "that is at least 50.0 mg" in low.message


# A dose computed from an in-range mg/kg, recorded rounded to 0.1 mg, is checked on the mg/kg
# that was entered: its own rounding never refuses it, nor lets one at the edge through.
ROUNDING_CASES = [
    # weight, mg/kg entered, high mg/kg, recorded mg, in range
    ("70.5", "0.75", "0.75", "52.9", True),  # 52.875 mg asked, 52.9 recorded
    ("70.3", "0.75", "0.75", "52.7", True),  # 52.725 asked, 52.7 recorded
    ("70.5", "0.76", "0.75", "53.6", False),  # 53.58 asked: above 52.875
    ("33.3", "1.00", "1.0", "33.3", True),
]


@pytest.mark.parametrize("weight, per_kg, high, recorded, in_range", ROUNDING_CASES)
def test_a_computed_dose_is_checked_on_the_mg_per_kg_entered(weight, per_kg, high, recorded, in_range):
    dose_range = dosing.DoseRange(Route.IM, D("0.5"), D(high), "mg/kg", "clinic setting")
    assert weight_based_mg(D(weight), D(per_kg)) == D(recorded)
    check = check_total(Route.IM, D(recorded), D(weight), dose_range,
                        prescribed_mg=dosing.exact_mg(D(weight), D(per_kg)))
    assert check.in_range is in_range
    assert check.total_mg == D(recorded)
    assert f"Session total {recorded} mg ({D(per_kg):.2f} mg/kg) is" in check.message


def test_the_recorded_mg_alone_would_refuse_the_dose_its_rounding_made():
    """Why the mg/kg entered is what is checked: 52.9 mg, taken as entered, is above 0.75 mg/kg
    at 70.5 kg (52.875 mg), though 0.75 mg/kg is what the clinician asked for."""
    dose_range = dosing.DoseRange(Route.IM, D("0.5"), D("0.75"), "mg/kg", "clinic setting")
    assert not check_total(Route.IM, D("52.9"), D("70.5"), dose_range).in_range


@pytest.mark.parametrize("route", [Route.IM, Route.IV])
@pytest.mark.parametrize("weight", [None, D(0), D(-70)])
def test_a_weight_based_check_needs_the_weight(route, weight):
    check = check_total(route, D(35), weight, default_ranges()[route])
    assert not check.in_range
    assert check.per_kg is None
    assert check.message == "The weight is needed to check a weight-based dose."


def test_check_total_uses_the_given_range_not_the_default():
    narrow = dosing.DoseRange(Route.IM, D("0.5"), D("0.75"), "mg/kg", "clinic setting")
    assert not check_total(Route.IM, D(56), D(70), narrow).in_range  # 0.8 mg/kg
    assert check_total(Route.IM, D(56), D(70), default_ranges()[Route.IM]).in_range


def _dosing_session(route, weight, *doses):
    from kaptracker.models import Administration, DosingSession

    return DosingSession(route=route, weight_kg=weight and D(weight),
                         administrations=[Administration(dose_mg=D(d)) for d in doses])


BOOSTER_CASES = [
    # route, weight, doses, total, in range
    (Route.LOZENGE, None, ("250", "200"), "450", False),  # each in range, the sum above
    (Route.LOZENGE, None, ("30", "30"), "60", True),  # each below, the sum in range
    (Route.LOZENGE, None, ("200", "200"), "400", True),  # the sum exactly at the top
    (Route.IM, "70", ("28", "28"), "56", True),  # 0.4 + 0.4 = 0.8 mg/kg
    (Route.IM, "70", ("49", "35"), "84", False),  # 0.7 + 0.5 = 1.2 mg/kg
    (Route.IV, "80", ("20", "20", "20"), "60", True),  # three quarter doses
]


@pytest.mark.parametrize("route, weight, doses, total, in_range", BOOSTER_CASES)
def test_a_booster_adds_to_the_session_total_that_is_compared(route, weight, doses, total, in_range):
    session = _dosing_session(route, weight, *doses)
    assert session.total_mg == D(total)
    check = check_total(route, session.total_mg, session.weight_kg, default_ranges()[route])
    assert check.in_range is in_range


def test_a_session_without_doses_totals_zero():
    assert _dosing_session(Route.IV, "80").total_mg == D(0)


# --- screening decisions -----------------------------------------------------------------------

# CLINICAL.md's table, written out independently of rules/screening.py.
EXPECTED_SEVERITY = {
    "uncontrolled_hypertension": (Severity.ABSOLUTE, False),
    "cardiac": (Severity.ABSOLUTE, False),
    "vascular": (Severity.ABSOLUTE, False),
    "psychosis": (Severity.ABSOLUTE, False),
    "mania": (Severity.ABSOLUTE, False),
    "pregnancy": (Severity.ABSOLUTE, False),
    "substance_use": (Severity.RELATIVE, False),
    "suicide_risk": (Severity.RELATIVE, False),
    "hyperthyroidism": (Severity.RELATIVE, True),
    "intracranial_pressure": (Severity.ABSOLUTE, True),
    "liver_disease": (Severity.RELATIVE, True),
    "cystitis": (Severity.RELATIVE, True),
    "ketamine_allergy": (Severity.ABSOLUTE, True),
    "under_18": (Severity.ABSOLUTE, True),
}
ABSOLUTE = [k for k, (s, _) in EXPECTED_SEVERITY.items() if s is Severity.ABSOLUTE]
RELATIVE = [k for k, (s, _) in EXPECTED_SEVERITY.items() if s is Severity.RELATIVE]
CONFIGURABLE = [k for k, (_, c) in EXPECTED_SEVERITY.items() if c]
RATIONALE = "Discussed with the client and the prescriber."


def test_contraindication_table():
    assert {c.key: (c.severity, c.configurable) for c in CONTRAINDICATIONS} == EXPECTED_SEVERITY
    assert len(BY_KEY) == len(CONTRAINDICATIONS)


def test_each_configurable_contraindication_has_a_setting():
    for key in CONFIGURABLE:
        spec = registry.SPECS_BY_KEY[f"contraindication.{key}"]
        assert spec.default == EXPECTED_SEVERITY[key][0].value
        assert spec.choices == ("absolute", "relative")
    assert registry.contraindication_overrides(
        {"contraindication.cystitis": "absolute", "dose.im.high_mg_per_kg": D(1)}
    ) == {"cystitis": "absolute"}


@pytest.mark.parametrize("key", ABSOLUTE)
def test_eligible_despite_an_absolute_contraindication_needs_medical_clearance(key):
    problems = decision_problems(ELIGIBLE, [key], rationale=RATIONALE, medical_clearance=None)
    assert set(problems) == {"medical_clearance"}
    assert problems["medical_clearance"] == (
        f"Absolute contraindication found ({BY_KEY[key].label}): eligible only with a recorded "
        "medical clearance."
    )
    assert decision_problems(ELIGIBLE, [key], rationale=RATIONALE, medical_clearance="   ") == problems
    assert decision_problems(
        ELIGIBLE, [key], rationale=RATIONALE, medical_clearance="Cardiology letter 3 Nov."
    ) == {}


@pytest.mark.parametrize("key", [k for k in RELATIVE if k != "suicide_risk"])
def test_eligible_with_a_relative_contraindication_needs_only_the_rationale(key):
    assert decision_problems(ELIGIBLE, [key], rationale=RATIONALE, medical_clearance=None) == {}
    assert set(decision_problems(ELIGIBLE, [key], rationale="", medical_clearance=None)) == {
        "decision_rationale"}


def test_acute_suicide_risk_needs_a_safety_plan():
    problems = decision_problems(ELIGIBLE, ["suicide_risk"], rationale=RATIONALE,
                                 medical_clearance=None, safety_plan=None)
    assert problems == {
        "safety_plan": "Acute suicide risk: record the safety plan before eligibility."}
    assert decision_problems(ELIGIBLE, ["suicide_risk"], rationale=RATIONALE,
                             medical_clearance=None, safety_plan=" \n ") == problems
    assert decision_problems(ELIGIBLE, ["suicide_risk"], rationale=RATIONALE,
                             medical_clearance=None, safety_plan="Crisis line; partner stays.") == {}


@pytest.mark.parametrize("decision", [NOT_ELIGIBLE, DEFERRED, "not_eligible", "deferred"])
@pytest.mark.parametrize("found", [[], ABSOLUTE, ["suicide_risk", "psychosis"]])
def test_not_eligible_and_deferred_never_need_clearance_or_a_safety_plan(decision, found):
    assert decision_problems(decision, found, rationale=RATIONALE, medical_clearance=None) == {}
    assert decision_problems(decision, found, rationale=None, medical_clearance=None) == {
        "decision_rationale": "Give the rationale for this decision."}


@pytest.mark.parametrize("decision", [None, ""])
def test_a_missing_decision_is_the_only_problem_reported(decision):
    assert decision_problems(decision, ["psychosis"], rationale=None, medical_clearance=None) == {
        "decision": "Choose eligible, not eligible or deferred."}


@pytest.mark.parametrize("decision", ["maybe", "ELIGIBLE", "eligible ", "1"])
def test_an_unknown_decision_is_a_problem_not_a_crash(decision):
    assert decision_problems(decision, [], rationale=RATIONALE, medical_clearance=None) == {
        "decision": "Choose eligible, not eligible or deferred."}


@pytest.mark.parametrize("rationale", [None, "", "   ", "\n\t"])
@pytest.mark.parametrize("decision", list(Decision))
def test_every_decision_needs_a_rationale(decision, rationale):
    problems = decision_problems(decision, [], rationale=rationale, medical_clearance=None)
    assert problems == {"decision_rationale": "Give the rationale for this decision."}


def test_every_problem_at_once():
    problems = decision_problems("eligible", ["cardiac", "pregnancy", "suicide_risk", "cystitis"],
                                 rationale="", medical_clearance="", safety_plan="")
    assert set(problems) == {"decision_rationale", "medical_clearance", "safety_plan"}
    # Every absolute one is named, in the order found; the relative ones are not.
    assert "(Angina, heart disease or arrhythmia; Pregnancy or breastfeeding)" in problems[
        "medical_clearance"]
    assert "Cystitis" not in problems["medical_clearance"]


SEVERITY_CASES = [
    # key, clinic overrides, severity
    ("hyperthyroidism", None, Severity.RELATIVE),
    ("hyperthyroidism", {}, Severity.RELATIVE),
    ("hyperthyroidism", {"hyperthyroidism": "absolute"}, Severity.ABSOLUTE),
    ("hyperthyroidism", {"hyperthyroidism": "relative"}, Severity.RELATIVE),
    ("hyperthyroidism", {"hyperthyroidism": "ABSOLUTE"}, Severity.RELATIVE),  # not a choice
    ("hyperthyroidism", {"hyperthyroidism": "banned"}, Severity.RELATIVE),
    ("hyperthyroidism", {"liver_disease": "absolute"}, Severity.RELATIVE),  # another key
    ("ketamine_allergy", {"ketamine_allergy": "relative"}, Severity.RELATIVE),
    ("under_18", {"under_18": "relative"}, Severity.RELATIVE),
    ("cystitis", {"cystitis": "absolute"}, Severity.ABSOLUTE),
    ("liver_disease", {"liver_disease": "absolute"}, Severity.ABSOLUTE),
    ("intracranial_pressure", {"intracranial_pressure": "relative"}, Severity.RELATIVE),
    # Not configurable: the clinic cannot relax or tighten these.
    ("psychosis", {"psychosis": "relative"}, Severity.ABSOLUTE),
    ("pregnancy", {"pregnancy": "relative"}, Severity.ABSOLUTE),
    ("substance_use", {"substance_use": "absolute"}, Severity.RELATIVE),
    ("suicide_risk", {"suicide_risk": "absolute"}, Severity.RELATIVE),
]


@pytest.mark.parametrize("key, overrides, expected", SEVERITY_CASES)
def test_severity_of_with_clinic_overrides(key, overrides, expected):
    assert severity_of(key, overrides) is expected


def test_a_clinic_that_makes_hyperthyroidism_absolute_needs_clearance_for_it():
    overrides = {"hyperthyroidism": "absolute"}
    problems = decision_problems(ELIGIBLE, ["hyperthyroidism"], rationale=RATIONALE,
                                 medical_clearance=None, overrides=overrides)
    assert set(problems) == {"medical_clearance"}
    assert "Uncontrolled hyperthyroidism" in problems["medical_clearance"]
    assert decision_problems(ELIGIBLE, ["hyperthyroidism"], rationale=RATIONALE,
                             medical_clearance="Endocrinology: controlled on treatment.",
                             overrides=overrides) == {}


def test_a_clinic_that_makes_the_allergy_relative_needs_only_a_rationale():
    assert decision_problems(ELIGIBLE, ["ketamine_allergy"], rationale=RATIONALE,
                             medical_clearance=None, overrides={"ketamine_allergy": "relative"}) == {}


def test_decision_labels():
    assert [d.label for d in Decision] == ["Eligible", "Not eligible", "Deferred"]


@pytest.mark.parametrize("dose, factors, weight, asked", [
    ("52.9", {"mg_per_kg": "0.75"}, "70.5", "52.875"),  # computed: the mg/kg entered counts
    ("6.3", {"strength_mg": "12.5", "count": "0.5"}, None, "6.25"),  # lozenges: strength x count
    ("40.0", {}, "70", "40.0"),  # entered in mg: as entered
    ("17.5", {"mg_per_kg": "0.50"}, "70", "17.5"),  # factors that do not make the dose: the dose given
])
def test_the_dose_asked_for_is_what_the_range_is_checked_on(dose, factors, weight, asked):
    from kaptracker.courses.service import prescribed_mg
    from kaptracker.models import Administration

    administration = Administration(dose_mg=D(dose), **{k: D(v) for k, v in factors.items()})
    assert prescribed_mg(administration, weight and D(weight)) == D(asked)
