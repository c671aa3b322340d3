"""Searching the audit trail (supervisors and admins). Read-only: no route changes an event."""

from __future__ import annotations

import dataclasses
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
from ..scope import audit_clause, audited_client_clause, audited_site_rows
from .. import clock
from . import bp

RECORD_TYPES = ("client", "client_list", "user", "setting", "route")
MAX_INT = 2**31 - 1  # ids and page numbers beyond an integer column's range are ignored


def _positive_int(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_INT:
        raise ValueError(value)
    return number


def _date_arg(query, name: str) -> tuple[dt.date | None, str | None]:
    raw = query.get(name, "").strip()
    if not raw:
        return None, None
    try:
        date = dt.date.fromisoformat(raw)
    except ValueError:
        return None, "Enter a date like 2026-03-31."
    if not 1900 <= date.year <= 9998:  # a day either side must stay within Python's dates
        return None, "Enter a date between the years 1900 and 9998."
    return date, None


@dataclasses.dataclass
class AuditSearch:
    """The trail's filters as read from the query string: the conditions, the arguments kept for
    the pager's links, and a message beside each filter that could not be read."""

    see_clients: bool
    conditions: list = dataclasses.field(default_factory=list)
    args: dict = dataclasses.field(default_factory=dict)
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    client: Client | None = None

    @classmethod
    def from_args(cls, query, user) -> AuditSearch:
        """The search ``user`` makes: cut to the sites they read the trail of (scope.audit_clause);
        supervisors see the clients' record numbers, administrators only their ids."""
        see_clients = user.role == Role.SUPERVISOR
        search = cls(see_clients=see_clients, conditions=[audit_clause(user)])
        user_id = query.get("user", type=_positive_int)
        if user_id:
            search._keep("user", user_id, AuditEvent.user_id == user_id)
        action = query.get("action", "")
        if action in AuditAction._value2member_map_:
            search._keep("action", action, AuditEvent.action == action)
        record_type = query.get("record_type", "")
        if record_type in RECORD_TYPES:
            search._keep("record_type", record_type, AuditEvent.record_type == record_type)
        client_id = query.get("client", type=_positive_int)
        if client_id:
            search._keep("client", client_id, AuditEvent.client_id == client_id)
            if see_clients:  # admins open no clinical record; nor the trail of another site's client
                search.client = db.session.scalar(
                    select(Client).where(Client.id == client_id, audited_client_clause(user)))
        search._dates(query)
        return search

    def _keep(self, name: str, value, condition) -> None:
        self.args[name] = value
        self.conditions.append(condition)

    def _dates(self, query) -> None:
        start, problem = _date_arg(query, "from")
        if problem:
            self.errors["from"] = problem
        end, problem = _date_arg(query, "to")
        if problem:
            self.errors["to"] = problem
        if start and end and end < start:
            self.errors["to"] = "The end date is before the start date."
        if start and "from" not in self.errors:
            self._keep("from", start.isoformat(), AuditEvent.at >= clock.day_start(start))
        if end and "to" not in self.errors:
            self._keep("to", end.isoformat(), AuditEvent.at < clock.day_start(end + dt.timedelta(days=1)))

    def statement(self):
        """Newest first by id (an index on each filter ends in id)."""
        return (select(AuditEvent).options(joinedload(AuditEvent.user)).where(*self.conditions)
                .order_by(AuditEvent.id.desc()))

    def count_statement(self):
        """The pager's count (it stops at 10,000)."""
        return select(AuditEvent.id).where(*self.conditions)


def record_numbers(events, user) -> dict[int, str]:
    """The record numbers of the clients the events name (supervisors see them, of the clients
    whose trail they read)."""
    ids = {e.client_id for e in events if e.client_id}
    if not ids:
        return {}
    # Not dict(result): a Result has keys(), so dict() would take it for a mapping.
    return {cid: number for cid, number in db.session.execute(
        select(Client.id, Client.record_number).where(Client.id.in_(ids), audited_client_clause(user)))}


@bp.route("/")
@requires(Permission.VIEW_AUDIT)
def index():
    search = AuditSearch.from_args(request.args, current_user)
    page = paging.paginate(
        search.statement(), page=request.args.get("page", 1, type=_positive_int) or 1,
        per_page=current_app.config["AUDIT_PER_PAGE"], count_stmt=search.count_statement(),
    )
    client_numbers = record_numbers(page.items, current_user) if search.see_clients else {}
    if search.see_clients:
        listed(client_numbers, "audit_trail")  # the page shows their record numbers
    if search.client is not None:
        shown("audit_trail", None, client_id=search.client.id)  # the client's whole trail, name on top
    users = db.session.execute(select(User.id, User.name).order_by(User.name)).all()
    return render_template(
        "audit/index.html", page=page, args=search.args, errors=search.errors, users=users,
        actions=list(AuditAction), record_types=RECORD_TYPES, client=search.client,
        client_numbers=client_numbers, raw=request.args, sites=audited_site_rows(current_user),
    )
