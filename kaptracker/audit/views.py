"""Searching the audit trail (supervisors and admins). Read-only: no route changes an event."""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import paging
from ..access import requires
from ..auditing import listed, shown
from ..extensions import db
from ..models import AuditAction, AuditEvent, Client, User
from ..rules.access import Permission, Role
from .. import clock
from . import bp

RECORD_TYPES = ("client", "client_list", "user", "setting", "route")
MAX_INT = 2**31 - 1  # ids and page numbers beyond an integer column's range are ignored


def _positive_int(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_INT:
        raise ValueError(value)
    return number


def _date_arg(name: str) -> tuple[dt.date | None, str | None]:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None, None
    try:
        date = dt.date.fromisoformat(raw)
    except ValueError:
        return None, "Enter a date like 2026-03-31."
    if not 1900 <= date.year <= 9998:  # a day either side must stay within Python's dates
        return None, "Enter a date between the years 1900 and 9998."
    return date, None


@bp.route("/")
@requires(Permission.VIEW_AUDIT)
def index():
    errors: dict[str, str] = {}
    stmt = select(AuditEvent).options(joinedload(AuditEvent.user))
    args: dict = {}

    user_id = request.args.get("user", type=_positive_int)
    if user_id:
        stmt = stmt.where(AuditEvent.user_id == user_id)
        args["user"] = user_id
    action = request.args.get("action", "")
    if action in AuditAction._value2member_map_:
        stmt = stmt.where(AuditEvent.action == action)
        args["action"] = action
    record_type = request.args.get("record_type", "")
    if record_type in RECORD_TYPES:
        stmt = stmt.where(AuditEvent.record_type == record_type)
        args["record_type"] = record_type
    client = None
    client_id = request.args.get("client", type=_positive_int)
    if client_id:
        stmt = stmt.where(AuditEvent.client_id == client_id)
        args["client"] = client_id
        if current_user.role == Role.SUPERVISOR:  # admins open no clinical record
            client = db.session.get(Client, client_id)

    start, errors_start = _date_arg("from")
    end, errors_end = _date_arg("to")
    if errors_start:
        errors["from"] = errors_start
    if errors_end:
        errors["to"] = errors_end
    if start and end and end < start:
        errors["to"] = "The end date is before the start date."
    if start and "from" not in errors:
        stmt = stmt.where(AuditEvent.at >= clock.day_start(start))
        args["from"] = start.isoformat()
    if end and "to" not in errors:
        stmt = stmt.where(
            AuditEvent.at < clock.day_start(end + dt.timedelta(days=1))
        )
        args["to"] = end.isoformat()

    # Newest first by id (an index on each filter ends in id); the count stops at 10,000.
    count_stmt = select(AuditEvent.id)
    if stmt.whereclause is not None:
        count_stmt = count_stmt.where(stmt.whereclause)
    page = paging.paginate(
        stmt.order_by(AuditEvent.id.desc()),
        page=request.args.get("page", 1, type=_positive_int) or 1,
        per_page=current_app.config["AUDIT_PER_PAGE"],
        count_stmt=count_stmt,
    )
    client_numbers = {}
    if current_user.role == Role.SUPERVISOR:
        ids = {e.client_id for e in page.items if e.client_id}
        if ids:
            # Not dict(result): a Result has keys(), so dict() would take it for a mapping.
            client_numbers = {
                cid: number
                for cid, number in db.session.execute(
                    select(Client.id, Client.record_number).where(Client.id.in_(ids))
                )
            }
        listed(client_numbers, "audit_trail")  # the page shows their record numbers
    if client is not None:
        shown("audit_trail", None, client_id=client.id)  # the client's whole trail, name on top
    users = db.session.execute(select(User.id, User.name).order_by(User.name)).all()
    return render_template(
        "audit/index.html", page=page, args=args, errors=errors, users=users,
        actions=list(AuditAction), record_types=RECORD_TYPES, client=client,
        client_numbers=client_numbers, raw=request.args,
    )
