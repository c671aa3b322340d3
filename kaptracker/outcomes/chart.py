"""A server-rendered SVG chart of one scale over a course: no JavaScript, prints as it shows.

x: dates from the first score or medicine session to the last; y: the scale's total, 0 to its
maximum, over its severity bands. Medicine sessions are vertical lines marked M1, M2, ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..rules import scales
from ..rules.scales import Scale

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 34, 14, 36


@dataclasses.dataclass
class ScaleChart:
    scale: Scale
    width: int
    height: int
    plot: tuple[int, int, int, int]
    bands: list[tuple[str, float, float, str]]  # css, y, height, label
    points: list[tuple[float, float, str]]
    flagged: list[tuple[float, float]]
    medicine: list[tuple[float, str, str]]  # x, short label, title
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    summary: str

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


def build(scale: Scale, scores, medicine_dates: list[dt.date], *, pcl5_cutoff: int = 33) -> ScaleChart | None:
    """``scores``: valid scores of one scale (objects with completed_on, total, self_harm_flag)."""
    scores = sorted(scores, key=lambda s: s.completed_on)
    if not scores:
        return None
    spec = scale.spec
    dates = [s.completed_on for s in scores] + list(medicine_dates)
    first, last = min(dates), max(dates)
    span = max((last - first).days, 14)

    def x(day: dt.date) -> float:
        return LEFT + (day - first).days / span * (WIDTH - LEFT - RIGHT)

    def y(value: float) -> float:
        return TOP + (spec.maximum - value) / spec.maximum * (HEIGHT - TOP - BOTTOM)

    bands = []
    band_list = (
        [scales.band(scale, 0, pcl5_cutoff=pcl5_cutoff), scales.band(scale, spec.maximum, pcl5_cutoff=pcl5_cutoff)]
        if scale is Scale.PCL5 else list(spec.bands)
    )
    for band in band_list:
        top, bottom = y(band.high + (1 if band.high < spec.maximum else 0)), y(band.low)
        bands.append((f"sev-{band.severity}", top, bottom - top, band.label))
    points = [(x(s.completed_on), y(s.total), f"{s.total} ({scales.band(scale, s.total, pcl5_cutoff=pcl5_cutoff).label}) "
               f"on {s.completed_on:%d %b %Y}") for s in scores]
    flagged = [(x(s.completed_on), y(s.total)) for s in scores if s.self_harm_flag]
    medicine = [(x(d), f"M{n}", f"Medicine session {n}, {d:%d %b %Y}")
                for n, d in enumerate(sorted(medicine_dates), start=1)]
    step = next(s for s in (7, 14, 28, 56, 91, 182, 365, 730) if span / s <= 8)
    x_ticks = [(x(first + dt.timedelta(days=d)), f"{first + dt.timedelta(days=d):%d %b}")
               for d in range(0, span + 1, step)]
    y_step = {27: 5, 21: 5, 80: 10}[spec.maximum]
    y_ticks = [(y(v), str(v)) for v in range(0, spec.maximum + 1, y_step)]
    summary = (f"{spec.label}: {len(scores)} score(s) from {scores[0].completed_on:%d %b %Y} "
               f"({scores[0].total}) to {scores[-1].completed_on:%d %b %Y} ({scores[-1].total}); "
               f"{len(medicine_dates)} medicine session(s) marked.")
    return ScaleChart(scale, WIDTH, HEIGHT, (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM), bands, points,
                      flagged, medicine, x_ticks, y_ticks, summary)
