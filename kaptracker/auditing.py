"""Writing audit events. Every view and change of patient data calls :func:`record`."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditAction, AuditEvent


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
        if client_id is not None and action is not AuditAction.DENIED:
            from .access import break_glass_for

            grant = break_glass_for(user, client_id)
            if grant is not None:  # flagged: supervisors review emergency access
                detail = f"{BREAK_GLASS_FLAG} (grant {grant.id})" + (f"; {detail}" if detail else "")
    event = AuditEvent(
        action=action,
        record_type=record_type,
        record_id=record_id,
        client_id=client_id,
        user_id=getattr(user, "id", None),
        ip=client_ip(),
        detail=(detail or None) and detail[:2000],
    )
    db.session.add(event)
    return event


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
