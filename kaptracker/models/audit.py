"""The audit trail: who viewed or changed which record, when and from where. Append-only."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow
from .users import User


class AuditAction(enum.StrEnum):
    VIEW = "view"
    CREATE = "create"
    UPDATE = "update"
    DENIED = "denied"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    EXPORT = "export"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class AuditEvent(db.Model):
    """One audited action. No route edits or deletes these rows, and database triggers refuse
    UPDATE and DELETE on the table (see the initial migration)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_record", "record_type", "record_id"),
        Index("ix_audit_event_user_at", "user_id", "at"),
        Index("ix_audit_event_user_action", "user_id", "action", "id"),  # audit search, newest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"), index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int | None]
    # The client the record belongs to, so a client's whole trail is one indexed lookup.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    # What changed (field names, never values) or why access was denied. No patient data.
    detail: Mapped[str | None] = mapped_column(Text)
    # The route (endpoint) that wrote the event, and for a view the response's status: 200 shown,
    # 4xx refused (a form re-rendered with its errors, a refused post). No URL (ids, queries).
    route: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[int | None] = mapped_column(SmallInteger)

    @property
    def outcome(self) -> str | None:
        if self.status is None:
            return None
        return "shown" if self.status < 400 else f"refused ({self.status})"

    user: Mapped[User | None] = relationship()
