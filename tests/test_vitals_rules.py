"""Tables of cases for the vitals rules, at and around every threshold in CLINICAL.md.

No app and no database: every rule here is a plain function of readings, times and thresholds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest

from kaptracker.rules.dosing import Route
from kaptracker.rules.vitals import (
    PLAUSIBLE,
    RULE_LABELS,
    Finding,
    Level,
    Reading,
    Thresholds,
    Timepoint,
    baseline_findings,
    discharge_findings,
    due_minutes,
    next_due,
    observation_minutes,
    overdue_finding,
    plausibility_problems,
    session_findings,
)

T = Thresholds()
T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
BASELINE, DURING, POST, DISCHARGE = (
    Timepoint.BASELINE, Timepoint.DURING, Timepoint.POST, Timepoint.DISCHARGE,
)


def at(minutes: float = 0, seconds: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes, seconds=seconds)


def reading(
    minutes: float = 0,
    systolic: int = 120,
    diastolic: int = 80,
    heart_rate: int = 70,
    spo2: int | None = 98,
    *,
    seconds: float = 0,
    timepoint: Timepoint = DURING,
    id: int | None = None,
) -> Reading:
    return Reading(id, at(minutes, seconds), timepoint, systolic, diastolic, heart_rate, spo2)


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


# --- enums and data ---------------------------------------------------------------------------


def test_levels_are_listed_most_severe_first():
    assert list(Level) == [Level.CRITICAL, Level.ALERT, Level.HOLD, Level.CAUTION, Level.OVERDUE]
    assert [level.rank for level in Level] == [0, 1, 2, 3, 4]
    assert [level.label for level in Level] == ["Critical", "Alert", "Hold", "Caution", "Overdue"]
    assert Level("hold") is Level.HOLD


def test_timepoints_have_values_and_labels():
    assert [str(tp) for tp in Timepoint] == ["baseline", "during", "post", "discharge"]
    assert all(tp.label for tp in Timepoint)
    assert Timepoint.BASELINE.label.startswith("Baseline")


def test_every_rule_key_has_a_label():
    assert set(RULE_LABELS) == {
        "critical_bp", "sustained_high_bp", "tachycardia", "bradycardia", "low_spo2",
        "baseline_hold", "baseline_caution", "baseline_missing", "reading_overdue",
        "discharge_too_early", "discharge_no_reading", "discharge_last_reading_high",
    }


def test_reading_and_finding_are_frozen_with_optional_fields():
    r = Reading(None, T0, DURING, 120, 80, 70)
    assert r.spo2 is None
    assert Finding("low_spo2", Level.ALERT, "m").reading_id is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.systolic = 130  # type: ignore[misc]


# --- thresholds and settings ------------------------------------------------------------------


def test_default_thresholds_are_clinical_md():
    assert dataclasses.asdict(T) == {
        "caution_systolic": 140, "caution_diastolic": 90,
        "hold_systolic": 160, "hold_diastolic": 100, "hold_heart_rate": 100,
        "alert_systolic": 180, "alert_diastolic": 110, "alert_repeat_minutes": 5,
        "critical_systolic": 200, "critical_diastolic": 120,
        "tachycardia": 120, "bradycardia": 50, "spo2_low": 92,
        "due_minutes_iv": 10, "due_minutes_other": 15,
        "observation_minutes_lozenge": 60, "observation_minutes_im": 60,
        "observation_minutes_iv": 60,
    }


def test_from_settings_with_no_vitals_keys_keeps_every_default():
    assert Thresholds.from_settings({}) == T
    assert Thresholds.from_settings({"clinic.name": "X", "hold_systolic": 150}) == T


def test_from_settings_overrides_named_fields_and_keeps_the_rest():
    t = Thresholds.from_settings({
        "vitals.hold_systolic": 150,
        "vitals.alert_repeat_minutes": "10",
        "vitals.observation_minutes_iv": D(120),
        "vitals.not_a_threshold": 1,
    })
    assert (t.hold_systolic, t.alert_repeat_minutes, t.observation_minutes_iv) == (150, 10, 120)
    assert dataclasses.replace(t, hold_systolic=160, alert_repeat_minutes=5,
                               observation_minutes_iv=60) == T


@pytest.mark.parametrize("raw", [None, "", "abc", True, D("NaN"), float("inf"), object()])
def test_from_settings_keeps_the_default_for_an_unreadable_value(raw):
    assert Thresholds.from_settings({"vitals.hold_systolic": raw}).hold_systolic == 160


def test_overridden_thresholds_drive_the_rules():
    t = Thresholds.from_settings({"vitals.hold_systolic": 150, "vitals.alert_repeat_minutes": 10})
    assert rules(baseline_findings(reading(systolic=150, timepoint=BASELINE), t)) == ["baseline_hold"]
    assert rules(baseline_findings(reading(systolic=150, timepoint=BASELINE), T)) == ["baseline_caution"]
    pair = [reading(0, 185), reading(5, 185)]
    assert session_findings(pair, t) == []
    assert rules(session_findings([reading(0, 185), reading(10, 185)], t)) == ["sustained_high_bp"]
    assert "10+ minutes apart" in session_findings([reading(0, 185), reading(10, 185)], t)[0].message


# --- plausibility -----------------------------------------------------------------------------

PLAUSIBILITY_CASES = {
    # (systolic, diastolic, heart rate, SpO2) -> fields with a problem
    "ordinary set": ((120, 80, 70, 98), set()),
    "SpO2 is optional": ((120, 80, 70, None), set()),
    "systolic 59": ((59, 40, 70, 98), {"systolic"}),
    "systolic 60": ((60, 40, 70, 98), set()),
    "systolic 260": ((260, 100, 70, 98), set()),
    "systolic 261": ((261, 100, 70, 98), {"systolic"}),
    "diastolic 29": ((120, 29, 70, 98), {"diastolic"}),
    "diastolic 30": ((120, 30, 70, 98), set()),
    "diastolic 160": ((200, 160, 70, 98), set()),
    "diastolic 161": ((200, 161, 70, 98), {"diastolic"}),
    "heart rate 29": ((120, 80, 29, 98), {"heart_rate"}),
    "heart rate 30": ((120, 80, 30, 98), set()),
    "heart rate 220": ((120, 80, 220, 98), set()),
    "heart rate 221": ((120, 80, 221, 98), {"heart_rate"}),
    "SpO2 49": ((120, 80, 70, 49), {"spo2"}),
    "SpO2 50": ((120, 80, 70, 50), set()),
    "SpO2 100": ((120, 80, 70, 100), set()),
    "SpO2 101": ((120, 80, 70, 101), {"spo2"}),
    "systolic equal to diastolic": ((90, 90, 70, 98), {"diastolic"}),
    "systolic below diastolic (swapped)": ((80, 120, 70, 98), {"diastolic"}),
    "systolic one above diastolic": ((91, 90, 70, 98), set()),
    "order not checked while systolic is implausible": ((59, 80, 70, 98), {"systolic"}),
    "order not checked while diastolic is implausible": ((100, 161, 70, 98), {"diastolic"}),
    "nothing entered": ((None, None, None, None), {"systolic", "diastolic", "heart_rate"}),
    "no systolic": ((None, 80, 70, 98), {"systolic"}),
    "no diastolic": ((120, None, 70, 98), {"diastolic"}),
    "no heart rate": ((120, 80, None, None), {"heart_rate"}),
    "several at once": ((300, 20, 10, 10), {"systolic", "diastolic", "heart_rate", "spo2"}),
}


@pytest.mark.parametrize("values,fields", PLAUSIBILITY_CASES.values(), ids=PLAUSIBILITY_CASES.keys())
def test_plausibility(values, fields):
    assert set(plausibility_problems(*values)) == fields


@pytest.mark.parametrize("field,values,expected", [
    ("systolic", (261, 80, 70, 98), "Systolic must be 60–260 mmHg; check for a typing error."),
    ("diastolic", (120, 29, 70, 98), "Diastolic must be 30–160 mmHg; check for a typing error."),
    ("heart_rate", (120, 80, 221, 98),
     "Heart rate must be 30–220 beats per minute; check for a typing error."),
    ("spo2", (120, 80, 70, 101), "SpO₂ must be 50–100 %; check for a typing error."),
])
def test_plausibility_messages_give_the_range(field, values, expected):
    assert plausibility_problems(*values)[field] == expected


def test_plausibility_messages_for_missing_values_and_order():
    problems = plausibility_problems(None, None, None, None)
    assert all(message.startswith("Enter ") for message in problems.values())
    order = plausibility_problems(90, 90, 70, None)["diastolic"]
    assert order.startswith("The diastolic must be lower than the systolic")
    assert "90/90" in order


def test_plausible_ranges_are_clinical_md():
    assert PLAUSIBLE == {
        "systolic": (60, 260), "diastolic": (30, 160), "heart_rate": (30, 220), "spo2": (50, 100),
    }


# --- baseline ---------------------------------------------------------------------------------

BASELINE_CASES = {
    # (systolic, diastolic, heart rate) -> rule or None
    "normal": ((120, 80, 70), None),
    "systolic 139": ((139, 80, 70), None),
    "systolic 140": ((140, 80, 70), "baseline_caution"),
    "systolic 141": ((141, 80, 70), "baseline_caution"),
    "diastolic 89": ((120, 89, 70), None),
    "diastolic 90": ((120, 90, 70), "baseline_caution"),
    "diastolic 91": ((120, 91, 70), "baseline_caution"),
    "139/89 just under both": ((139, 89, 70), None),
    "systolic 159": ((159, 80, 70), "baseline_caution"),
    "systolic 160": ((160, 80, 70), "baseline_hold"),
    "systolic 161": ((161, 80, 70), "baseline_hold"),
    "diastolic 99": ((120, 99, 70), "baseline_caution"),
    "diastolic 100": ((120, 100, 70), "baseline_hold"),
    "diastolic 101": ((120, 101, 70), "baseline_hold"),
    "heart rate 99": ((120, 80, 99), None),
    "heart rate 100 (not above 100)": ((120, 80, 100), None),
    "heart rate 101": ((120, 80, 101), "baseline_hold"),
    "caution BP and fast heart rate is a hold": ((145, 92, 101), "baseline_hold"),
    "159/99 is a caution, not a hold": ((159, 99, 100), "baseline_caution"),
}


@pytest.mark.parametrize("values,rule", BASELINE_CASES.values(), ids=BASELINE_CASES.keys())
def test_baseline(values, rule):
    found = baseline_findings(reading(0, *values, timepoint=BASELINE, id=7), T)
    assert rules(found) == ([rule] if rule else [])
    if rule:
        assert found[0].reading_id == 7
        assert found[0].level is {"baseline_hold": Level.HOLD, "baseline_caution": Level.CAUTION}[rule]


def test_no_baseline_holds_the_dose():
    assert baseline_findings(None, T) == [Finding(
        "baseline_missing", Level.HOLD, "No baseline reading: the dose cannot be recorded.")]


def test_baseline_hold_names_every_criterion_met_and_its_settings():
    (finding,) = baseline_findings(reading(0, 165, 105, 110, timepoint=BASELINE), T)
    for part in ("systolic 165 is 160 or more", "diastolic 105 is 100 or more",
                 "heart rate 110 is above 100", "vitals.hold_systolic", "vitals.hold_diastolic",
                 "vitals.hold_heart_rate", "10:00", "override"):
        assert part in finding.message


def test_baseline_hold_names_only_the_criteria_met():
    (finding,) = baseline_findings(reading(0, 120, 80, 101, timepoint=BASELINE), T)
    assert "heart rate 101 is above 100" in finding.message
    assert "vitals.hold_heart_rate" in finding.message
    assert "vitals.hold_systolic" not in finding.message
    assert "vitals.hold_diastolic" not in finding.message


@pytest.mark.parametrize("values,present,absent", [
    ((145, 80, 70), ["systolic 145 is 140 or more", "vitals.caution_systolic"],
     ["diastolic", "vitals.caution_diastolic"]),
    ((130, 95, 70), ["diastolic 95 is 90 or more", "vitals.caution_diastolic"],
     ["systolic 130", "vitals.caution_systolic"]),
    ((150, 95, 70), ["systolic 150", "diastolic 95", "Settings: vitals.caution_systolic, "
                     "vitals.caution_diastolic."], []),
])
def test_baseline_caution_names_the_criteria_met(values, present, absent):
    (finding,) = baseline_findings(reading(0, *values, timepoint=BASELINE), T)
    assert "140/90" in finding.message
    for part in present:
        assert part in finding.message
    for part in absent:
        assert part not in finding.message


# --- during the session: single readings ------------------------------------------------------

SINGLE_CASES = {
    # (systolic, diastolic, heart rate, SpO2) -> rules on that one reading
    "normal": ((120, 80, 70, 98), []),
    "systolic 179 once": ((179, 80, 70, 98), []),
    "systolic 180 once is not yet sustained": ((180, 80, 70, 98), []),
    "systolic 199": ((199, 80, 70, 98), []),
    "systolic 200": ((200, 80, 70, 98), ["critical_bp"]),
    "systolic 201": ((201, 80, 70, 98), ["critical_bp"]),
    "diastolic 119": ((150, 119, 70, 98), []),
    "diastolic 120": ((150, 120, 70, 98), ["critical_bp"]),
    "diastolic 121": ((150, 121, 70, 98), ["critical_bp"]),
    "heart rate 121 once is not yet sustained": ((120, 80, 121, 98), []),
    "heart rate 51": ((120, 80, 51, 98), []),
    "heart rate 50": ((120, 80, 50, 98), []),
    "heart rate 49": ((120, 80, 49, 98), ["bradycardia"]),
    "SpO2 93": ((120, 80, 70, 93), []),
    "SpO2 92": ((120, 80, 70, 92), []),
    "SpO2 91": ((120, 80, 70, 91), ["low_spo2"]),
    "SpO2 not taken": ((120, 80, 70, None), []),
    "critical, slow and low together": ((210, 125, 45, 88), ["critical_bp", "bradycardia", "low_spo2"]),
}


@pytest.mark.parametrize("values,expected", SINGLE_CASES.values(), ids=SINGLE_CASES.keys())
def test_single_reading(values, expected):
    found = session_findings([reading(0, *values, id=3)], T)
    assert rules(found) == expected
    assert all(f.reading_id == 3 for f in found)


@pytest.mark.parametrize("values,rule,level,message", [
    ((205, 100, 70, 98), "critical_bp", Level.CRITICAL,
     "Blood pressure 205/100 at 10:00 (a single reading at or above 200/120): critical blood "
     "pressure. Settings: vitals.critical_systolic, vitals.critical_diastolic."),
    ((120, 80, 48, 98), "bradycardia", Level.ALERT,
     "Heart rate 48 at 10:00 (below 50): slow heart rate. Setting: vitals.bradycardia."),
    ((120, 80, 70, 90), "low_spo2", Level.ALERT,
     "SpO₂ 90 % at 10:00 (below 92 %): low oxygen saturation. Setting: vitals.spo2_low."),
])
def test_single_reading_messages(values, rule, level, message):
    assert session_findings([reading(0, *values)], T) == [Finding(rule, level, message)]


def test_no_readings_no_findings():
    assert session_findings([], T) == []


# --- during the session: two readings at least 5 minutes apart --------------------------------

PAIR_CASES = {
    # first (sys, dia, hr), second (sys, dia, hr), seconds between -> rules on the second reading
    "180 twice, 5:00 apart": ((180, 80, 70), (180, 80, 70), 300, ["sustained_high_bp"]),
    "180 twice, 4:59 apart": ((180, 80, 70), (180, 80, 70), 299, []),
    "180 twice, 5:01 apart": ((180, 80, 70), (180, 80, 70), 301, ["sustained_high_bp"]),
    "179 then 180": ((179, 80, 70), (180, 80, 70), 300, []),
    "180 then 179": ((180, 80, 70), (179, 80, 70), 300, []),
    "181 twice": ((181, 80, 70), (181, 80, 70), 600, ["sustained_high_bp"]),
    "diastolic 110 twice": ((150, 110, 70), (150, 110, 70), 300, ["sustained_high_bp"]),
    "diastolic 109 then 110": ((150, 109, 70), (150, 110, 70), 300, []),
    "diastolic 110 then 109": ((150, 110, 70), (150, 109, 70), 300, []),
    "systolic high, then diastolic high": ((185, 90, 70), (150, 112, 70), 300, ["sustained_high_bp"]),
    "199 twice is sustained, not critical": ((199, 80, 70), (199, 80, 70), 300, ["sustained_high_bp"]),
    "180 then 200 is critical only": ((180, 80, 70), (200, 80, 70), 300, ["critical_bp"]),
    "high then diastolic 120 is critical only": ((185, 90, 70), (150, 120, 70), 300, ["critical_bp"]),
    "critical twice is critical only": ((210, 80, 70), (210, 80, 70), 300, ["critical_bp"]),
    "critical then 185 is sustained": ((210, 80, 70), (185, 80, 70), 300, ["sustained_high_bp"]),
    "heart rate 121 twice, 5:00 apart": ((120, 80, 121), (120, 80, 121), 300, ["tachycardia"]),
    "heart rate 121 twice, 4:59 apart": ((120, 80, 121), (120, 80, 121), 299, []),
    "heart rate 120 twice": ((120, 80, 120), (120, 80, 120), 300, []),
    "heart rate 120 then 121": ((120, 80, 120), (120, 80, 121), 300, []),
    "heart rate 121 then 120": ((120, 80, 121), (120, 80, 120), 300, []),
    "high BP and fast heart rate twice": ((185, 90, 130), (185, 90, 130), 300,
                                          ["sustained_high_bp", "tachycardia"]),
}


@pytest.mark.parametrize("first,second,seconds,expected", PAIR_CASES.values(), ids=PAIR_CASES.keys())
def test_two_readings(first, second, seconds, expected):
    pair = [reading(0, *first, id=1), reading(0, *second, seconds=seconds, id=2)]
    on_second = [f.rule for f in session_findings(pair, T) if f.reading_id == 2]
    assert on_second == expected


def test_sustained_message_matches_the_house_example():
    pair = [reading(42, 186, 90), reading(51, 182, 95, id=2)]
    (finding,) = session_findings(pair, T)
    assert finding == Finding(
        "sustained_high_bp", Level.ALERT,
        "Systolic 186 at 10:42 and 182 at 10:51 (two readings at or above 180/110, 5+ minutes "
        "apart): sustained high blood pressure. Settings: vitals.alert_systolic, "
        "vitals.alert_diastolic, vitals.alert_repeat_minutes.",
        2,
    )


@pytest.mark.parametrize("first,second,start", [
    ((150, 112), (150, 115), "Diastolic 112 at 10:00 and 115 at 10:05 "),
    ((185, 90), (150, 112), "Blood pressure 185/90 at 10:00 and 150/112 at 10:05 "),
])
def test_sustained_message_names_the_values_that_were_high(first, second, start):
    (finding,) = session_findings([reading(0, *first), reading(5, *second)], T)
    assert finding.message.startswith(start)


def test_tachycardia_message():
    (finding,) = session_findings([reading(0, heart_rate=125), reading(6, heart_rate=130, id=2)], T)
    assert finding == Finding(
        "tachycardia", Level.ALERT,
        "Heart rate 125 at 10:00 and 130 at 10:06 (two readings above 120, 5+ minutes apart): "
        "sustained fast heart rate. Settings: vitals.tachycardia, vitals.alert_repeat_minutes.",
        2,
    )


def test_a_non_adjacent_earlier_reading_counts():
    readings = [
        reading(0, 182, id=1),
        reading(2, 120, id=2),  # normal in between
        reading(4, 183, id=3),  # high but only 4 minutes after the first: not yet sustained
        reading(6, 181, id=4),  # 6 minutes after the first: sustained
    ]
    found = session_findings(readings, T)
    assert [(f.rule, f.reading_id) for f in found] == [("sustained_high_bp", 4)]
    assert found[0].message.startswith("Systolic 182 at 10:00 and 181 at 10:06 ")


def test_the_nearest_qualifying_earlier_reading_is_cited():
    readings = [reading(0, 190), reading(5, 185, id=2), reading(10, 181, id=3)]
    found = session_findings(readings, T)
    assert [f.reading_id for f in found] == [2, 3]
    assert found[1].message.startswith("Systolic 185 at 10:05 and 181 at 10:10 ")


def test_a_non_adjacent_earlier_fast_heart_rate_counts():
    readings = [reading(0, heart_rate=125), reading(3, heart_rate=90), reading(5, heart_rate=122, id=3)]
    assert [(f.rule, f.reading_id) for f in session_findings(readings, T)] == [("tachycardia", 3)]


def test_readings_are_taken_in_time_order_whatever_the_input_order():
    readings = [reading(5, 185, id=2), reading(0, 185, id=1)]
    assert [(f.rule, f.reading_id) for f in session_findings(readings, T)] == [
        ("sustained_high_bp", 2)]


def test_a_baseline_reading_counts_as_the_first_of_two():
    readings = [reading(0, 182, timepoint=BASELINE, id=1), reading(5, 184, id=2)]
    assert [(f.rule, f.reading_id) for f in session_findings(readings, T)] == [
        ("sustained_high_bp", 2)]


def test_one_finding_per_rule_per_triggering_reading():
    readings = [reading(0, 185, id=1), reading(5, 186, id=2), reading(10, 187, id=3)]
    assert [(f.rule, f.reading_id) for f in session_findings(readings, T)] == [
        ("sustained_high_bp", 2), ("sustained_high_bp", 3)]


def test_critical_is_never_double_reported_as_sustained():
    readings = [reading(0, 185, id=1), reading(5, 205, id=2), reading(10, 210, id=3)]
    found = session_findings(readings, T)
    assert [(f.rule, f.reading_id) for f in found] == [("critical_bp", 2), ("critical_bp", 3)]


def test_findings_are_most_severe_first_then_in_time_order():
    readings = [
        reading(0, 120, 80, 45, 90, id=1),  # slow and low
        reading(5, 120, 80, 70, 89, id=2),  # low
        reading(10, 205, 90, 70, 98, id=3),  # critical
        reading(15, 202, 90, 70, 98, id=4),  # critical
    ]
    found = session_findings(readings, T)
    assert [(f.level, f.rule, f.reading_id) for f in found] == [
        (Level.CRITICAL, "critical_bp", 3),
        (Level.CRITICAL, "critical_bp", 4),
        (Level.ALERT, "bradycardia", 1),
        (Level.ALERT, "low_spo2", 1),
        (Level.ALERT, "low_spo2", 2),
    ]


# --- reading schedule -------------------------------------------------------------------------


@pytest.mark.parametrize("route,during,minutes", [
    ("iv", True, 10),
    ("iv", False, 15),
    ("lozenge", True, 15),
    ("lozenge", False, 15),
    ("im", True, 15),
    ("im", False, 15),
    (Route.IV, True, 10),
])
def test_due_minutes(route, during, minutes):
    assert due_minutes(route, during_infusion=during, t=T) == minutes


def test_due_minutes_follow_the_settings():
    t = Thresholds.from_settings({"vitals.due_minutes_iv": 5, "vitals.due_minutes_other": 20})
    assert due_minutes("iv", during_infusion=True, t=t) == 5
    assert due_minutes("im", during_infusion=False, t=t) == 20


def test_an_unknown_route_is_an_error():
    with pytest.raises(ValueError):
        due_minutes("oral", during_infusion=False, t=T)
    with pytest.raises(ValueError):
        observation_minutes("oral", T)


def schedule(readings=(), *, route="lozenge", dosed=0, ends=None, discharged=None, now=20):
    """Keyword arguments for next_due / overdue_finding, times in minutes after 10:00."""
    return dict(
        readings=list(readings),
        route=route,
        dosed_at=None if dosed is None else at(dosed),
        infusion_ends_at=None if ends is None else at(ends),
        discharged_at=None if discharged is None else at(discharged),
        now=at(now) if isinstance(now, (int, float)) else now,
        t=T,
    )


NEXT_DUE_CASES = {
    "no dose yet": (schedule([reading(-10, timepoint=BASELINE)], dosed=None), None),
    "discharged": (schedule([reading(70, timepoint=DISCHARGE)], discharged=75, now=80), None),
    "lozenge: 15 minutes after the dose": (schedule(now=5), 15),
    "IM: 15 minutes after the dose": (schedule(route="im", now=5), 15),
    "baseline before the dose does not count": (
        schedule([reading(-10, timepoint=BASELINE)], now=5), 15),
    "lozenge: 15 minutes after the last reading": (schedule([reading(12)], now=20), 27),
    "latest reading wins, in any input order": (schedule([reading(30), reading(12)], now=35), 45),
    "IV during the infusion: 10 minutes": (schedule(route="iv", ends=40, now=5), 10),
    "IV during the infusion, after a reading": (
        schedule([reading(30)], route="iv", ends=40, now=35), 40),
    "IV after the infusion: 15 minutes": (schedule([reading(40)], route="iv", ends=40, now=45), 55),
    "IV exactly at the infusion's end counts as after": (
        schedule([reading(35)], route="iv", ends=40, now=40), 50),
    "IV with the infusion end not recorded: 10 minutes": (
        schedule([reading(30)], route="iv", now=35), 40),
}


@pytest.mark.parametrize("kwargs,due", NEXT_DUE_CASES.values(), ids=NEXT_DUE_CASES.keys())
def test_next_due(kwargs, due):
    assert next_due(**kwargs) == (None if due is None else at(due))


OVERDUE_CASES = {
    "no dose yet": (schedule(dosed=None, now=600), None),
    "discharged": (schedule(discharged=70, now=600), None),
    "before due": (schedule([reading(12)], now=26), None),
    "exactly at due": (schedule([reading(12)], now=27), None),
    "one second late": (schedule([reading(12)], now=at(27, 1)), "less than a minute late"),
    "59 seconds late": (schedule([reading(12)], now=at(27, 59)), "less than a minute late"),
    "one minute late": (schedule([reading(12)], now=28), "now 1 minute late"),
    "three minutes late": (schedule([reading(12)], now=30), "now 3 minutes late"),
}


@pytest.mark.parametrize("kwargs,late", OVERDUE_CASES.values(), ids=OVERDUE_CASES.keys())
def test_overdue_finding(kwargs, late):
    finding = overdue_finding(**kwargs)
    if late is None:
        assert finding is None
    else:
        assert (finding.rule, finding.level) == ("reading_overdue", Level.OVERDUE)
        assert finding.reading_id is None
        assert late in finding.message


def test_overdue_message_names_the_interval_and_its_setting():
    during = overdue_finding(**schedule([reading(30)], route="iv", ends=45, now=at(40, 1)))
    assert during.message == (
        "Vitals reading overdue: due at 10:40 (every 10 minutes during the IV infusion), now less "
        "than a minute late. Setting: vitals.due_minutes_iv."
    )
    after = overdue_finding(**schedule([reading(45)], route="iv", ends=45, now=62))
    assert after.message == (
        "Vitals reading overdue: due at 11:00 (every 15 minutes), now 2 minutes late. "
        "Setting: vitals.due_minutes_other."
    )


# --- discharge --------------------------------------------------------------------------------


@pytest.mark.parametrize("route,minutes", [("lozenge", 45), ("im", 75), ("iv", 120), (Route.IM, 75)])
def test_observation_minutes_per_route(route, minutes):
    t = Thresholds(observation_minutes_lozenge=45, observation_minutes_im=75, observation_minutes_iv=120)
    assert observation_minutes(route, t) == minutes


def test_default_observation_is_60_minutes_for_every_route():
    assert [observation_minutes(r, T) for r in ("lozenge", "im", "iv")] == [60, 60, 60]


def checked_out(minute: float = 55, systolic: int = 130, diastolic: int = 85, **kw) -> Reading:
    return reading(minute, systolic, diastolic, timepoint=DISCHARGE, id=9, **kw)


DISCHARGE_CASES = {
    # readings, route, last dose, infusion end, discharge time (minutes after 10:00) -> rules
    "lozenge: exactly 60 minutes after the dose": ([checked_out()], "lozenge", 0, None, 60, []),
    "lozenge: one minute early": ([checked_out()], "lozenge", 0, None, 59, ["discharge_too_early"]),
    "lozenge: one second early": ([checked_out()], "lozenge", 0, None, 59 + 59 / 60,
                                  ["discharge_too_early"]),
    "IM: exactly 60 minutes after the dose": ([checked_out()], "im", 0, None, 60, []),
    "IM: one minute early": ([checked_out()], "im", 0, None, 59, ["discharge_too_early"]),
    "IM: an infusion end is ignored": ([checked_out()], "im", 0, 40, 60, []),
    "IV: 60 minutes after the dose is too early": ([checked_out()], "iv", 0, 40, 60,
                                                    ["discharge_too_early"]),
    "IV: one minute before 60 after the infusion": ([checked_out()], "iv", 0, 40, 99,
                                                     ["discharge_too_early"]),
    "IV: exactly 60 minutes after the infusion": ([checked_out()], "iv", 0, 40, 100, []),
    "IV: infusion end not recorded": ([checked_out()], "iv", 0, None, 200, ["discharge_too_early"]),
    "no dose given: nothing to observe": ([checked_out()], "lozenge", None, None, 10, []),
    "IV, no dose and no infusion": ([checked_out()], "iv", None, None, 10, []),
    "no discharge reading": ([reading(50, timepoint=POST)], "lozenge", 0, None, 60,
                             ["discharge_no_reading"]),
    "no reading at all": ([], "lozenge", 0, None, 60, ["discharge_no_reading"]),
    "last reading 179/109": ([checked_out(55, 179, 109)], "lozenge", 0, None, 60, []),
    "last reading systolic 180": ([checked_out(55, 180, 85)], "lozenge", 0, None, 60,
                                  ["discharge_last_reading_high"]),
    "last reading diastolic 110": ([checked_out(55, 150, 110)], "lozenge", 0, None, 60,
                                   ["discharge_last_reading_high"]),
    "last reading critical": ([checked_out(55, 205, 100)], "lozenge", 0, None, 60,
                              ["discharge_last_reading_high"]),
    "an earlier high reading does not count": (
        [reading(40, 190, 100), checked_out(55)], "lozenge", 0, None, 60, []),
    "the latest by time counts, whatever the input order": (
        [reading(58, 185, 100, timepoint=POST), checked_out(55)], "lozenge", 0, None, 60,
        ["discharge_last_reading_high"]),
    "everything at once, most severe first": (
        [reading(50, 190, 100, timepoint=POST)], "iv", 0, 40, 60,
        ["discharge_last_reading_high", "discharge_no_reading", "discharge_too_early"]),
}


@pytest.mark.parametrize("readings,route,dose,ends,when,expected", DISCHARGE_CASES.values(),
                         ids=DISCHARGE_CASES.keys())
def test_discharge(readings, route, dose, ends, when, expected):
    found = discharge_findings(
        readings, route=route, last_dose_at=None if dose is None else at(dose),
        infusion_ends_at=None if ends is None else at(ends), at=at(when), t=T,
    )
    assert rules(found) == expected


def discharge(readings=None, *, route="lozenge", dose=0, ends=None, when=60, t=T):
    return discharge_findings(
        [checked_out()] if readings is None else readings, route=route,
        last_dose_at=None if dose is None else at(dose),
        infusion_ends_at=None if ends is None else at(ends), at=at(when), t=t,
    )


@pytest.mark.parametrize("kwargs,message", [
    (dict(route="lozenge", when=59),
     "Too early to discharge: 1 minute of observation remains, until 11:00 (Lozenge / troche "
     "(sublingual): at least 60 minutes after the last dose (given 10:00)). "
     "Setting: vitals.observation_minutes_lozenge."),
    (dict(route="im", when=58.5),
     "Too early to discharge: 2 minutes of observation remain, until 11:00 (Intramuscular (IM) "
     "injection: at least 60 minutes after the last dose (given 10:00)). "
     "Setting: vitals.observation_minutes_im."),
    (dict(route="iv", ends=40, when=60),
     "Too early to discharge: 40 minutes of observation remain, until 11:40 (Intravenous (IV) "
     "infusion: at least 60 minutes after the end of the IV infusion (ended 10:40)). "
     "Setting: vitals.observation_minutes_iv."),
    (dict(route="iv", ends=None, when=200),
     "The end of the IV infusion is not recorded: record it so the minimum observation of 60 "
     "minutes after it can be counted. Setting: vitals.observation_minutes_iv."),
])
def test_too_early_messages(kwargs, message):
    assert discharge(**kwargs) == [Finding("discharge_too_early", Level.HOLD, message)]


def test_observation_setting_changes_the_minimum():
    t = Thresholds.from_settings({"vitals.observation_minutes_iv": 120})
    assert rules(discharge(route="iv", ends=40, when=159, t=t)) == ["discharge_too_early"]
    assert discharge(route="iv", ends=40, when=160, t=t) == []


def test_no_discharge_reading_message():
    assert discharge([reading(50)]) == [Finding(
        "discharge_no_reading", Level.HOLD,
        "No discharge reading: take a last set of vitals (blood pressure, heart rate, SpO₂) "
        "before the client leaves.",
    )]


def test_last_reading_high_message_names_the_reading_and_threshold():
    assert discharge([checked_out(55, 182, 96)]) == [Finding(
        "discharge_last_reading_high", Level.ALERT,
        "The last reading, 182/96 at 10:55, is at or above 180/110: blood pressure is still high; "
        "recheck and have medical staff review before discharge. "
        "Settings: vitals.alert_systolic, vitals.alert_diastolic.",
        9,
    )]


def test_last_reading_critical_names_the_critical_band_when_it_is_set_below_the_alert_band():
    t = Thresholds(alert_systolic=250, alert_diastolic=150)  # odd settings, still safe
    (finding,) = discharge([checked_out(55, 210, 100)], t=t)
    assert finding.rule == "discharge_last_reading_high"
    assert "at or above 200/120" in finding.message
    assert "vitals.critical_systolic, vitals.critical_diastolic" in finding.message


def test_a_discharge_reading_taken_before_a_later_booster_does_not_count():
    t = Thresholds()
    start = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
    readings = [
        Reading(1, start, Timepoint.DISCHARGE, 128, 80, 72),
    ]
    booster = start + dt.timedelta(minutes=30)
    findings = discharge_findings(readings, route="lozenge", last_dose_at=booster,
                                         infusion_ends_at=None, at=booster + dt.timedelta(hours=2), t=t)
    assert [f.rule for f in findings] == ["discharge_no_reading"]
    after = [*readings, Reading(2, booster + dt.timedelta(minutes=90), Timepoint.DISCHARGE, 126, 80, 70)]
    assert discharge_findings(after, route="lozenge", last_dose_at=booster, infusion_ends_at=None,
                                     at=booster + dt.timedelta(hours=2), t=t) == []


# --- readings typed out of order ----------------------------------------------------------------
# A nurse types a reading minutes after taking it, or enters a paper one afterwards: every rule
# follows the time each reading was taken, never the order the readings come in.

OUT_OF_ORDER = [
    reading(-100, 118, 76, timepoint=BASELINE, id=1),
    reading(-40, 182, 100, 80, id=2),
    reading(-38, 120, 80, 76, id=3),
    reading(-33, 184, 104, 82, id=4),
    reading(-25, 130, 82, 72, id=5),
    reading(-20, 125, 80, 70, timepoint=DISCHARGE, id=6),
    reading(-12, 186, 100, 78, id=7),
]
ENTRY_ORDERS = {
    "as taken": [1, 2, 3, 4, 5, 6, 7],
    "reversed": [7, 6, 5, 4, 3, 2, 1],
    "mixed": [4, 7, 1, 2, 6, 3, 5],
    "baseline last": [2, 3, 4, 5, 6, 7, 1],
}


def _entered(order: list[int]) -> list[Reading]:
    by_id = {r.id: r for r in OUT_OF_ORDER}
    return [by_id[i] for i in order]


@pytest.mark.parametrize("order", ENTRY_ORDERS.values(), ids=ENTRY_ORDERS.keys())
def test_the_rules_follow_the_time_taken_not_the_order_given(order):
    readings = _entered(order)
    # Sustained pairs: 184/104 with 182/100 (7 minutes before), 186/100 with 184/104 (21 minutes).
    assert [(f.rule, f.reading_id, f.paired_reading_id) for f in session_findings(readings, T)] == [
        ("sustained_high_bp", 4, 2), ("sustained_high_bp", 7, 4)]
    # The last reading is the one taken last (186/100 at -12), not the one given last.
    found = discharge_findings(readings, route="im", last_dose_at=at(-90), infusion_ends_at=None,
                               at=at(0), t=T)
    assert [(f.rule, f.reading_id) for f in found] == [("discharge_last_reading_high", 7)]
    # The schedule counts from the reading taken last.
    kwargs = dict(route="im", dosed_at=at(-90), infusion_ends_at=None, discharged_at=None, t=T)
    assert next_due(readings, now=at(0), **kwargs) == at(3)
    assert overdue_finding(readings, now=at(0), **kwargs) is None
    assert overdue_finding(readings, now=at(4), **kwargs).message.startswith(
        f"Vitals reading overdue: due at {at(3):%H:%M}")


@pytest.mark.parametrize("order", ENTRY_ORDERS.values(), ids=ENTRY_ORDERS.keys())
def test_the_baseline_and_the_rule_readings_follow_the_time_taken(order):
    from types import SimpleNamespace

    from kaptracker.vitals import service

    later_baseline = reading(-95, 150, 92, timepoint=BASELINE, id=8)  # the latest baseline
    readings = _entered(order) + [later_baseline] if order[0] != 1 else [later_baseline] + _entered(order)
    assert service.baseline(readings).id == 8
    assert service.baseline(readings, before=at(-98)).id == 1
    # Stored readings handed over in entry (id) order come out in the order they were taken.
    stored = [SimpleNamespace(id=r.id, taken_at=r.taken_at, timepoint=r.timepoint, systolic=r.systolic,
                              diastolic=r.diastolic, heart_rate=r.heart_rate, spo2=r.spo2, in_error=False)
              for r in _entered(order)]
    assert [r.id for r in service.as_rule_readings(stored)] == [1, 2, 3, 4, 5, 6, 7]
