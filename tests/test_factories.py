"""The factories build what the app would: a medicine session of each route in each state is
one the app's own rules accept (its dose in range, nothing missing to sign it), and a reading
raises the alerts the vitals rules raise."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import factories
from kaptracker.courses import service as courses
from kaptracker.services.sessions import sign_problems
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, DosingSession, SafetyAlert


@pytest.mark.parametrize("state", factories.MEDICINE_STATES)
@pytest.mark.parametrize("route", ["im", "iv", "lozenge"])
def test_a_medicine_session_of_each_route_in_each_state(clinic, route, state):
    course = factories.ready(clinic, planned_route=route)
    clinical = factories.medicine(clinic, course, state=state)
    db.session.expire_all()
    clinical = db.session.get(DosingSession, clinical.id)
    assert clinical.route.value == route
    assert bool(clinical.administrations) == (state != "draft")
    if clinical.administrations:
        assert courses.dose_check(clinical).in_range
    assert (clinical.discharged_at is not None) == (state in ("discharged", "signed"))
    assert clinical.is_signed == (state == "signed")
    if state == "discharged":
        assert sign_problems(clinical) == []
        assert clinic.sign(clinic.medical, clinical.id).status_code == 302  # the app signs it as it is


def test_a_reading_raises_the_alerts_of_the_vitals_rules(clinic):
    clinical = factories.medicine(clinic, factories.ready(clinic), state="draft")
    factories.reading(clinical, clinic.medical, "205/100", 80)  # critical: 200 or more
    alerts = db.session.scalars(sa.select(SafetyAlert).where(SafetyAlert.session_id == clinical.id)).all()
    assert [a.rule for a in alerts] == ["critical_bp"] and alerts[0].message
    [event] = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.record_type == "vitals", AuditEvent.action == AuditAction.CREATE,
        AuditEvent.detail.like("%alert(s) raised"))).all()
    assert event.user_id == clinic.medical.id
