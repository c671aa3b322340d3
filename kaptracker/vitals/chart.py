"""A server-rendered SVG chart of a session's vitals: no JavaScript, prints as it shows.

x: minutes from the first dose (or from the first reading when there is no dose yet);
y: one scale for mmHg and beats per minute, 40 to 220. Threshold bands are drawn behind the
lines and the dosing time is a vertical line.

Two variants of each chart are drawn, wide and narrow, so that its text renders at 12 px or more
on a laptop and on a phone alike; labels are placed so that none overlaps another
(kaptracker/chart_labels.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from ..chart_labels import FONT, Label, Placer
from ..rules.vitals import Reading, Thresholds

# (width, height, left, right, top, bottom) of the two variants: wide for a laptop or a tablet,
# narrow for a phone (the page shows one of them, by the width it has: see app.css).
WIDE = (760, 320, 48, 16, 16, 46)
NARROW = (360, 300, 40, 14, 14, 46)
Y_MIN, Y_MAX = 40, 220
TICK_SPACING = 56  # viewBox units between x ticks, at the least


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
    bands: list[tuple[str, float, float]]  # css, y top, height
    band_labels: list[Label]
    x_ticks: list[Label]
    y_ticks: list[tuple[float, Label]]  # grid line y, its label
    axis_label: Label
    dose_marks: list[tuple[float, Label | None]]  # x, its label when there is room
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    summary: str
    font: int = FONT
    narrow: Chart | None = None  # the phone's variant of the same chart


def build(readings: list[Reading], doses: list[dt.datetime], t: Thresholds, fmt) -> Chart | None:
    """``fmt`` formats a datetime for labels (the clinic's time zone). The wide chart, with its
    narrow variant in ``narrow``."""
    if not readings:
        return None
    chart = _draw(readings, doses, t, fmt, WIDE)
    chart.narrow = _draw(readings, doses, t, fmt, NARROW)
    return chart


def _draw(readings, doses, t: Thresholds, fmt, geometry) -> Chart:
    width, height, left, right, top, bottom = geometry
    plot_right, plot_bottom = width - right, height - bottom
    origin = min(doses) if doses else readings[0].taken_at
    minutes = [(r.taken_at - origin).total_seconds() / 60 for r in readings]
    dose_minutes = [(d - origin).total_seconds() / 60 for d in doses]
    low = min([0.0, *minutes, *dose_minutes])
    high = max([low + 30.0, *minutes, *dose_minutes])
    span = high - low

    def x(m: float) -> float:
        return left + (m - low) / span * (plot_right - left)

    def y(value: float) -> float:
        value = max(Y_MIN, min(Y_MAX, value))
        return top + (Y_MAX - value) / (Y_MAX - Y_MIN) * (plot_bottom - top)

    def series(name, css, attr):
        return Series(name, css, [
            (x(m), y(getattr(r, attr)), f"{name} {getattr(r, attr)} at {fmt(r.taken_at)}")
            for m, r in zip(minutes, readings, strict=True)
        ])

    labels = Placer(width, height)
    # Axes first (every y tick, the x ticks that fit), then the dose times, then the bands.
    y_ticks = [(y(v), Label(left - 6, y(v) + 4.5, str(v), "end")) for v in range(Y_MIN, Y_MAX + 1, 20)]
    labels.place_all([label for _, label in y_ticks])
    # At most one tick per TICK_SPACING units whatever the span: a reading typed with a wrong
    # date (years away) must not make millions of them.
    most = max(2, int((plot_right - left) // TICK_SPACING))
    step = next((s for s in (10, 15, 30, 60, 120, 240, 480, 720, 1440) if span / s <= most), None)
    if step is None:
        step = math.ceil(span / most / 1440) * 1440
    first = int(low // step * step)
    x_ticks = labels.place_all([Label(x(m), plot_bottom + 21, f"{m:+d}" if m else "0", "middle")
                                for m in range(first, int(high) + 1, step) if m >= low])
    axis_label = Label((left + plot_right) / 2, plot_bottom + 40, "minutes from the first dose", "middle")
    labels.place(axis_label)
    dose_marks = []
    for m, d in zip(dose_minutes, doses, strict=True):
        text = f"dose {fmt(d)}"
        dose_marks.append((x(m), labels.place(*(
            candidate for level in range(4) for candidate in (
                Label(x(m) + 4, top + 14 + 16 * level, text), Label(x(m) - 4, top + 14 + 16 * level, text, "end"))
        ))))
    bands, band_labels = [], []
    for css, low_value, high_value, text in (
        ("band-caution", t.caution_systolic, t.hold_systolic, f"caution {t.caution_systolic}+"),
        ("band-hold", t.hold_systolic, t.alert_systolic, f"hold {t.hold_systolic}+"),
        ("band-alert", t.alert_systolic, t.critical_systolic, f"alert {t.alert_systolic}+"),
        ("band-critical", t.critical_systolic, Y_MAX, f"critical {t.critical_systolic}+"),
    ):
        if low_value < high_value:
            band_top = y(high_value)
            bands.append((css, band_top, y(low_value) - band_top))
            placed = labels.place(Label(plot_right - 4, band_top + 14, text, "end"),
                                  Label((left + plot_right) / 2, band_top + 14, text, "middle"),
                                  Label(left + 4, band_top + 14, text))
            if placed:
                band_labels.append(placed)
    return Chart(
        width, height,
        [series("Systolic", "line-systolic", "systolic"), series("Diastolic", "line-diastolic", "diastolic"),
         series("Heart rate", "line-heart", "heart_rate")],
        bands, band_labels, x_ticks, y_ticks, axis_label, dose_marks,
        (left, top, plot_right, plot_bottom),
        f"{len(readings)} readings from {fmt(readings[0].taken_at)} to {fmt(readings[-1].taken_at)}; "
        f"highest {max(r.systolic for r in readings)}/{max(r.diastolic for r in readings)} mmHg, "
        f"heart rate {min(r.heart_rate for r in readings)}-{max(r.heart_rate for r in readings)}.",
    )
