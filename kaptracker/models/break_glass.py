"""Emergency ("break-glass") access to a client outside one's caseload: who, which client, why,
until when. Append-only (database triggers, migration 0005); it simply expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .clients import Client
from .users import User


class BreakGlassGrant(db.Model):
    __tablename__ = "break_glass_grant"
    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="expires_after_grant"),
        CheckConstraint("length(reason) >= 20", name="reason_given"),
        Index("ix_break_glass_grant_user_client", "user_id", "client_id", "expires_at"),
        Index("ix_break_glass_grant_granted", "granted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    client: Mapped[Client] = relationship()

    def active(self, now: dt.datetime | None = None) -> bool:
        return (now or utcnow()) < self.expires_at
