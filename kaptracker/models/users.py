"""Staff accounts, their signed-in sessions and sign-in attempts."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.access import Role
from .base import UTCDateTime, str_enum, utcnow
from .sites import Site


class User(UserMixin, db.Model):
    """A member of staff. Never deleted (the audit trail points at it): deactivated instead."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A supervisor of every site: sees the whole network and its rollups.
    network_lead: Mapped[bool] = mapped_column(default=False, server_default=false())

    # The sites this member of staff works at (supervises, for a supervisor).
    sites: Mapped[list[Site]] = relationship(secondary="staff_site", order_by="Site.name")

    # The signed-in session this object was loaded for (set by the user loader, not stored).
    current_session = None  # UserSession | None; plain attribute, not a column

    def get_id(self) -> str:
        # Flask-Login keeps this in the cookie: the session's random token, never the user id,
        # so that revoking the session row makes a copied cookie useless.
        if self.current_session is None or self.current_session.token is None:
            raise RuntimeError("User.get_id() needs a session started by auth.sessions.start")
        return self.current_session.token

    @property
    def is_active(self) -> bool:
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(db.Model):
    """One signed-in browser session; the cookie holds a token whose hash is stored here."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(45))
    # The site the lists of this signed-in session show (the site switcher); None: all the user's sites.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))

    user: Mapped[User] = relationship()

    # The clear token exists only in the request that created the session.
    token = None  # str | None; plain attribute, not a column


class LoginAttempt(db.Model):
    """A sign-in attempt, written *before* the password is checked so that concurrent guesses
    are all counted. Rows for an email are cleared by a successful sign-in or an admin reset."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    succeeded: Mapped[bool] = mapped_column(default=False)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


__all__ = ["LoginAttempt", "User", "UserSession", "normalise_email"]
