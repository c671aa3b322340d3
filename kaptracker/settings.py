"""Settings in force, read from the database once per request (one query)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, has_request_context
from sqlalchemy import func, select

from .extensions import db
from .models import SettingChange
from .rules import settings as registry


def _load(at: dt.datetime | None = None) -> dict[str, Any]:
    values = registry.defaults()
    newest = select(SettingChange.key, func.max(SettingChange.id).label("id"))
    if at is not None:
        newest = newest.where(SettingChange.changed_at <= at)
    newest = newest.group_by(SettingChange.key).subquery()
    rows = db.session.execute(
        select(SettingChange.key, SettingChange.value).join(newest, SettingChange.id == newest.c.id)
    )
    for key, value in rows:
        if key in registry.SPECS_BY_KEY:
            values[key] = registry.decode(key, value)
    return values


def current() -> dict[str, Any]:
    """All settings in force now; cached for the rest of the request."""
    if has_request_context():
        if "kap_settings" not in g:
            g.kap_settings = _load()
        return g.kap_settings
    return _load()


def get(key: str) -> Any:
    return current()[key]


def at(moment: dt.datetime) -> dict[str, Any]:
    """The settings that were in force at ``moment`` (for rules applied to past readings)."""
    return _load(moment)


def change(key: str, value: Any, *, user, reason: str, approved_by: str | None = None) -> SettingChange:
    spec = registry.SPECS_BY_KEY[key]
    row = SettingChange(key=spec.key, value=registry.encode(value), changed_by=user, reason=reason,
                        approved_by=approved_by)
    db.session.add(row)
    g.pop("kap_settings", None)
    return row
