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
from collections.abc import Callable

# The zone used when the setting cannot be read (no application context, or a bad stored name).
FALLBACK_ZONE = "UTC"


def now() -> dt.datetime:
    """The current instant, aware, in UTC (the only wall-clock read in the tracker)."""
    return dt.datetime.now(dt.UTC)


# Where the clinic's zone name is read from: kaptracker.settings registers its reader when it is
# imported (the clock sits below the settings and the models, so it cannot import them).
_zone_name: Callable[[], str] | None = None


def read_zone_from(reader: Callable[[], str]) -> None:
    """Take the clinic's time-zone name from ``reader`` (kaptracker.settings)."""
    global _zone_name
    _zone_name = reader


def clinic_zone() -> zoneinfo.ZoneInfo:
    """The clinic's time zone (setting ``clinic.timezone``); UTC if it cannot be read.

    The reader must never flush the session: asking the time between two assignments to a record
    (``course.end_reason = ...; course.ended_on = clock.today()``) must not write half of them.
    """
    try:
        return zoneinfo.ZoneInfo(_zone_name())
    except Exception:  # no reader, a bad stored zone, or no application: never take a page down
        return zoneinfo.ZoneInfo(FALLBACK_ZONE)


class _WallOffset(dt.tzinfo):
    """The clinic's UTC offset at one instant, remembering the zone it came from.

    A datetime in a ``ZoneInfo`` zone does wall-clock arithmetic with another in the same zone:
    03:00 EDT minus 01:56 EST is 64 minutes, not 4, on the morning the clocks go forward. One in
    a fixed offset compares and subtracts as the instant it is, and still prints the wall time.
    """

    def __init__(self, offset: dt.timedelta, zone: dt.tzinfo):
        self.offset, self.zone = offset, zone

    def utcoffset(self, moment):
        return self.offset

    def dst(self, moment):
        return None

    def tzname(self, moment):
        return str(self.zone)


def on_wall(moment: dt.datetime, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """An instant shown in the clinic's zone that still does instant arithmetic (see
    ``_WallOffset``): what the clinical rules are given, so their gaps and orderings are true on
    a DST day and the times they quote are the wall times on the page."""
    moment = local(moment, zone)
    return moment.replace(tzinfo=_WallOffset(moment.utcoffset(), moment.tzinfo))


def wall_time(moment: dt.datetime) -> dt.datetime:
    """A datetime from ``on_wall`` (or arithmetic on one) as the clinic's wall shows it: 60 minutes
    after 01:30 EDT on the night the clocks go back is 01:30 EST, not 02:30."""
    zone = getattr(moment.tzinfo, "zone", None)
    return moment.astimezone(zone) if zone is not None else moment


def local(moment: dt.datetime, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """An aware instant as an aware date-time on the clinic's wall (naive values are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone or clinic_zone())


def local_to_utc(value: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None, *,
                 keep: dt.datetime | None = None) -> dt.datetime | None:
    """A naive date-time typed in the clinic's zone, as an aware UTC date-time.

    A time in the hour skipped when the clocks go forward is read with the offset before the
    change (02:30 on the day New York springs forward is 07:30 UTC, i.e. 03:30 EDT). A time in
    the hour repeated when they go back names two instants. Times typed into a clinical record
    are times that have happened, so the later of the two is meant if it is not in the future
    (give or take the 5 minutes a typed "now" may run ahead), otherwise the earlier. A nurse
    typing 01:10 during the second 01:00-02:00 means twenty minutes ago, not eighty; during the
    first pass she cannot mean the second.
    ``keep`` is the value already stored: when the typed time is what the form showed for it,
    that instant is kept, so re-saving a form never moves a time typed during the repeated hour.
    """
    if value is None:
        return None
    zone = zone or clinic_zone()
    if keep is not None and utc_to_local(keep, zone) == value.replace(second=0, microsecond=0):
        return keep.astimezone(dt.UTC) if keep.tzinfo else keep.replace(tzinfo=dt.UTC)
    first = value.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    second = value.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    if first == second or second < first:  # an ordinary time, or one in the skipped hour
        return first
    return second if second <= now() + dt.timedelta(minutes=5) else first


def utc_to_local(value: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime | None:
    """An aware UTC date-time as a naive one in the clinic's zone, to the minute (for form fields)."""
    if value is None:
        return None
    return local(value, zone).replace(tzinfo=None, second=0, microsecond=0)


def local_now(zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """The clinic's wall time now, naive, to the minute (what a form's date-time field shows)."""
    return utc_to_local(now(), zone)


def local_in(delta: dt.timedelta, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    """The clinic's wall time ``delta`` from now, naive, to the minute. The arithmetic is done on
    the instant, not on the wall: two hours before 04:30 on the morning the clocks go forward is
    01:30, not the 02:30 that never happened."""
    return utc_to_local(now() + delta, zone)


def is_after(typed: dt.datetime, delta: dt.timedelta = dt.timedelta(0),
             zone: zoneinfo.ZoneInfo | None = None) -> bool:
    """Whether a naive date-time typed in the clinic's zone is later than now + ``delta``
    (compared as instants, so the repeated hour in autumn is not an hour in the future)."""
    try:
        return local_to_utc(typed, zone) > now() + delta
    except OverflowError:  # beyond what a date-time holds once moved to UTC: 0001 or 9999
        return typed.year > now().year


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
