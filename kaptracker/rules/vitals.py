"""Blood pressure and other vitals: the rules that hold a dose, raise an alert or delay discharge.

Every number comes from ``Thresholds``, whose defaults are CLINICAL.md ("Blood pressure and other
vitals") and which a clinic's medical lead changes through the ``vitals.*`` settings. Every
finding names its rule (a stable key used to store and acknowledge it), the threshold it used and
the setting that threshold comes from, so a nurse can see at a glance why it fired. A finding
never acts by itself: it asks for acknowledgement, or an override with a reason.

Bands are always evaluated from the most severe down: the classic bug checks "> 140" before
"> 180" and the critical band never fires.

Times are compared as given (aware UTC datetimes); messages show them as HH:MM as stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Sequence

from .. import clock
from .dosing import Route
from .labels import LabelledEnum


class Timepoint(LabelledEnum):
    BASELINE = "baseline", "Baseline (before the dose)"
    DURING = "during", "During the session"
    POST = "post", "After the session"
    DISCHARGE = "discharge", "Before discharge"


class Level(enum.StrEnum):
    """How urgent a finding is, most severe first (the order of the members is the order)."""

    CRITICAL = "critical"  # act now
    ALERT = "alert"  # needs acknowledgement now
    HOLD = "hold"  # blocks the next step (dose, discharge) unless overridden with a reason
    CAUTION = "caution"  # worth a pause; blocks nothing
    OVERDUE = "overdue"  # a reading is late

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        """0 for the most severe; sort by this to put the most severe first."""
        return _RANK[self]


_RANK = {level: i for i, level in enumerate(Level)}


@dataclasses.dataclass(frozen=True)
class Reading:
    id: int | None
    taken_at: dt.datetime  # aware, UTC
    timepoint: Timepoint
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int | None = None


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The numbers the rules use: defaults from CLINICAL.md, each a ``vitals.<field>`` setting."""

    # Baseline: a caution at or above 140/90 (Spravato label: consider delaying).
    caution_systolic: int = 140
    caution_diastolic: int = 90
    # Baseline: hold the dose at or above 160 or 100, or with a heart rate above 100.
    hold_systolic: int = 160
    hold_diastolic: int = 100
    hold_heart_rate: int = 100
    # During: at or above 180/110 on two readings at least 5 minutes apart.
    alert_systolic: int = 180
    alert_diastolic: int = 110
    alert_repeat_minutes: int = 5
    # During: any single reading at or above 200/120.
    critical_systolic: int = 200
    critical_diastolic: int = 120
    # During: heart rate above 120 sustained (two readings, as for blood pressure) or below 50 once;
    # SpO2 below 92 % once.
    tachycardia: int = 120
    bradycardia: int = 50
    spo2_low: int = 92
    # How often to take a reading: IV every 10 minutes during the infusion, 15 otherwise.
    due_minutes_iv: int = 10
    due_minutes_other: int = 15
    # Minimum observation before discharge, after the last dose (IV: after the infusion ends).
    observation_minutes_lozenge: int = 60
    observation_minutes_im: int = 60
    observation_minutes_iv: int = 60

    @classmethod
    def from_settings(cls, values: dict) -> Thresholds:
        """Read ``vitals.<field name>`` keys; a missing or unreadable value keeps its default.

        Unreadable values fall back rather than fail, as stored settings do when they no longer
        parse: the alert rules must keep working with the defaults.
        """
        chosen = {}
        for field in dataclasses.fields(cls):
            raw = values.get(f"vitals.{field.name}")
            if raw is None or isinstance(raw, bool):
                continue
            try:
                chosen[field.name] = int(raw)
            except (TypeError, ValueError, ArithmeticError):
                continue
        return cls(**chosen)


@dataclasses.dataclass(frozen=True)
class Finding:
    rule: str  # stable key, stored with the alert and its acknowledgement
    level: Level
    message: str
    reading_id: int | None = None
    # The earlier reading of a pair (the sustained rules): the finding rests on both readings.
    paired_reading_id: int | None = None


# Rules whose finding rests on two readings (``Finding.paired_reading_id``).
PAIRED_RULES = frozenset({"sustained_high_bp", "tachycardia"})

RULE_LABELS = {
    "critical_bp": "Critical blood pressure",
    "sustained_high_bp": "Sustained high blood pressure",
    "tachycardia": "Sustained fast heart rate",
    "bradycardia": "Slow heart rate",
    "low_spo2": "Low oxygen saturation",
    "baseline_hold": "Baseline too high: hold the dose",
    "baseline_caution": "Baseline raised: caution",
    "baseline_missing": "No baseline reading",
    "reading_overdue": "Vitals reading overdue",
    "discharge_too_early": "Too early to discharge",
    "discharge_no_reading": "No discharge reading",
    "discharge_last_reading_high": "Last reading too high to discharge",
}


# --- plausibility -----------------------------------------------------------------------------

PLAUSIBLE = {
    "systolic": (60, 260), "diastolic": (30, 160), "heart_rate": (30, 220), "spo2": (50, 100),
}

_NAMES = {
    "systolic": "Systolic", "diastolic": "Diastolic", "heart_rate": "Heart rate", "spo2": "SpO₂",
}
_UNITS = {
    "systolic": " mmHg", "diastolic": " mmHg", "heart_rate": " beats per minute", "spo2": " %",
}
_MISSING = {
    "systolic": "Enter the systolic (upper) blood pressure.",
    "diastolic": "Enter the diastolic (lower) blood pressure.",
    "heart_rate": "Enter the heart rate (pulse).",
}


def plausibility_problems(
    systolic: int | None, diastolic: int | None, heart_rate: int | None, spo2: int | None
) -> dict[str, str]:
    """Typing errors to reject before saving, as {field: message}; empty when the set is plausible.

    SpO2 is optional (not every clinic has an oximeter at every reading). The order check only runs
    when both pressures are in range, so the nurse fixes one mistake at a time.
    """
    values = {"systolic": systolic, "diastolic": diastolic, "heart_rate": heart_rate, "spo2": spo2}
    problems: dict[str, str] = {}
    for field, value in values.items():
        if value is None:
            if field in _MISSING:
                problems[field] = _MISSING[field]
            continue
        low, high = PLAUSIBLE[field]
        if not low <= value <= high:
            problems[field] = (
                f"{_NAMES[field]} must be {low}–{high}{_UNITS[field]}; check for a typing error."
            )
    if "systolic" not in problems and "diastolic" not in problems and systolic <= diastolic:
        problems["diastolic"] = (
            f"The diastolic must be lower than the systolic ({systolic}/{diastolic} entered); "
            "check the order the cuff shows: systolic / diastolic."
        )
    return problems


# --- helpers for messages ---------------------------------------------------------------------


def _hhmm(moment: dt.datetime) -> str:
    return f"{clock.wall_time(moment):%H:%M}"


def _settings(*names: str) -> str:
    keys = ", ".join(f"vitals.{name}" for name in names)
    return f" Setting{'s' if len(names) > 1 else ''}: {keys}."


def _minutes(n: int) -> str:
    return f"{n} minute{'' if n == 1 else 's'}"


def _bp(r: Reading) -> str:
    return f"{r.systolic}/{r.diastolic}"


def _most_severe_first(findings: list[Finding]) -> list[Finding]:
    """Most severe first; a stable sort, so ties keep the order they were found in (time order)."""
    return sorted(findings, key=lambda f: f.level.rank)


# --- baseline ---------------------------------------------------------------------------------


def _pressures_met(b: Reading, t: Thresholds, band: str) -> tuple[list[str], list[str]]:
    """Which of the baseline's pressures are at or above the ``band`` ("hold" or "caution")
    thresholds, in words, and the names of the settings those thresholds come from."""
    met, names = [], []
    for pressure in ("systolic", "diastolic"):
        value, limit = getattr(b, pressure), getattr(t, f"{band}_{pressure}")
        if value >= limit:
            met.append(f"{pressure} {value} is {limit} or more")
            names.append(f"{band}_{pressure}")
    return met, names


def baseline_findings(baseline: Reading | None, t: Thresholds) -> list[Finding]:
    """Whether the baseline allows the dose: a hold, a caution, or nothing.

    A hold blocks recording the dose unless medical staff override it with a reason; a caution only
    asks for a pause (Spravato: consider delaying above 140/90). Hold is checked first, so a
    baseline of 170/95 is a hold, not a caution.
    """
    if baseline is None:
        return [Finding("baseline_missing", Level.HOLD,
                        "No baseline reading: the dose cannot be recorded.")]
    b = baseline
    reading = f"Baseline {_bp(b)}, heart rate {b.heart_rate} at {_hhmm(b.taken_at)}"
    met, names = _pressures_met(b, t, "hold")
    if b.heart_rate > t.hold_heart_rate:
        met.append(f"heart rate {b.heart_rate} is above {t.hold_heart_rate}")
        names.append("hold_heart_rate")
    if met:
        return [Finding(
            "baseline_hold", Level.HOLD,
            f"{reading}: hold the dose — {', '.join(met)} (hold at {t.hold_systolic}/"
            f"{t.hold_diastolic} or more, or heart rate above {t.hold_heart_rate}). Dose only if "
            f"medical staff record an override with a reason.{_settings(*names)}",
            b.id,
        )]
    met, names = _pressures_met(b, t, "caution")
    if met:
        return [Finding(
            "baseline_caution", Level.CAUTION,
            f"{reading}: caution — {', '.join(met)} (consider delaying at {t.caution_systolic}/"
            f"{t.caution_diastolic} or more).{_settings(*names)}",
            b.id,
        )]
    return []


# --- during the session -----------------------------------------------------------------------


def _critical_bp(r: Reading, t: Thresholds) -> bool:
    return r.systolic >= t.critical_systolic or r.diastolic >= t.critical_diastolic


def _high_bp(r: Reading, t: Thresholds) -> bool:
    return r.systolic >= t.alert_systolic or r.diastolic >= t.alert_diastolic


def _earlier(earlier: Sequence[Reading], r: Reading, test, t: Thresholds) -> Reading | None:
    """The latest of ``earlier`` that passes ``test`` and was taken far enough before ``r``.

    "Two readings 5 minutes apart" means any earlier reading, not only the one just before: a
    high reading, a normal one 2 minutes later, and a high one 6 minutes after the first still
    count as sustained.
    """
    gap = dt.timedelta(minutes=t.alert_repeat_minutes)
    found = None
    for e in earlier:  # in time order, so the last match is the nearest
        if r.taken_at - e.taken_at >= gap and test(e):
            found = e
    return found


def _sustained_bp_message(first: Reading, second: Reading, t: Thresholds) -> str:
    both_sys = first.systolic >= t.alert_systolic and second.systolic >= t.alert_systolic
    both_dia = first.diastolic >= t.alert_diastolic and second.diastolic >= t.alert_diastolic
    if both_sys:
        values = f"Systolic {first.systolic} at {_hhmm(first.taken_at)} and {second.systolic}"
    elif both_dia:
        values = f"Diastolic {first.diastolic} at {_hhmm(first.taken_at)} and {second.diastolic}"
    else:
        values = f"Blood pressure {_bp(first)} at {_hhmm(first.taken_at)} and {_bp(second)}"
    return (
        f"{values} at {_hhmm(second.taken_at)} (two readings at or above {t.alert_systolic}/"
        f"{t.alert_diastolic}, {t.alert_repeat_minutes}+ minutes apart): sustained high blood "
        f"pressure.{_settings('alert_systolic', 'alert_diastolic', 'alert_repeat_minutes')}"
    )


def session_findings(readings: Sequence[Reading], t: Thresholds) -> list[Finding]:
    """Alerts on every reading of a session (any timepoint), most severe first, then by time.

    One finding per rule per triggering reading, so each can be acknowledged on its own. A reading
    in the critical band is reported as critical only, never also as sustained high: the severe
    band is checked first.
    """
    ordered = sorted(readings, key=lambda r: r.taken_at)
    found: list[Finding] = []

    def add(r: Reading, rule: str, level: Level, message: str, first: Reading | None = None) -> None:
        found.append(Finding(rule, level, message, r.id, first.id if first is not None else None))

    for i, r in enumerate(ordered):
        before, at = ordered[:i], _hhmm(r.taken_at)
        if _critical_bp(r, t):
            add(r, "critical_bp", Level.CRITICAL,
                f"Blood pressure {_bp(r)} at {at} (a single reading at or above "
                f"{t.critical_systolic}/{t.critical_diastolic}): critical blood pressure."
                f"{_settings('critical_systolic', 'critical_diastolic')}")
        elif _high_bp(r, t) and (first := _earlier(before, r, lambda e: _high_bp(e, t), t)):
            add(r, "sustained_high_bp", Level.ALERT, _sustained_bp_message(first, r, t), first)
        if r.heart_rate > t.tachycardia and (
            first := _earlier(before, r, lambda e: e.heart_rate > t.tachycardia, t)
        ):
            add(r, "tachycardia", Level.ALERT,
                f"Heart rate {first.heart_rate} at {_hhmm(first.taken_at)} and {r.heart_rate} at "
                f"{at} (two readings above {t.tachycardia}, {t.alert_repeat_minutes}+ minutes "
                f"apart): sustained fast heart rate."
                f"{_settings('tachycardia', 'alert_repeat_minutes')}", first)
        elif r.heart_rate < t.bradycardia:
            add(r, "bradycardia", Level.ALERT,
                f"Heart rate {r.heart_rate} at {at} (below {t.bradycardia}): slow heart rate."
                f"{_settings('bradycardia')}")
        if r.spo2 is not None and r.spo2 < t.spo2_low:
            add(r, "low_spo2", Level.ALERT,
                f"SpO₂ {r.spo2} % at {at} (below {t.spo2_low} %): low oxygen saturation."
                f"{_settings('spo2_low')}")
    return _most_severe_first(found)


# --- reading schedule -------------------------------------------------------------------------


def _route(route: str) -> Route:
    """The route as a ``Route``; an unknown one is a programming error, not a clinical state."""
    return Route(route)


def due_minutes(route: str, *, during_infusion: bool, t: Thresholds) -> int:
    """Minutes between readings: IV every 10 during the infusion, every 15 otherwise."""
    if _route(route) is Route.IV and during_infusion:
        return t.due_minutes_iv
    return t.due_minutes_other


def _during_infusion(route: str, infusion_ends_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an IV infusion is running at ``now``.

    An IV session whose infusion end is not known yet counts as infusing: the closer schedule is
    the safe side of not knowing.
    """
    if _route(route) is not Route.IV:
        return False
    return infusion_ends_at is None or now < infusion_ends_at


def reading_schedule(
    readings: Sequence[Reading],
    *,
    route: str,
    dosed_at: dt.datetime | None,
    infusion_ends_at: dt.datetime | None,
    discharged_at: dt.datetime | None,
    now: dt.datetime,
    t: Thresholds,
) -> tuple[dt.datetime | None, Finding | None]:
    """When the next reading is due, and a "reading_overdue" finding once ``now`` is past it.

    Due: the later of the last reading and the dose, plus the interval. None before the first dose
    (the baseline is asked for by ``baseline_findings``) and once a discharge is recorded.
    """
    if dosed_at is None or discharged_at is not None:
        return None, None
    last = max([r.taken_at for r in readings] + [dosed_at])
    during = _during_infusion(route, infusion_ends_at, now)
    due = last + dt.timedelta(minutes=due_minutes(route, during_infusion=during, t=t))
    return due, _overdue(due, during=during, now=now, t=t)


def next_due(readings: Sequence[Reading], **schedule) -> dt.datetime | None:
    """When the next reading is due; takes ``reading_schedule``'s arguments."""
    return reading_schedule(readings, **schedule)[0]


def overdue_finding(readings: Sequence[Reading], **schedule) -> Finding | None:
    """The "reading_overdue" finding, or None; takes ``reading_schedule``'s arguments."""
    return reading_schedule(readings, **schedule)[1]


def _overdue(due: dt.datetime, *, during: bool, now: dt.datetime, t: Thresholds) -> Finding | None:
    """A "reading_overdue" finding once ``now`` is past ``due``, naming the interval."""
    if now <= due:
        return None
    late_minutes = int((now - due).total_seconds() // 60)
    late = "less than a minute" if late_minutes < 1 else _minutes(late_minutes)
    if during:
        interval = f"every {t.due_minutes_iv} minutes during the IV infusion"
        setting = "due_minutes_iv"
    else:
        interval = f"every {t.due_minutes_other} minutes"
        setting = "due_minutes_other"
    return Finding(
        "reading_overdue", Level.OVERDUE,
        f"Vitals reading overdue: due at {_hhmm(due)} ({interval}), now {late} late."
        f"{_settings(setting)}",
    )


# --- discharge --------------------------------------------------------------------------------


def observation_minutes(route: str, t: Thresholds) -> int:
    """Minimum observation before discharge for the route (IV: counted from the infusion's end)."""
    return {
        Route.LOZENGE: t.observation_minutes_lozenge,
        Route.IM: t.observation_minutes_im,
        Route.IV: t.observation_minutes_iv,
    }[_route(route)]


def discharge_findings(
    readings: Sequence[Reading],
    *,
    route: str,
    last_dose_at: dt.datetime | None,
    infusion_ends_at: dt.datetime | None,
    at: dt.datetime,
    t: Thresholds,
) -> list[Finding]:
    """Why discharge at ``at`` is not (yet) safe, most severe first; empty when nothing stops it.

    The observation for IV counts from the end of the infusion; if that end is not recorded, the
    remaining time cannot be known and discharge is held until it is.
    """
    found: list[Finding] = []
    kind = _route(route)
    if readings:
        last = max(readings, key=lambda r: r.taken_at)
        if _high_bp(last, t) or _critical_bp(last, t):
            # The alert band normally contains the critical one; name whichever the reading met.
            band = "alert" if _high_bp(last, t) else "critical"
            limit = f"{getattr(t, band + '_systolic')}/{getattr(t, band + '_diastolic')}"
            found.append(Finding(
                "discharge_last_reading_high", Level.ALERT,
                f"The last reading, {_bp(last)} at {_hhmm(last.taken_at)}, is at or above "
                f"{limit}: blood pressure is still high; recheck and have medical staff review "
                f"before discharge.{_settings(band + '_systolic', band + '_diastolic')}",
                last.id,
            ))
    # A discharge set taken before a later booster says nothing about the client now.
    if not any(
        r.timepoint is Timepoint.DISCHARGE and (last_dose_at is None or r.taken_at >= last_dose_at)
        for r in readings
    ):
        found.append(Finding(
            "discharge_no_reading", Level.HOLD,
            "No discharge reading: take a last set of vitals (blood pressure, heart rate, SpO₂) "
            "before the client leaves.",
        ))
    minimum = observation_minutes(kind, t)
    setting = _settings(f"observation_minutes_{kind.value}")
    if kind is Route.IV:
        start, since = infusion_ends_at, "after the end of the IV infusion (ended {})"
        if start is None and last_dose_at is not None:
            found.append(Finding(
                "discharge_too_early", Level.HOLD,
                f"The end of the IV infusion is not recorded: record it so the minimum observation "
                f"of {minimum} minutes after it can be counted.{setting}",
            ))
    else:
        start, since = last_dose_at, "after the last dose (given {})"
    if start is not None and at < (ready := start + dt.timedelta(minutes=minimum)):
        remaining = math.ceil((ready - at).total_seconds() / 60)
        found.append(Finding(
            "discharge_too_early", Level.HOLD,
            f"Too early to discharge: {_minutes(remaining)} of observation "
            f"{'remains' if remaining == 1 else 'remain'}, until "
            f"{_hhmm(ready)} ({kind.label}: at least {minimum} minutes "
            f"{since.format(_hhmm(start))}).{setting}",
        ))
    return _most_severe_first(found)
