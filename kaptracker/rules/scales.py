"""Outcome measures: PHQ-9, GAD-7 and PCL-5, their items, totals, bands, flags and what is due.

Pure functions (no database). Bands and cut-offs are from CLINICAL.md, "Outcome measures"; the
response and remission rules are settings (see rules/settings.py, group "Outcome measures").
The three questionnaires are in the public domain (PHQ-9 and GAD-7: Pfizer, no permission needed;
PCL-5: US National Center for PTSD).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Sequence

from .labels import LabelledEnum


class Scale(enum.StrEnum):
    PHQ9 = "phq9"
    GAD7 = "gad7"
    PCL5 = "pcl5"

    @property
    def spec(self) -> ScaleSpec:
        return SCALES[self]

    @property
    def label(self) -> str:
        return SCALES[self].label


class Occasion(LabelledEnum):
    BASELINE = "baseline", "Baseline (screening)"  # at screening, before any medicine session
    PRE_SESSION = "pre_session", "Before a medicine session"  # before medicine session n
    FOLLOW_UP = "follow_up", "Follow-up"  # after the last medicine session


@dataclasses.dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str
    severity: int  # 0 (none) .. 4, for colour


@dataclasses.dataclass(frozen=True)
class ScaleSpec:
    scale: str
    label: str
    title: str
    stem: str
    items: tuple[str, ...]
    answers: tuple[str, ...]  # answer labels, index = score
    bands: tuple[Band, ...]
    clusters: tuple[tuple[str, int, int], ...] = ()  # (label, first item, last item), 1-based
    flag_item: int | None = None  # 1-based item whose answer > 0 is flagged whatever the total

    @property
    def item_max(self) -> int:
        return len(self.answers) - 1

    @property
    def maximum(self) -> int:
        return self.item_max * len(self.items)


_FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")

PHQ9 = ScaleSpec(
    "phq9", "PHQ-9", "Patient Health Questionnaire (depression)",
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    (
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    _FREQUENCY,
    (Band(0, 4, "Minimal", 0), Band(5, 9, "Mild", 1), Band(10, 14, "Moderate", 2),
     Band(15, 19, "Moderately severe", 3), Band(20, 27, "Severe", 4)),
    flag_item=9,
)

GAD7 = ScaleSpec(
    "gad7", "GAD-7", "Generalised Anxiety Disorder scale",
    "Over the last 2 weeks, how often have you been bothered by the following problems?",
    (
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ),
    _FREQUENCY,
    (Band(0, 4, "Minimal", 0), Band(5, 9, "Mild", 1), Band(10, 14, "Moderate", 2),
     Band(15, 21, "Severe", 4)),
)

PCL5 = ScaleSpec(
    "pcl5", "PCL-5", "PTSD Checklist for DSM-5",
    "In the past month, how much were you bothered by:",
    (
        "Repeated, disturbing, and unwanted memories of the stressful experience",
        "Repeated, disturbing dreams of the stressful experience",
        "Suddenly feeling or acting as if the stressful experience were actually happening again",
        "Feeling very upset when something reminded you of the stressful experience",
        "Having strong physical reactions when something reminded you of the stressful experience",
        "Avoiding memories, thoughts, or feelings related to the stressful experience",
        "Avoiding external reminders of the stressful experience",
        "Trouble remembering important parts of the stressful experience",
        "Having strong negative beliefs about yourself, other people, or the world",
        "Blaming yourself or someone else for the stressful experience or what happened after it",
        "Having strong negative feelings such as fear, horror, anger, guilt, or shame",
        "Loss of interest in activities that you used to enjoy",
        "Feeling distant or cut off from other people",
        "Trouble experiencing positive feelings",
        "Irritable behavior, angry outbursts, or acting aggressively",
        "Taking too many risks or doing things that could cause you harm",
        "Being \u201csuperalert\u201d or watchful or on guard",
        "Feeling jumpy or easily startled",
        "Having difficulty concentrating",
        "Trouble falling or staying asleep",
    ),
    ("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"),
    (Band(0, 32, "Below the probable-PTSD cut-off", 1), Band(33, 80, "Probable PTSD", 4)),
    clusters=(("B: intrusion", 1, 5), ("C: avoidance", 6, 7),
              ("D: negative cognitions and mood", 8, 14), ("E: arousal and reactivity", 15, 20)),
)

SCALES: dict[Scale, ScaleSpec] = {Scale.PHQ9: PHQ9, Scale.GAD7: GAD7, Scale.PCL5: PCL5}


def item_problems(scale: Scale, answers: Sequence[int | None]) -> dict[int, str]:
    """{1-based item: message} for every unanswered or impossible answer; empty when complete."""
    spec = scale.spec
    problems = {}
    for number in range(1, len(spec.items) + 1):
        value = answers[number - 1] if number <= len(answers) else None
        if value is None:
            problems[number] = "Choose an answer for this item."
        elif not 0 <= value <= spec.item_max:
            problems[number] = f"Answers run from 0 to {spec.item_max}."
    return problems


def total(scale: Scale, answers: Sequence[int]) -> int:
    if item_problems(scale, answers) or len(answers) != len(scale.spec.items):
        raise ValueError(f"{scale.label} needs {len(scale.spec.items)} answers from 0 to {scale.spec.item_max}")
    return sum(answers)


def band(scale: Scale, score: int, *, pcl5_cutoff: int = 33) -> Band:
    spec = scale.spec
    if scale is Scale.PCL5:  # the cut-off is a setting
        return (Band(0, pcl5_cutoff - 1, spec.bands[0].label, 1) if score < pcl5_cutoff
                else Band(pcl5_cutoff, spec.maximum, spec.bands[1].label, 4))
    for candidate in spec.bands:
        if candidate.low <= score <= candidate.high:
            return candidate
    raise ValueError(f"{score} is outside {spec.label}'s range 0-{spec.maximum}")


def self_harm_flag(scale: Scale, answers: Sequence[int]) -> bool:
    """PHQ-9 item 9 (thoughts of being better off dead or of self-harm) above 0, whatever the total."""
    item = scale.spec.flag_item
    return item is not None and len(answers) >= item and (answers[item - 1] or 0) > 0


def cluster_totals(scale: Scale, answers: Sequence[int]) -> list[tuple[str, int, int]]:
    """(cluster label, subtotal, maximum) for scales with clusters (PCL-5)."""
    spec = scale.spec
    return [(label, sum(answers[first - 1:last]), spec.item_max * (last - first + 1))
            for label, first, last in spec.clusters]


# --- response and remission --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OutcomeRules:
    response_drop_percent: int = 50
    phq9_remission_below: int = 5
    gad7_remission_below: int = 5
    pcl5_cutoff: int = 33

    @classmethod
    def from_settings(cls, values) -> OutcomeRules:
        return cls(
            response_drop_percent=int(values["outcomes.response_drop_percent"]),
            phq9_remission_below=int(values["outcomes.phq9_remission_below"]),
            gad7_remission_below=int(values["outcomes.gad7_remission_below"]),
            pcl5_cutoff=int(values["outcomes.pcl5_cutoff"]),
        )

    def remission_below(self, scale: Scale) -> int:
        return {Scale.PHQ9: self.phq9_remission_below, Scale.GAD7: self.gad7_remission_below,
                Scale.PCL5: self.pcl5_cutoff}[scale]


@dataclasses.dataclass(frozen=True)
class Point:
    on: dt.date
    total: int
    occasion: Occasion


@dataclasses.dataclass(frozen=True)
class Outcome:
    scale: Scale
    baseline: Point | None
    latest: Point | None
    change_percent: int | None  # negative = improvement
    responded: bool
    remitted: bool

    @property
    def measured(self) -> bool:
        """Baseline and at least one later score: response and remission can be judged."""
        return self.baseline is not None and self.latest is not None and self.latest is not self.baseline

    def sentence(self, rules: OutcomeRules) -> str:
        label = self.scale.label
        if self.baseline is None:
            return f"{label}: no baseline score yet, so response cannot be judged."
        if not self.measured:
            return f"{label}: baseline {self.baseline.total}; no later score yet."
        assert self.latest is not None and self.change_percent is not None
        change = (f"down {-self.change_percent} %" if self.change_percent < 0
                  else f"up {self.change_percent} %" if self.change_percent > 0 else "unchanged")
        parts = [f"{label}: {self.baseline.total} at baseline, {self.latest.total} on "
                 f"{self.latest.on:%d %b %Y} ({change})."]
        parts.append(f"Response (a drop of {rules.response_drop_percent} % or more): "
                     f"{'yes' if self.responded else 'no'}.")
        if self.scale is Scale.PCL5:
            parts.append(f"Below the probable-PTSD cut-off of {rules.pcl5_cutoff}: "
                         f"{'yes' if self.remitted else 'no'}.")
        else:
            parts.append(f"Remission (below {rules.remission_below(self.scale)}): "
                         f"{'yes' if self.remitted else 'no'}.")
        return " ".join(parts)


def outcome(scale: Scale, points: Iterable[Point], rules: OutcomeRules) -> Outcome:
    """Baseline = the first baseline-occasion score (else the first score); latest = the last."""
    ordered = sorted(points, key=lambda p: p.on)
    if not ordered:
        return Outcome(scale, None, None, None, False, False)
    baseline = next((p for p in ordered if p.occasion is Occasion.BASELINE), ordered[0])
    later = [p for p in ordered if p.on >= baseline.on and p is not baseline]
    latest = later[-1] if later else baseline
    if latest is baseline:
        return Outcome(scale, baseline, baseline, None, False, False)
    return judge(scale, baseline, latest, rules)


def judge(scale: Scale, baseline: Point, latest: Point, rules: OutcomeRules) -> Outcome:
    if baseline.total == 0:
        change = 0 if latest.total == 0 else 100
    else:
        change = round((latest.total - baseline.total) * 100 / baseline.total)
    responded = baseline.total > 0 and (baseline.total - latest.total) * 100 >= (
        rules.response_drop_percent * baseline.total)
    remitted = latest.total < rules.remission_below(scale)
    return Outcome(scale, baseline, latest, change, responded, remitted)


# --- what is expected ----------------------------------------------------------------------------


def expected_scales(indications: Iterable[str]) -> tuple[Scale, ...]:
    """PHQ-9 and GAD-7 for everyone; PCL-5 where trauma is an indication (DESIGN.md)."""
    if "ptsd" in set(indications):
        return (Scale.PHQ9, Scale.GAD7, Scale.PCL5)
    return (Scale.PHQ9, Scale.GAD7)


@dataclasses.dataclass(frozen=True)
class Due:
    scale: Scale
    occasion: Occasion
    session_number: int | None  # for PRE_SESSION: before medicine session n

    @property
    def label(self) -> str:
        if self.occasion is Occasion.PRE_SESSION:
            return f"{self.scale.label} before medicine session {self.session_number}"
        if self.occasion is Occasion.BASELINE:
            return f"{self.scale.label} at baseline"
        return f"{self.scale.label} at follow-up"


@dataclasses.dataclass(frozen=True)
class Recorded:
    scale: Scale
    occasion: Occasion
    session_number: int | None


def due(
    *,
    indications: Iterable[str],
    recorded: Iterable[Recorded],
    medicine_given: int,
    planned: int,
    course_open: bool,
    completed: bool,
    ready_for_medicine: bool = True,
) -> list[Due]:
    """Scores expected now and not yet recorded: baseline from the start; before the next medicine
    session while more are planned; follow-up once every planned session is given (or the course is
    completed). A discontinued course expects nothing more."""
    if not course_open and not completed:
        return []
    have = {(r.scale, r.occasion, r.session_number if r.occasion is Occasion.PRE_SESSION else None)
            for r in recorded}
    wanted: list[Due] = []
    for scale in expected_scales(indications):
        if course_open:
            wanted.append(Due(scale, Occasion.BASELINE, None))
            if medicine_given < planned and (medicine_given > 0 or ready_for_medicine):
                wanted.append(Due(scale, Occasion.PRE_SESSION, medicine_given + 1))
        if medicine_given >= planned or completed:
            wanted.append(Due(scale, Occasion.FOLLOW_UP, None))
    return [d for d in wanted if (d.scale, d.occasion, d.session_number) not in have]
