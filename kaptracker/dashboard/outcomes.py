"""Response and remission across the caseload, by route and by indication: a few GROUP BY
queries over one row per course and scale, whatever the number of scores.

Each course's baseline and latest score per scale are chosen by :mod:`kaptracker.rules.scales`
when its scores change and stored in ``course_outcome``; response (a drop of the set percentage)
and remission (below the set total) are judged here with the settings in force. Tests check the
figures against the pure rules applied course by course.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Client, ClientIndication, Course, CourseOutcome
from ..rules.scales import OutcomeRules, Scale


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


def pairs(rules: OutcomeRules, sites: tuple[int, ...] | None = None):
    """One row per (course, scale) with a baseline and a later score (``course_outcome``, kept
    by kaptracker.rollup): totals and the verdicts under the settings in force."""
    o = CourseOutcome
    remission_below = case(
        (o.scale == Scale.PHQ9.value, rules.phq9_remission_below),
        (o.scale == Scale.GAD7.value, rules.gad7_remission_below),
        else_=rules.pcl5_cutoff,
    )
    responded = case((and_(o.baseline_total > 0,
                           (o.baseline_total - o.latest_total) * 100 >= rules.response_drop_percent * o.baseline_total),
                      1), else_=0)
    remitted = case((o.latest_total < remission_below, 1), else_=0)
    return (
        select(o.course_id, o.scale, o.baseline_total.label("baseline"), o.latest_total.label("latest"),
               responded.label("responded"), remitted.label("remitted"))
        .where(o.measured.is_(True), *_at_sites(o.course_id, sites))
        .subquery("pairs")
    )


def _at_sites(course_id, sites: tuple[int, ...] | None) -> tuple:
    """The condition keeping the courses of clients at ``sites`` (none for every site)."""
    if sites is None:
        return ()
    return (course_id.in_(select(Course.id).join(Client, Client.id == Course.client_id)
                          .where(Client.home_site_id.in_(sites))),)


def figures(rules: OutcomeRules, minimum: int, sites: tuple[int, ...] | None = None) -> dict[str, list[Figure]]:
    """Response and remission by route and indication, of the clients at ``sites`` (every site: None)."""
    p = pairs(rules, sites)
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


def coverage(sites: tuple[int, ...] | None = None) -> dict[str, int]:
    """How many courses there are (of clients at ``sites``), and how many have any valid score."""
    courses = db.session.scalar(select(func.count()).select_from(Course).where(*_at_sites(Course.id, sites)))
    scored = db.session.scalar(select(func.count(func.distinct(CourseOutcome.course_id)))
                               .where(*_at_sites(CourseOutcome.course_id, sites)))
    return {"courses": courses or 0, "scored": scored or 0}
