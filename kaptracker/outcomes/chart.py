"""A server-rendered SVG chart of one scale over a course: no JavaScript, prints as it shows.

x: dates from the first score or medicine session to the last; y: the scale's total, 0 to its
maximum, over its severity bands. Medicine sessions are vertical lines marked M1, M2, ...
Drawn wide and narrow, with labels that never overlap, as the vitals chart is (see there).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..chart_labels import FONT, Label, Placer
from ..rules import scales
from ..rules.scales import Scale

# (width, height, left, right, top, bottom) of the two variants: wide where there is room,
# narrow on a phone or in a grid column (the page shows one of them: see app.css).
WIDE = (640, 220, 40, 34, 14, 36)
NARROW = (340, 220, 34, 24, 14, 36)
TICK_SPACING = 64  # viewBox units between date ticks, at the least


@dataclasses.dataclass
class ScaleChart:
    scale: Scale
    width: int
    height: int
    plot: tuple[int, int, int, int]
    bands: list[tuple[str, float, float]]  # css, y, height
    band_labels: list[Label]
    points: list[tuple[float, float, str]]
    flagged: list[tuple[float, float]]
    medicine: list[tuple[float, Label | None, str]]  # x, its label when there is room, title
    x_ticks: list[Label]
    y_ticks: list[Label]
    summary: str
    font: int = FONT
    narrow: ScaleChart | None = None  # the narrow variant of the same chart

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


def build(scale: Scale, scores, medicine_dates: list[dt.date], *, pcl5_cutoff: int = 33) -> ScaleChart | None:
    """``scores``: valid scores of one scale (objects with completed_on, total, self_harm_flag).
    The wide chart, with its narrow variant in ``narrow``."""
    scores = sorted(scores, key=lambda s: s.completed_on)
    if not scores:
        return None
    chart = _draw(scale, scores, medicine_dates, pcl5_cutoff, WIDE)
    chart.narrow = _draw(scale, scores, medicine_dates, pcl5_cutoff, NARROW)
    return chart


def _draw(scale: Scale, scores, medicine_dates, pcl5_cutoff: int, geometry) -> ScaleChart:
    width, height, left, right, top, bottom = geometry
    plot_right, plot_bottom = width - right, height - bottom
    spec = scale.spec
    dates = [s.completed_on for s in scores] + list(medicine_dates)
    first, last = min(dates), max(dates)
    span = max((last - first).days, 14)

    def x(day: dt.date) -> float:
        return left + (day - first).days / span * (plot_right - left)

    def y(value: float) -> float:
        return top + (spec.maximum - value) / spec.maximum * (plot_bottom - top)

    labels = Placer(width, height)
    # Axes first (every total, the dates that fit), then the medicine sessions, then the bands.
    y_step = {27: 5, 21: 5, 80: 10}[spec.maximum]
    y_ticks = labels.place_all([Label(left - 6, y(v) + 4.5, str(v), "end")
                                for v in range(0, spec.maximum + 1, y_step)])
    most = max(2, int((plot_right - left) // TICK_SPACING))
    step = next((s for s in (7, 14, 28, 56, 91, 182, 365, 730) if span / s <= most), 730)
    x_ticks = labels.place_all([Label(x(first + dt.timedelta(days=d)), plot_bottom + 21,
                                      f"{first + dt.timedelta(days=d):%d %b}", "middle")
                                for d in range(0, span + 1, step)])
    medicine = []
    for n, d in enumerate(sorted(medicine_dates), start=1):
        text = f"M{n}"
        medicine.append((x(d), labels.place(*(
            candidate for level in range(5) for candidate in (
                Label(x(d) + 3, top + 13 + 15 * level, text), Label(x(d) - 3, top + 13 + 15 * level, text, "end"))
        )), f"Medicine session {n}, {d:%d %b %Y}"))
    bands, band_labels = [], []
    band_list = (
        [scales.band(scale, 0, pcl5_cutoff=pcl5_cutoff), scales.band(scale, spec.maximum, pcl5_cutoff=pcl5_cutoff)]
        if scale is Scale.PCL5 else list(spec.bands)
    )
    for band in band_list:
        band_top, band_bottom = y(band.high + (1 if band.high < spec.maximum else 0)), y(band.low)
        bands.append((f"sev-{band.severity}", band_top, band_bottom - band_top))
        placed = labels.place(Label(plot_right - 4, band_top + 13, band.label, "end"),
                              Label((left + plot_right) / 2, band_top + 13, band.label, "middle"),
                              Label(left + 4, band_top + 13, band.label))
        if placed:
            band_labels.append(placed)
    points = [(x(s.completed_on), y(s.total), f"{s.total} ({scales.band(scale, s.total, pcl5_cutoff=pcl5_cutoff).label}) "
               f"on {s.completed_on:%d %b %Y}") for s in scores]
    flagged = [(x(s.completed_on), y(s.total)) for s in scores if s.self_harm_flag]
    summary = (f"{spec.label}: {len(scores)} score(s) from {scores[0].completed_on:%d %b %Y} "
               f"({scores[0].total}) to {scores[-1].completed_on:%d %b %Y} ({scores[-1].total}); "
               f"{len(medicine_dates)} medicine session(s) marked.")
    return ScaleChart(scale, width, height, (left, top, plot_right, plot_bottom), bands, band_labels, points,
                      flagged, medicine, x_ticks, y_ticks, summary)
