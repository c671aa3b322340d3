"""Where a server-rendered SVG chart may put its text so that no two labels overlap.

The charts (vitals/chart.py, outcomes/chart.py) are drawn on the server, with no browser to
measure text; so a label's box is estimated from its length at a generous average glyph width
(system-ui at most ~0.6 em for digits and lower case), and each label is given candidate
positions in order of preference. A label takes the first candidate that stays inside the chart
and clear of every label placed before it; one with no free candidate is left out (a tick
among many, or a threshold whose band also shows in colour and in the page's text).
"""

from __future__ import annotations

import dataclasses

# Font size in viewBox units. Each chart has a wide and a narrow variant, and the page shows the
# one whose width it can display at 12/13 scale or more: 13 units then render at >= 12 px.
FONT = 13
_GLYPH = 0.62  # average advance per character, in em: generous, so estimated boxes never undershoot
_ASCENT, _DESCENT = 0.82, 0.26  # of the font size, above and below the baseline
_GAP = 2.0  # units of clear space kept around each label


@dataclasses.dataclass(frozen=True)
class Label:
    """A <text>: its anchor point (x, baseline y), text and text-anchor."""

    x: float
    y: float
    text: str
    anchor: str = "start"

    def box(self, size: float = FONT) -> tuple[float, float, float, float]:
        width = len(self.text) * _GLYPH * size
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        return left, self.y - _ASCENT * size, left + width, self.y + _DESCENT * size


def _clash(a, b) -> bool:
    return (a[0] - _GAP < b[2] and b[0] - _GAP < a[2]) and (a[1] - _GAP < b[3] and b[1] - _GAP < a[3])


class Placer:
    """Places labels one by one inside a width x height chart, never over one already placed."""

    def __init__(self, width: float, height: float, size: float = FONT) -> None:
        self.width, self.height, self.size = width, height, size
        self.boxes: list[tuple[float, float, float, float]] = []

    def place(self, *candidates: Label) -> Label | None:
        """The first candidate that fits, now taken; None when none does."""
        for label in candidates:
            box = label.box(self.size)
            inside = box[0] >= 0 and box[2] <= self.width and box[1] >= 0 and box[3] <= self.height
            if inside and not any(_clash(box, other) for other in self.boxes):
                self.boxes.append(box)
                return label
        return None

    def place_all(self, labels: list[Label]) -> list[Label]:
        """Each label at its one position, those that fit (ticks: the others are thinned out)."""
        return [placed for label in labels if (placed := self.place(label))]
