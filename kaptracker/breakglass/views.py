"""Emergency ("break-glass") access: a therapist or medical staff member opens a client outside
their caseload, in an emergency, by the client's record number and a reason. Access lasts at
most an hour (a setting), every page opened meanwhile is flagged in the audit trail, and
supervisors see each grant on their worklist."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import disclosures, settings
from ..access import requires
from ..auditing import BREAK_GLASS_FLAG, record, listed
from ..extensions import db
from ..forms import Form, max_length, no_control_characters, stripped
from ..models import AuditAction, BreakGlassGrant, Client, utcnow
from ..rules.access import Permission
from ..templating import localtime
from . import bp


class BreakGlassForm(Form):
    record_number = StringField(
        "Client's record number", filters=[stripped],
        validators=[DataRequired("Enter the client's record number, for example KAP-1024."), max_length(32),
                    no_control_characters],
        description="Exactly as on the client's record; names are not searched here.",
    )
    reason = TextAreaField(
        "Why you need this record now", filters=[stripped],
        validators=[DataRequired("Write why you need emergency access."),
                    Length(min=20, max=2000, message="Write at least 20 characters (and at most 2000): "
                           "what the emergency is and why the client's own team cannot help."),
                    no_control_characters],
        description="Supervisors read this. For example: the client is at the front desk in crisis "
                    "and their therapist is away today.",
    )
    submit = SubmitField("Open the record for an hour")


def _active_grants():
    return list(db.session.scalars(
        select(BreakGlassGrant).where(BreakGlassGrant.user_id == current_user.id,
                                      BreakGlassGrant.expires_at > utcnow())
        .options(joinedload(BreakGlassGrant.client)).order_by(BreakGlassGrant.expires_at.desc())
    ))


@bp.route("/emergency-access", methods=["GET", "POST"])
@requires(Permission.BREAK_GLASS)
def request_access():
    form = BreakGlassForm()
    minutes = settings.get("access.break_glass_minutes")
    if form.validate_on_submit():
        client = db.session.scalars(
            select(Client).where(Client.record_number == form.record_number.data)).first()
        if client is None:
            form.record_number.errors.append("No client has this record number. Check it on the "
                                             "client's card or letter.")
        else:
            now = utcnow()
            grant = BreakGlassGrant(user_id=current_user.id, client_id=client.id, reason=form.reason.data,
                                    granted_at=now, expires_at=now + dt.timedelta(minutes=minutes))
            db.session.add(grant)
            db.session.flush()
            record(AuditAction.CREATE, "break_glass", grant.id, client_id=client.id,
                   detail=f"{BREAK_GLASS_FLAG} granted for {minutes} minutes: {form.reason.data}")
            disclosures.disclose("break_glass", client_id=client.id, purpose=disclosures.EMERGENCY,
                                 record_type="break_glass", record_id=grant.id, reason=form.reason.data,
                                 what=f"the whole record opened outside the care team for {minutes} minutes")
            db.session.commit()
            flash(f"Emergency access to this record until {localtime(grant.expires_at, '%H:%M')}. "
                  "Every page you open is flagged in the audit trail and shown to supervisors.", "error")
            return redirect(url_for("clients.show", client_id=client.id))
    status = 422 if form.is_submitted() else 200
    grants = _active_grants()
    listed(g.client_id for g in grants)  # the page names the clients opened
    return render_template("breakglass/request.html", form=form, minutes=minutes,
                           grants=grants), status
