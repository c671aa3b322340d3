"""PHQ-9, GAD-7 and PCL-5: totals, bands (CLINICAL.md), the item-9 flag, response, remission, due."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptracker.rules import scales
from kaptracker.rules.scales import Occasion, OutcomeRules, Point, Recorded, Scale

RULES = OutcomeRules()


@pytest.mark.parametrize(("scale", "score", "label"), [
    (Scale.PHQ9, 0, "Minimal"), (Scale.PHQ9, 4, "Minimal"), (Scale.PHQ9, 5, "Mild"),
    (Scale.PHQ9, 9, "Mild"), (Scale.PHQ9, 10, "Moderate"), (Scale.PHQ9, 14, "Moderate"),
    (Scale.PHQ9, 15, "Moderately severe"), (Scale.PHQ9, 19, "Moderately severe"),
    (Scale.PHQ9, 20, "Severe"), (Scale.PHQ9, 27, "Severe"),
    (Scale.GAD7, 4, "Minimal"), (Scale.GAD7, 5, "Mild"), (Scale.GAD7, 10, "Moderate"),
    (Scale.GAD7, 14, "Moderate"), (Scale.GAD7, 15, "Severe"), (Scale.GAD7, 21, "Severe"),
    (Scale.PCL5, 32, "Below the probable-PTSD cut-off"), (Scale.PCL5, 33, "Probable PTSD"),
    (Scale.PCL5, 80, "Probable PTSD"),
])
def test_bands_follow_clinical_md(scale, score, label):
    assert scales.band(scale, score).label == label


def test_pcl5_cutoff_is_a_setting():
    assert scales.band(Scale.PCL5, 31, pcl5_cutoff=31).label == "Probable PTSD"
    assert scales.band(Scale.PCL5, 30, pcl5_cutoff=31).label.startswith("Below")


def test_items_answers_and_maxima():
    assert (len(Scale.PHQ9.spec.items), Scale.PHQ9.spec.maximum) == (9, 27)
    assert (len(Scale.GAD7.spec.items), Scale.GAD7.spec.maximum) == (7, 21)
    assert (len(Scale.PCL5.spec.items), Scale.PCL5.spec.maximum) == (20, 80)
    assert scales.total(Scale.PHQ9, [3] * 9) == 27
    with pytest.raises(ValueError):
        scales.total(Scale.PHQ9, [3] * 8)
    with pytest.raises(ValueError):
        scales.total(Scale.PHQ9, [4] + [0] * 8)
    with pytest.raises(ValueError):
        scales.band(Scale.PHQ9, 28)


def test_item_problems_name_each_item():
    problems = scales.item_problems(Scale.GAD7, [0, None, 5, 1, 1, 1])
    assert set(problems) == {2, 3, 7}
    assert "0 to 3" in problems[3]


def test_item_9_flags_whatever_the_total():
    answers = [0] * 8 + [1]
    assert scales.total(Scale.PHQ9, answers) == 1  # minimal...
    assert scales.self_harm_flag(Scale.PHQ9, answers)  # ...and flagged
    assert not scales.self_harm_flag(Scale.PHQ9, [3] * 8 + [0])
    assert not scales.self_harm_flag(Scale.GAD7, [3] * 7)


def test_pcl5_clusters():
    answers = list(range(5)) * 4
    clusters = scales.cluster_totals(Scale.PCL5, answers)
    assert [c[0][0] for c in clusters] == ["B", "C", "D", "E"]
    assert sum(c[1] for c in clusters) == sum(answers)
    assert [c[2] for c in clusters] == [20, 8, 28, 24]


def _p(day, total, occasion=Occasion.PRE_SESSION):
    return Point(dt.date(2026, 1, day), total, occasion)


def test_response_is_a_drop_of_half_or_more_and_remission_below_five():
    out = scales.outcome(Scale.PHQ9, [_p(1, 20, Occasion.BASELINE), _p(10, 12), _p(20, 10)], RULES)
    assert (out.baseline.total, out.latest.total, out.change_percent) == (20, 10, -50)
    assert out.responded and not out.remitted
    out = scales.outcome(Scale.PHQ9, [_p(1, 20, Occasion.BASELINE), _p(20, 11)], RULES)
    assert not out.responded
    out = scales.outcome(Scale.PHQ9, [_p(1, 20, Occasion.BASELINE), _p(20, 4)], RULES)
    assert out.responded and out.remitted
    assert "Remission (below 5): yes" in out.sentence(RULES)


def test_baseline_is_the_baseline_occasion_else_the_first_score():
    out = scales.outcome(Scale.GAD7, [_p(1, 8), _p(3, 16, Occasion.BASELINE), _p(9, 6)], RULES)
    assert out.baseline.total == 16 and out.latest.total == 6
    out = scales.outcome(Scale.GAD7, [_p(5, 12), _p(9, 3)], RULES)
    assert out.baseline.total == 12 and out.remitted


def test_a_single_score_judges_nothing():
    out = scales.outcome(Scale.PHQ9, [_p(1, 12, Occasion.BASELINE)], RULES)
    assert not out.measured and not out.responded and not out.remitted
    assert "no later score" in out.sentence(RULES)
    assert "no baseline" in scales.outcome(Scale.PHQ9, [], RULES).sentence(RULES)


def test_response_threshold_is_a_setting():
    rules = OutcomeRules(response_drop_percent=40)
    assert scales.outcome(Scale.PHQ9, [_p(1, 20, Occasion.BASELINE), _p(9, 12)], rules).responded


def test_what_is_due():
    due = scales.due(indications=["depression"], recorded=[], medicine_given=0, planned=3,
                     course_open=True, completed=False)
    assert [d.label for d in due] == ["PHQ-9 at baseline", "PHQ-9 before medicine session 1",
                                      "GAD-7 at baseline", "GAD-7 before medicine session 1"]
    recorded = [Recorded(Scale.PHQ9, Occasion.BASELINE, None), Recorded(Scale.GAD7, Occasion.BASELINE, None),
                Recorded(Scale.PHQ9, Occasion.PRE_SESSION, 2)]
    due = scales.due(indications=["ptsd"], recorded=recorded, medicine_given=1, planned=3,
                     course_open=True, completed=False)
    assert [d.label for d in due] == ["GAD-7 before medicine session 2", "PCL-5 at baseline",
                                      "PCL-5 before medicine session 2"]
    due = scales.due(indications=[], recorded=recorded, medicine_given=3, planned=3,
                     course_open=True, completed=False)
    assert [d.label for d in due] == ["PHQ-9 at follow-up", "GAD-7 at follow-up"]
    assert scales.due(indications=[], recorded=[], medicine_given=1, planned=3,
                      course_open=False, completed=False) == []
    # Not yet cleared for medicine: nothing before session 1 yet.
    due = scales.due(indications=[], recorded=[], medicine_given=0, planned=3, course_open=True,
                     completed=False, ready_for_medicine=False)
    assert [d.label for d in due] == ["PHQ-9 at baseline", "GAD-7 at baseline"]
