"""The clinic's clock: the one place in the tracker that reads the wall clock.

Every view, rule caller, form, generator and command asks this module for "now" (an aware UTC
instant) and for "today" (the date on the clinic's wall, in its configured time zone). Nothing else
calls ``datetime.now``, ``date.today`` or ``time.time`` (tests/test_clock.py scans for it), so the
tests can move the whole tracker to any instant with time-machine (the ``clock`` fixture and
``KAPTRACKER_TEST_NOW`` in tests/conftest.py).

Clinic days are turned into UTC ranges with zoneinfo from the two local midnights, never by
adding 24 hours: a day on which the clocks change lasts 23 or 25 hours.
Durations (how long a request or a backup took) are measured with ``time.monotonic`` or
``time.perf_counter`` where they are timed; those are not the wall clock and may stay there.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

# The zone used when the setting cannot be read (no application context, or a bad stored name).
FALLBACK_ZONE = "UTC"


def now() -> dt.datetime:
    """The current instant, aware, in UTC (the only wall-clock read in the tracker)."""
    return dt.datetime.now(dt.UTC)


def clinic_zone() -> zoneinfo.ZoneInfo:
    """The clinic's time zone (setting ``clinic.timezone``); UTC if it cannot be read.

    Reading it never flushes the session: asking the time between two assignments to a record
    (``course.end_reason = ...; course.ended_on = clock.today()``) must not write half of them.
    """
    from . import settings
    from .extensions import db

    try:
        with db.session.no_autoflush:
            return zoneinfo.ZoneInfo(settings.get("clinic.timezone"))
    except Exception:  # a bad stored zone, or no application: never take a page down
        return zoneinfo.ZoneInfo(FALLBACK_ZONE)


def local(moment: dt.datetime, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """An aware instant as an aware date-time on the clinic's wall (naive values are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone or clinic_zone())


def local_to_utc(value: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime | None:
    """A naive date-time typed in the clinic's zone, as an aware UTC date-time.

    A time in the hour skipped when the clocks go forward is read with the offset before the
    change (02:30 on the day New York springs forward is 07:30 UTC, i.e. 03:30 EDT); in the hour
    repeated when they go back, the first of the two (``fold=0``), as zoneinfo does.
    """
    if value is None:
        return None
    return value.replace(tzinfo=zone or clinic_zone()).astimezone(dt.UTC)


def utc_to_local(value: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime | None:
    """An aware UTC date-time as a naive one in the clinic's zone, to the minute (for form fields)."""
    if value is None:
        return None
    return local(value, zone).replace(tzinfo=None, second=0, microsecond=0)


def local_now(zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """The clinic's wall time now, naive, to the minute (what a form's date-time field shows)."""
    return utc_to_local(now(), zone)


def today(zone: zoneinfo.ZoneInfo | None = None) -> dt.date:
    """The clinic's date now (not the UTC date: at 21:00 in New York it is already tomorrow in UTC)."""
    return date_of(now(), zone)


def date_of(moment: dt.datetime, zone: zoneinfo.ZoneInfo | None = None) -> dt.date:
    """The clinic's date at an instant."""
    return local(moment, zone).date()


def at(day: dt.date, time: dt.time, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """The UTC instant of a wall time on a clinic date (see :func:`local_to_utc` for DST gaps)."""
    return local_to_utc(dt.datetime.combine(day, time), zone)


def day_start(day: dt.date, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """The first instant (UTC) of a clinic date: its local midnight.

    Where the clocks go forward at midnight (00:00 never shows), the offset before the change puts
    the start at the first wall time that does, 01:00.
    """
    return at(day, dt.time(), zone)


def day_range(day: dt.date, zone: zoneinfo.ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """A clinic date as the UTC range [start, end): 23, 24 or 25 hours long."""
    zone = zone or clinic_zone()
    return day_start(day, zone), day_start(day + dt.timedelta(days=1), zone)


def today_range(zone: zoneinfo.ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Today in the clinic as a UTC range [start, end)."""
    zone = zone or clinic_zone()
    return day_range(today(zone), zone)
