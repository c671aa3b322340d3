"""Writing audit events. Every change of patient data calls :func:`record`; every response that
shows a client's data is audited by construction (see "views, by construction" below)."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditAction, AuditEvent, Client, Course, utcnow
from .scope import break_glass_for


# Marks every event written while someone uses emergency access to a client outside their scope.
BREAK_GLASS_FLAG = "BREAK-GLASS"


def client_ip() -> str | None:
    if not has_request_context():
        return None
    # request.remote_addr is the proxy's unless PROXY_FIX_X_FOR says how many proxies to trust.
    return (request.remote_addr or "")[:45] or None


def record(
    action: AuditAction,
    record_type: str,
    record_id: int | None = None,
    *,
    client_id: int | None = None,
    detail: str | None = None,
    user=None,
) -> AuditEvent:
    """Add an audit event to the session; it is committed with the request's other changes."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if user is not None and has_request_context():  # a command passes its user explicitly
        if client_id is not None and action is not AuditAction.DENIED:
            detail = _with_break_glass(user, client_id, detail)
    if action is AuditAction.EXPORT and client_id is not None and has_request_context():
        g.setdefault(EXPORTED, set()).add(client_id)
    event = AuditEvent(
        action=action,
        record_type=record_type,
        record_id=record_id,
        client_id=client_id,
        user_id=getattr(user, "id", None),
        ip=client_ip(),
        detail=(detail or None) and detail[:2000],
        route=((request.endpoint or "")[:80] or None) if has_request_context() else None,
    )
    db.session.add(event)
    return event


def _with_break_glass(user, client_id: int, detail: str | None) -> str | None:
    """``detail``, flagged when ``user`` reaches ``client_id`` only through emergency access
    (supervisors review those events)."""
    grant = break_glass_for(user, client_id)
    if grant is None:
        return detail
    return f"{BREAK_GLASS_FLAG} (grant {grant.id})" + (f"; {detail}" if detail else "")


def changed_fields(obj) -> list[str]:
    """Names of the mapped attributes changed on ``obj`` in this session (never their values)."""
    from sqlalchemy import inspect

    state = inspect(obj)
    return sorted(
        attr.key
        for attr in state.attrs
        if attr.key not in {"updated_at", "version"} and attr.history.has_changes()
    )


def set_once(model, record_id: int, unset, *still_unset, **values) -> bool:
    """Write ``values`` to the row ``record_id`` of ``model`` only while its ``unset`` column (and
    any of ``still_unset``) is still NULL (an acknowledgement, an entered-in-error mark, a
    withdrawal: things done once). Of two people doing it at the same moment the second matches
    no row: False, and nothing of theirs replaces the first's; the caller tells them.
    The row's loaded object is not refreshed: expire it before reading it again."""
    from sqlalchemy import update

    result = db.session.execute(
        update(model).where(model.id == record_id, unset.is_(None), *(c.is_(None) for c in still_unset))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# --- views, by construction ---------------------------------------------------------------------
#
# A response that shows a client's data is audited here, not by each view: the loaders in
# kaptracker/access.py, any template rendered with a ``client`` or ``course`` in its context, and
# the list pages (:func:`listed`) note the clients a request shows; after the response is made,
# :func:`write_view_events` writes one VIEW event per client, with the route and the status
# (shown, or refused with a 4xx). A view only says *which* record when the default is too coarse
# (:func:`shown`): it cannot forget the event itself.

SHOWN = "kap_shown"  # g: {client_id: (record_type, record_id, detail)}
EXPORTED = "kap_exported"  # g: clients whose data this request exported (its EXPORT event says so)
LIST = "client_list"


def shown(record_type: str, record_id: int | None, *, client_id: int | None, detail: str | None = None,
          default: bool = False) -> None:
    """Note that this response shows ``client_id``'s record ``record_type`` #``record_id``. The
    most specific note wins: a view's own (``default=False``) over a loader's or a template's."""
    if client_id is None or not has_request_context():
        return
    notes = g.setdefault(SHOWN, {})
    if default and client_id in notes:
        return
    notes[client_id] = (record_type, record_id, detail)


def listed(client_ids, record_type: str = LIST) -> None:
    """A list page shows these clients (names, record numbers): one VIEW event each."""
    for client_id in client_ids:
        shown(record_type, None, client_id=client_id, default=True)


def template_shows(sender, template, context, **extra) -> None:
    """template_rendered: a page rendered with a client or a course in its context shows that
    client's data, whoever loaded it and however."""
    client = context.get("client")
    if isinstance(client, Client) and client.id is not None:
        shown("client", client.id, client_id=client.id, default=True)
    course = context.get("course")
    if isinstance(course, Course) and course.id is not None:
        shown("course", course.id, client_id=course.client_id, default=True)


def outcome(status: int) -> str:
    return "shown" if status < 400 else "refused"


def write_view_events(response):
    """after_request: one VIEW event per client this response shows, committed even when the
    request's own work is not (a refused post, a preview): whatever the request left uncommitted
    is rolled back first (it would be at teardown anyway), then the events are inserted in one
    statement and committed. Redirects show nothing; a 5xx page shows the error, not the record."""
    notes = g.pop(SHOWN, None)
    status = response.status_code
    if not notes or 300 <= status < 400 or status >= 500:
        return response
    if not current_user.is_authenticated:
        return response
    from sqlalchemy import insert

    user_id, at = current_user.id, utcnow()
    exported = g.get(EXPORTED, set())
    ip = client_ip()
    route = (request.endpoint or "")[:80] or None
    rows = []
    for client_id, (record_type, record_id, detail) in notes.items():
        if client_id in exported:
            continue  # the EXPORT event is this response's record
        text = _with_break_glass(current_user, client_id, detail) or None
        rows.append({
            "at": at, "user_id": user_id, "action": AuditAction.VIEW, "record_type": record_type,
            "record_id": record_id, "client_id": client_id, "ip": ip, "route": route, "status": status,
            "detail": text and text[:2000],
        })
    if rows:
        db.session.rollback()
        db.session.execute(insert(AuditEvent), rows)
        db.session.commit()
    return response


def init_app(app) -> None:
    from flask import template_rendered

    template_rendered.connect(template_shows, app)
    app.after_request(write_view_events)
