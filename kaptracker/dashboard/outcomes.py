"""Response and remission across the caseload, by route and by indication, computed in the
database (window functions on both engines): a few queries whatever the number of clients.

The rules are those of :mod:`kaptracker.rules.scales` (baseline = the first baseline-occasion
score, else the first; latest = the last; response = a drop of the set percentage; remission =
below the set total); tests check the SQL against the pure functions on the demo clinic.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Client, ClientIndication, Course, OutcomeScore
from ..rules.scales import Occasion, OutcomeRules, Scale


@dataclasses.dataclass(frozen=True)
class Figure:
    group: str  # route or indication value, or "all"
    scale: Scale
    measured: int  # courses with a baseline and a later score
    responded: int
    remitted: int
    minimum: int

    @property
    def shown_as_rate(self) -> bool:
        return self.measured >= self.minimum

    def rate(self, count: int) -> int | None:
        return round(count * 100 / self.measured) if self.shown_as_rate and self.measured else None


def pairs(rules: OutcomeRules, scope_clause=None):
    """One row per (course, scale) with a baseline and a later score: totals and the verdicts."""
    valid = OutcomeScore.entered_in_error_at.is_(None)
    first = (
        select(OutcomeScore.course_id, OutcomeScore.scale, OutcomeScore.total, OutcomeScore.completed_on,
               OutcomeScore.id,
               func.row_number().over(
                   partition_by=(OutcomeScore.course_id, OutcomeScore.scale),
                   order_by=(case((OutcomeScore.occasion == Occasion.BASELINE, 0), else_=1),
                             OutcomeScore.completed_on, OutcomeScore.id)).label("n"))
        .where(valid).subquery("first_score")
    )
    last = (
        select(OutcomeScore.course_id, OutcomeScore.scale, OutcomeScore.total, OutcomeScore.completed_on,
               OutcomeScore.id,
               func.row_number().over(
                   partition_by=(OutcomeScore.course_id, OutcomeScore.scale),
                   order_by=(OutcomeScore.completed_on.desc(), OutcomeScore.id.desc())).label("n"))
        .where(valid).subquery("last_score")
    )
    remission_below = case(
        (first.c.scale == Scale.PHQ9.value, rules.phq9_remission_below),
        (first.c.scale == Scale.GAD7.value, rules.gad7_remission_below),
        else_=rules.pcl5_cutoff,
    )
    responded = case((and_(first.c.total > 0,
                           (first.c.total - last.c.total) * 100 >= rules.response_drop_percent * first.c.total), 1),
                     else_=0)
    remitted = case((last.c.total < remission_below, 1), else_=0)
    stmt = (
        select(first.c.course_id, first.c.scale, first.c.total.label("baseline"), last.c.total.label("latest"),
               responded.label("responded"), remitted.label("remitted"))
        .join(last, and_(last.c.course_id == first.c.course_id, last.c.scale == first.c.scale, last.c.n == 1))
        .where(first.c.n == 1, last.c.id != first.c.id, last.c.completed_on >= first.c.completed_on)
    )
    return stmt.subquery("pairs")


def figures(rules: OutcomeRules, minimum: int) -> dict[str, list[Figure]]:
    p = pairs(rules)
    course = aliased(Course)
    out: dict[str, list[Figure]] = {"all": [], "route": [], "indication": []}
    groupings = {
        "all": (literal("all"), select().select_from(p)),
        "route": (course.planned_route, select().select_from(p).join(course, course.id == p.c.course_id)),
        "indication": (ClientIndication.indication,
                       select().select_from(p).join(course, course.id == p.c.course_id)
                       .join(ClientIndication, ClientIndication.client_id == course.client_id)),
    }
    for name, (key, base) in groupings.items():
        stmt = base.add_columns(key.label("grp"), p.c.scale, func.count().label("measured"),
                                func.sum(p.c.responded).label("responded"),
                                func.sum(p.c.remitted).label("remitted")).group_by(key, p.c.scale)
        for row in db.session.execute(stmt):
            group = getattr(row.grp, "value", row.grp)
            out[name].append(Figure(str(group), Scale(row.scale), row.measured, int(row.responded or 0),
                                    int(row.remitted or 0), minimum))
        out[name].sort(key=lambda f: (f.group, list(Scale).index(f.scale)))
    return out


def coverage() -> dict[str, int]:
    """How many courses have any score, and how many open courses have none."""
    with_scores = select(OutcomeScore.course_id).where(OutcomeScore.entered_in_error_at.is_(None)).distinct()
    row = db.session.execute(
        select(func.count().label("courses"),
               func.sum(case((Course.id.in_(with_scores), 1), else_=0)).label("scored"))
        .select_from(Course).join(Client, Client.id == Course.client_id)
    ).one()
    return {"courses": row.courses, "scored": int(row.scored or 0)}
