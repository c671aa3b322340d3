"""A server-rendered SVG chart of a session's vitals: no JavaScript, prints as it shows.

x: minutes from the first dose (or from the first reading when there is no dose yet);
y: one scale for mmHg and beats per minute, 40 to 220. Threshold bands are drawn behind the
lines and the dosing time is a vertical line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from ..rules.vitals import Reading, Thresholds

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
Y_MIN, Y_MAX = 40, 220


@dataclasses.dataclass
class Series:
    name: str
    css: str
    points: list[tuple[float, float, str]]  # x, y, label for the point's title

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


@dataclasses.dataclass
class Chart:
    width: int
    height: int
    series: list[Series]
    bands: list[tuple[str, float, float, str]]  # css, y top, height, label
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    dose_marks: list[tuple[float, str]]
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    summary: str


def _y(value: float) -> float:
    value = max(Y_MIN, min(Y_MAX, value))
    return TOP + (Y_MAX - value) / (Y_MAX - Y_MIN) * (HEIGHT - TOP - BOTTOM)


def build(readings: list[Reading], doses: list[dt.datetime], t: Thresholds, fmt) -> Chart | None:
    """``fmt`` formats a datetime for labels (the clinic's time zone)."""
    if not readings:
        return None
    origin = min(doses) if doses else readings[0].taken_at
    minutes = [(r.taken_at - origin).total_seconds() / 60 for r in readings]
    dose_minutes = [(d - origin).total_seconds() / 60 for d in doses]
    low = min([0.0, *minutes, *dose_minutes])
    high = max([low + 30.0, *minutes, *dose_minutes])
    span = high - low

    def x(m: float) -> float:
        return LEFT + (m - low) / span * (WIDTH - LEFT - RIGHT)

    def series(name, css, attr):
        return Series(name, css, [
            (x(m), _y(getattr(r, attr)), f"{name} {getattr(r, attr)} at {fmt(r.taken_at)}")
            for m, r in zip(minutes, readings, strict=True)
        ])

    bands = []
    for css, bottom, top, label in (
        ("band-caution", t.caution_systolic, t.hold_systolic, f"caution {t.caution_systolic}+"),
        ("band-hold", t.hold_systolic, t.alert_systolic, f"hold {t.hold_systolic}+"),
        ("band-alert", t.alert_systolic, t.critical_systolic, f"alert {t.alert_systolic}+"),
        ("band-critical", t.critical_systolic, Y_MAX, f"critical {t.critical_systolic}+"),
    ):
        if bottom < top:
            bands.append((css, _y(top), _y(bottom) - _y(top), label))
    # About a dozen ticks whatever the span: a reading typed with a wrong date (years away) must
    # not make millions of them.
    step = next((s for s in (10, 30, 60, 120, 240, 480, 720, 1440) if span / s <= 12), None)
    if step is None:
        step = math.ceil(span / 12 / 1440) * 1440
    first = int(low // step * step)
    x_ticks = [(x(m), f"{m:+d}" if m else "0") for m in range(first, int(high) + 1, step) if m >= low]
    y_ticks = [(_y(v), str(v)) for v in range(Y_MIN, Y_MAX + 1, 20)]
    return Chart(
        WIDTH, HEIGHT,
        [series("Systolic", "line-systolic", "systolic"), series("Diastolic", "line-diastolic", "diastolic"),
         series("Heart rate", "line-heart", "heart_rate")],
        bands, x_ticks, y_ticks,
        [(x(m), fmt(d)) for m, d in zip(dose_minutes, doses, strict=True)],
        (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM),
        f"{len(readings)} readings from {fmt(readings[0].taken_at)} to {fmt(readings[-1].taken_at)}; "
        f"highest {max(r.systolic for r in readings)}/{max(r.diastolic for r in readings)} mmHg, "
        f"heart rate {min(r.heart_rate for r in readings)}-{max(r.heart_rate for r in readings)}.",
    )
