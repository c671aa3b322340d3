"""The clinic's clock (kaptracker/clock.py): the only wall-clock read, and right across the days
on which the clocks change, the end of a year and a leap day.

The guard below reads every module of kaptracker/ and tests/ and fails on a direct read of the wall
clock (``datetime.now``, ``date.today``, ``time.time``...) or on the UTC date of an instant
(``utcnow().date()``), which is not the clinic's date for part of every day.
"""

from __future__ import annotations

import ast
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest

from kaptracker import clock as clinic_clock

# Date-sensitive: .ci/run runs this module at a matrix of instants and clinic zones.
pytestmark = pytest.mark.clock_matrix

ROOT = Path(__file__).resolve().parents[1]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
UTC = dt.UTC

# Where the wall clock may be read: the clock itself, and the fixture that moves it.
ALLOWED = {ROOT / "kaptracker" / "clock.py", ROOT / "tests" / "conftest.py"}
WALL_CLOCK_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"),
}
WALL_CLOCK_IMPORTS = {("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime")}


def _name(node: ast.AST) -> str:
    """The last name of ``a.b.c`` (``c``) or of a plain name."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for every direct wall-clock read in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            found += [(node.lineno, f"from {node.module} import {a.name}") for a in node.names
                      if (node.module, a.name) in WALL_CLOCK_IMPORTS]
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner, attr = _name(node.func.value), node.func.attr
        if (owner, attr) in WALL_CLOCK_CALLS:
            found.append((node.lineno, f"{owner}.{attr}()"))
        # The UTC date of now: utcnow().date(), clock.now().date(), now(...).astimezone(UTC).date().
        if attr == "date" and not node.args:
            inner = node.func.value
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr == "astimezone":
                inner = inner.func.value
            if isinstance(inner, ast.Call) and _name(inner.func) in ("utcnow", "now"):
                found.append((node.lineno, f"{_name(inner.func)}().date() (the UTC date, not the clinic's)"))
    return found


def test_nothing_but_the_clock_reads_the_wall_clock():
    offenders = []
    for folder in ("kaptracker", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in ALLOWED or "migrations" in path.parts:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}: {what}"
                          for line, what in wall_clock_reads(path.read_text())]
    assert not offenders, "read the time from kaptracker.clock instead:\n" + "\n".join(offenders)


@pytest.mark.parametrize("source", [
    "import datetime as dt\nx = dt.datetime.now(dt.UTC)",
    "from datetime import date\nx = date.today()",
    "import time\nx = time.time()",
    "from time import time",
    "x = utcnow().date()",
    "x = clock.now().astimezone(dt.UTC).date()",
])
def test_the_guard_sees_each_way_of_reading_the_wall_clock(source):
    assert wall_clock_reads(source)


@pytest.mark.parametrize("source", [
    "x = clock.today()", "x = clock.now()", "import time\nx = time.monotonic()",
    "x = time.perf_counter()", "x = session.occurred_at.date()", "x = clock.date_of(at)",
])
def test_the_guard_lets_the_clock_and_durations_be(source):
    assert not wall_clock_reads(source)


# --- the clock itself -----------------------------------------------------------------------------


def test_now_is_aware_utc_and_moves_with_the_clock_fixture(clock):
    clock.travel("2027-03-14T06:30Z")
    assert clinic_clock.now() == dt.datetime(2027, 3, 14, 6, 30, tzinfo=UTC)
    assert clinic_clock.now().utcoffset() == dt.timedelta(0)
    clock.shift(dt.timedelta(minutes=90))
    assert clinic_clock.now() == dt.datetime(2027, 3, 14, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("instant", "zone", "today", "local_now"), [
    # Evening in New York is already tomorrow in UTC.
    ("2026-12-08T04:59Z", NEW_YORK, dt.date(2026, 12, 7), dt.datetime(2026, 12, 7, 23, 59)),
    ("2026-12-08T05:00Z", NEW_YORK, dt.date(2026, 12, 8), dt.datetime(2026, 12, 8, 0, 0)),
    # Sydney's morning is the day before in UTC.
    ("2026-12-07T20:30Z", SYDNEY, dt.date(2026, 12, 8), dt.datetime(2026, 12, 8, 7, 30)),
    # 23:59 on 31 December in the clinic, 1 January in UTC.
    ("2027-01-01T04:59:30Z", NEW_YORK, dt.date(2026, 12, 31), dt.datetime(2026, 12, 31, 23, 59)),
    # The leap day.
    ("2028-02-29T17:00Z", NEW_YORK, dt.date(2028, 2, 29), dt.datetime(2028, 2, 29, 12, 0)),
    ("2028-03-01T04:59Z", NEW_YORK, dt.date(2028, 2, 29), dt.datetime(2028, 2, 29, 23, 59)),
])
def test_today_and_local_now_are_the_clinics(clock, instant, zone, today, local_now):
    clock.travel(instant)
    assert clinic_clock.today(zone) == today
    assert clinic_clock.local_now(zone) == local_now
    assert clinic_clock.local_now(zone).tzinfo is None  # what a datetime-local field takes


@pytest.mark.parametrize(("day", "zone", "hours"), [
    (dt.date(2027, 3, 14), NEW_YORK, 23),   # clocks forward at 02:00
    (dt.date(2027, 11, 7), NEW_YORK, 25),   # clocks back at 02:00
    (dt.date(2027, 3, 15), NEW_YORK, 24),
    (dt.date(2027, 10, 3), SYDNEY, 23),     # Sydney forward (its spring)
    (dt.date(2027, 4, 4), SYDNEY, 25),
    (dt.date(2028, 2, 29), NEW_YORK, 24),
    (dt.date(2026, 12, 31), NEW_YORK, 24),
    (dt.date(2026, 12, 31), zoneinfo.ZoneInfo("UTC"), 24),
])
def test_a_clinic_day_is_a_utc_range_from_midnight_to_midnight(day, zone, hours):
    start, end = clinic_clock.day_range(day, zone)
    assert end - start == dt.timedelta(hours=hours)
    assert start.tzinfo is not None and start.utcoffset() == dt.timedelta(0)
    assert start.astimezone(zone).replace(tzinfo=None) == dt.datetime.combine(day, dt.time())
    assert end.astimezone(zone).replace(tzinfo=None) == dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    assert clinic_clock.date_of(start, zone) == day
    assert clinic_clock.date_of(end - dt.timedelta(microseconds=1), zone) == day


def test_a_day_that_starts_after_a_skipped_midnight():
    # Havana moved its clocks forward at midnight (13 March 2022): 00:00 never showed.
    havana = zoneinfo.ZoneInfo("America/Havana")
    start, end = clinic_clock.day_range(dt.date(2022, 3, 13), havana)
    assert start.astimezone(havana).replace(tzinfo=None) == dt.datetime(2022, 3, 13, 1, 0)
    assert end - start == dt.timedelta(hours=23)


@pytest.mark.parametrize(("instant", "today"), [
    ("2027-03-14T06:59Z", dt.date(2027, 3, 14)),  # 01:59 EST, before the skipped hour
    ("2027-03-14T07:00Z", dt.date(2027, 3, 14)),  # 03:00 EDT: 02:00-02:59 never shows
    ("2027-03-15T03:59Z", dt.date(2027, 3, 14)),  # 23:59 EDT
    ("2027-03-15T04:00Z", dt.date(2027, 3, 15)),
    ("2027-11-07T05:30Z", dt.date(2027, 11, 7)),  # 01:30 EDT, the first of the two
    ("2027-11-07T06:30Z", dt.date(2027, 11, 7)),  # 01:30 EST, the repeat
    ("2027-11-08T04:59Z", dt.date(2027, 11, 7)),  # 23:59 EST
])
def test_today_across_the_days_the_clocks_change(clock, instant, today):
    clock.travel(instant)
    assert clinic_clock.today(NEW_YORK) == today
    start, end = clinic_clock.today_range(NEW_YORK)
    assert start <= clinic_clock.now() < end


def test_wall_times_in_the_skipped_and_repeated_hours(clock):
    clock.travel("2027-11-07T05:45Z")  # 01:45 EDT, the first pass of the repeated hour
    # 02:30 on the spring-forward day never shows: read with the offset before the change.
    assert clinic_clock.local_to_utc(dt.datetime(2027, 3, 14, 2, 30), NEW_YORK) == dt.datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    # 01:30 on the fall-back day happens twice: during the first pass, the first (EDT).
    assert clinic_clock.local_to_utc(dt.datetime(2027, 11, 7, 1, 30), NEW_YORK) == dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    # Both instants of the repeated hour show as 01:30 on the clinic's wall.
    for utc_hour in (5, 6):
        shown = clinic_clock.utc_to_local(dt.datetime(2027, 11, 7, utc_hour, 30, 12, tzinfo=UTC), NEW_YORK)
        assert shown == dt.datetime(2027, 11, 7, 1, 30)
    assert clinic_clock.at(dt.date(2027, 3, 14), dt.time(12), NEW_YORK) == dt.datetime(2027, 3, 14, 16, 0, tzinfo=UTC)
    assert clinic_clock.at(dt.date(2027, 3, 13), dt.time(12), NEW_YORK) == dt.datetime(2027, 3, 13, 17, 0, tzinfo=UTC)


def test_the_zone_is_the_clinic_setting_and_a_bad_one_is_utc(app, make_user, monkeypatch):
    from kaptracker import settings
    from kaptracker.extensions import db

    admin = make_user("admin")
    settings.change("clinic.timezone", "Australia/Sydney", user=admin, reason="The clinic moved")
    db.session.commit()
    assert clinic_clock.clinic_zone() == SYDNEY
    monkeypatch.setattr(settings, "get", lambda key: "Not/AZone")
    assert clinic_clock.clinic_zone() == zoneinfo.ZoneInfo("UTC")


@pytest.mark.parametrize(("instant", "typed", "meant"), [
    # During the second pass of 01:00-02:00 (EST), a typed 01:10 is twenty minutes ago...
    ("2027-11-07T06:30Z", dt.datetime(2027, 11, 7, 1, 10), dt.datetime(2027, 11, 7, 6, 10, tzinfo=UTC)),
    # ...and 01:33 is "now" on a phone a few minutes fast, not an hour ago.
    ("2027-11-07T06:30Z", dt.datetime(2027, 11, 7, 1, 33), dt.datetime(2027, 11, 7, 6, 33, tzinfo=UTC)),
    # A time beyond that is taken as the first pass (it has happened), not as the future.
    ("2027-11-07T06:30Z", dt.datetime(2027, 11, 7, 1, 50), dt.datetime(2027, 11, 7, 5, 50, tzinfo=UTC)),
    # During the first pass (EDT), the second has not happened yet.
    ("2027-11-07T05:30Z", dt.datetime(2027, 11, 7, 1, 10), dt.datetime(2027, 11, 7, 5, 10, tzinfo=UTC)),
    ("2027-11-07T05:30Z", dt.datetime(2027, 11, 7, 1, 50), dt.datetime(2027, 11, 7, 5, 50, tzinfo=UTC)),
    # A week later, the repeated hour is read as its second pass (the later that has happened).
    ("2027-11-14T12:00Z", dt.datetime(2027, 11, 7, 1, 30), dt.datetime(2027, 11, 7, 6, 30, tzinfo=UTC)),
])
def test_a_time_typed_in_the_repeated_hour_is_the_one_that_has_happened(clock, instant, typed, meant):
    clock.travel(instant)
    assert clinic_clock.local_to_utc(typed, NEW_YORK) == meant


def test_a_stored_time_is_kept_when_its_form_is_saved_again(clock):
    """Re-saving a form shows 01:30 for a time stored as 01:30 EDT; it must not move to EST."""
    clock.travel("2027-11-14T12:00Z")
    stored = dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
    shown = clinic_clock.utc_to_local(stored, NEW_YORK)
    assert shown == dt.datetime(2027, 11, 7, 1, 30)
    assert clinic_clock.local_to_utc(shown, NEW_YORK, keep=stored) == stored
    assert clinic_clock.local_to_utc(shown, NEW_YORK) == stored + dt.timedelta(hours=1)
    # A changed time is read afresh.
    assert clinic_clock.local_to_utc(dt.datetime(2027, 11, 7, 9, 0), NEW_YORK, keep=stored) == dt.datetime(2027, 11, 7, 14, 0, tzinfo=UTC)


def test_times_on_the_wall_keep_true_gaps_across_a_change():
    """The clinical rules get times in the clinic's zone; in a ZoneInfo zone Python subtracts
    wall times (03:00 EDT minus 01:56 EST would be 64 minutes), so they get ``on_wall`` times."""
    before = clinic_clock.on_wall(dt.datetime(2027, 3, 14, 6, 56, tzinfo=UTC), NEW_YORK)  # 01:56 EST
    after = clinic_clock.on_wall(dt.datetime(2027, 3, 14, 7, 0, tzinfo=UTC), NEW_YORK)  # 03:00 EDT
    assert after - before == dt.timedelta(minutes=4)
    assert f"{before:%H:%M}/{after:%H:%M}" == "01:56/03:00"
    assert sorted([after, before]) == [before, after]
    # An hour after 01:30 EDT on the night the clocks go back is 01:30 EST on the wall.
    first = clinic_clock.on_wall(dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC), NEW_YORK)
    later = first + dt.timedelta(hours=1)
    assert later > first and f"{clinic_clock.wall_time(later):%H:%M}" == "01:30"
    assert clinic_clock.wall_time(later).utcoffset() == dt.timedelta(hours=-5)


@pytest.mark.parametrize("instant", ["2027-03-14T07:00Z", "2027-11-07T06:30Z"])
def test_is_after_compares_instants(clock, instant):
    clock.travel(instant)
    wall = clinic_clock.local_now(NEW_YORK)
    assert not clinic_clock.is_after(wall, zone=NEW_YORK)
    assert clinic_clock.is_after(clinic_clock.local_in(dt.timedelta(minutes=3), NEW_YORK), zone=NEW_YORK)
    assert not clinic_clock.is_after(dt.datetime(1, 1, 1), zone=zoneinfo.ZoneInfo("Asia/Tokyo"))
