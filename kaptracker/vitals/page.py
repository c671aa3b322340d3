"""What the vitals pages show: a session's page (one :class:`VitalsPage`, the template reads
``page``) and the rows of today's list."""

from __future__ import annotations

import dataclasses
import zoneinfo
from typing import Any

from sqlalchemy import or_, select, union
from sqlalchemy.orm import joinedload, selectinload

from ..scope import listing_clause
from ..extensions import db
from ..models import (
    Client,
    ClinicalSession,
    Course,
    DosingSession,
    SafetyAlert,
    SafetyOverride,
    SessionKind,
    Site,
    VitalSign,
    utcnow,
)
from ..rules import vitals as rules
from ..rules.access import Permission, may
from ..rules.vitals import Finding, Reading, Thresholds
from .. import clock, settings
from ..templating import localtime
from . import chart, service
from .forms import AcknowledgeForm, EnteredInErrorForm, OverrideForm, VitalsForm


@dataclasses.dataclass
class VitalsPage:
    session: ClinicalSession
    course: Course
    client: Client
    vitals: list[VitalSign]  # every reading, entered-in-error ones too
    readings: list[Reading]  # what the rules see
    baseline: Reading | None
    alerts: list[SafetyAlert]  # open ones, to acknowledge
    all_alerts: list[SafetyAlert]
    overrides: list[SafetyOverride]
    thresholds: Thresholds
    chart: Any
    form: VitalsForm
    override_form: OverrideForm
    error_form: EnteredInErrorForm
    ack_form: AcknowledgeForm
    writable: bool
    may_record: bool
    may_ack: bool
    may_override: bool
    # Medicine sessions only:
    gate: service.DoseGate | None = None
    times: service.DoseTimes | None = None
    next_due: Any = None
    overdue: Finding | None = None
    discharge_findings: list[Finding] = dataclasses.field(default_factory=list)
    discharge_override: SafetyOverride | None = None
    rule_labels: dict[str, str] = dataclasses.field(default_factory=lambda: rules.RULE_LABELS)


def fresh_form(clinical: ClinicalSession, vitals: list[VitalSign]) -> VitalsForm:
    """The entry form for the next reading: now, at the timepoint that comes next."""
    form = VitalsForm()
    form.taken_at.data = clock.local_now()
    form.timepoint.data = service.suggested_timepoint(clinical, vitals).value
    return form


def _alert_history(clinical: ClinicalSession) -> list[SafetyAlert]:
    return list(db.session.scalars(
        select(SafetyAlert).where(SafetyAlert.session_id == clinical.id)
        .options(joinedload(SafetyAlert.acknowledged_by)).order_by(SafetyAlert.raised_at)
    ))


def build(clinical: ClinicalSession, user, *, form: VitalsForm | None = None,
          override_form: OverrideForm | None = None) -> VitalsPage:
    """The page of ``clinical``'s vitals as ``user`` sees it; a form sent back keeps its messages."""
    vitals = service.readings_of(clinical)
    readings = service.as_rule_readings(vitals)
    overrides = service.overrides_of(clinical)
    dosing = isinstance(clinical, DosingSession)
    t = service.thresholds_now(clinical.site_id)
    given = [a.given_at for a in clinical.administrations] if dosing else []
    page = VitalsPage(
        session=clinical, course=clinical.course, client=clinical.course.client,
        vitals=vitals, readings=readings, baseline=service.baseline(readings),
        alerts=service.open_alerts([clinical.id]), all_alerts=_alert_history(clinical), overrides=overrides,
        thresholds=t, chart=chart.build(readings, given, t, lambda d: localtime(d, "%H:%M")),
        form=form or fresh_form(clinical, vitals), override_form=override_form or OverrideForm(),
        error_form=EnteredInErrorForm(), ack_form=AcknowledgeForm(), writable=service.writable(clinical),
        may_record=may(user.role, Permission.RECORD_VITALS), may_ack=may(user.role, Permission.ACKNOWLEDGE_ALERT),
        may_override=may(user.role, Permission.OVERRIDE_SAFETY),
    )
    if dosing:
        page.times = service.dose_times(clinical)
        page.gate = service.dose_gate(clinical, vitals, overrides)
        page.next_due, page.overdue = service.schedule(clinical, vitals)
        if page.times.first_dose_at and not clinical.discharged_at:
            page.discharge_findings, page.discharge_override = service.discharge_gate(
                clinical, vitals, overrides, utcnow())
    return page




def todays_sessions(user, limit: int) -> tuple[list[DosingSession], bool]:
    """The most recent ``limit`` medicine sessions in ``user``'s scope (today's, then earlier ones
    not discharged), oldest first, and whether there were more: across a network there can be
    thousands of sessions nobody discharged."""
    sessions = list(db.session.scalars(
        select(DosingSession)
        .join(Course, DosingSession.course_id == Course.id)
        .join(Client, Course.client_id == Client.id)
        .where(listing_clause(user), Course.end_reason.is_(None),
               DosingSession.id.in_(union(  # two indexed paths rather than an OR across tables
                   select(ClinicalSession.id).where(ClinicalSession.kind == SessionKind.DOSING,
                                                    *_since_midnight()),
                   select(DosingSession.__table__.c.id).where(DosingSession.discharged_at.is_(None)))))
        .options(joinedload(DosingSession.course).joinedload(Course.client), joinedload(DosingSession.site),
                 selectinload(DosingSession.administrations))
        .order_by(DosingSession.occurred_at.desc(), DosingSession.id.desc())
        .limit(limit + 1)
    ))
    return sessions[:limit][::-1], len(sessions) > limit


def _since_midnight() -> list:
    """Conditions on a session's time: since midnight on its site's wall. A page in one zone has
    one midnight; across sites in several zones, each site's own (the earliest of them bounds
    the index range)."""
    if settings.page_zone_name() is not None:
        return [ClinicalSession.occurred_at >= clock.today_range()[0]]
    by_zone: dict[str, list[int]] = {}
    for site_id, zone in db.session.execute(select(Site.id, Site.time_zone)):  # a handful of rows
        by_zone.setdefault(zone, []).append(site_id)
    if len(by_zone) < 2:
        return [ClinicalSession.occurred_at >= clock.today_range()[0]]
    starts = {name: clock.today_range(zoneinfo.ZoneInfo(name))[0] for name in by_zone}
    return [ClinicalSession.occurred_at >= min(starts.values()),
            or_(*(ClinicalSession.site_id.in_(ids) & (ClinicalSession.occurred_at >= starts[name])
                  for name, ids in by_zone.items()))]


def today_rows(sessions: list[DosingSession]) -> list[dict]:
    """Per session: its last reading, when the next is due (or overdue) and its open alerts."""
    vitals_by_session: dict[int, list[VitalSign]] = {s.id: [] for s in sessions}
    if sessions:
        for v in db.session.scalars(select(VitalSign).where(VitalSign.session_id.in_(vitals_by_session))
                                    .order_by(VitalSign.taken_at, VitalSign.id)):
            vitals_by_session[v.session_id].append(v)
    alerts = service.open_alerts(vitals_by_session)
    rows = []
    for s in sessions:
        readings = service.as_rule_readings(vitals_by_session[s.id])
        next_due, overdue = service.schedule(s, vitals_by_session[s.id])
        rows.append({"session": s, "last": readings[-1] if readings else None, "next_due": next_due,
                     "overdue": overdue, "alerts": [a for a in alerts if a.session_id == s.id]})
    return rows


__all__ = ["VitalsPage", "build", "fresh_form", "today_rows", "todays_sessions"]
