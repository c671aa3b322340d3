"""Signed-in sessions kept in the database, and sign-in throttling.

Both live in the database rather than in process memory, so they hold across gunicorn workers
and app servers: a session revoked by one process is refused by every other at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app, g, session
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .. import settings
from ..auditing import client_ip
from ..extensions import db, login_manager
from ..models import LoginAttempt, User, UserSession, utcnow

# Refresh last_seen_at at most this often: one UPDATE a minute per user, not one per request.
TOUCH_EVERY = dt.timedelta(seconds=30)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def start(user: User) -> UserSession:
    """A new session with a fresh random token. The caller clears the Flask session first, so the
    browser gets a new session identity at every sign-in."""
    token = secrets.token_urlsafe(32)
    row = UserSession(token_hash=_hash_token(token), user=user, ip=client_ip())
    row.token = token
    db.session.add(row)
    user.current_session = row
    return row


def revoke(row: UserSession, reason: str) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_reason = reason


def revoke_all(user: User, reason: str) -> int:
    """End every open session of ``user`` (password change, reset, deactivation)."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return result.rowcount or 0


@login_manager.user_loader
def load_user(token: str) -> User | None:
    row = db.session.execute(
        select(UserSession, User)
        .join(User, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _hash_token(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=settings.get("auth.idle_timeout_minutes"))
    longest = dt.timedelta(hours=settings.get("auth.session_max_hours"))
    if now - user_session.last_seen_at > idle or now - user_session.created_at > longest:
        revoke(user_session, "idle" if now - user_session.last_seen_at > idle else "expired")
        db.session.commit()
        g.kap_session_expired = True
        return None
    if now - user_session.last_seen_at > TOUCH_EVERY:
        user_session.last_seen_at = now
        db.session.commit()
    user_session.token = token
    user.current_session = user_session
    return user


# --- sign-in throttling ---------------------------------------------------------------------

_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


class Throttled(Exception):
    """Too many failed attempts for this email or from this address."""


def authenticate(email: str, password: str) -> User | None:
    """Check a sign-in. Returns the user, None for bad credentials, or raises :class:`Throttled`.

    The attempt is recorded and committed *before* the password is checked, so a burst of
    concurrent guesses is counted in full: each request sees the attempts of the others.
    Unknown emails and wrong passwords take the same path and the same time.
    """
    now = utcnow()
    window = dt.timedelta(minutes=settings.get("auth.lockout_minutes"))
    ip = client_ip() or "unknown"
    attempt = LoginAttempt(email=email[:254], ip=ip, at=now)
    db.session.add(attempt)
    db.session.commit()

    # Every failed attempt committed in the window counts, this one included. Not only those
    # with a smaller id: on PostgreSQL ids are handed out before commit, so a burst can commit
    # out of id order, and counting "ids up to mine" let a sixth guess through a threshold of
    # five. Counted this way, the n-th request to count has seen at least n attempts.
    since = now - window
    by_email = db.session.scalar(
        select(func.count()).where(
            LoginAttempt.email == attempt.email,
            LoginAttempt.at > since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    by_ip = db.session.scalar(
        select(func.count()).where(
            LoginAttempt.ip == ip,
            LoginAttempt.at > since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    if by_email > settings.get("auth.lockout_threshold") or by_ip > settings.get(
        "auth.ip_threshold"
    ):
        raise Throttled

    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    # Success wipes this email's failures; old rows of every email are pruned now and then.
    attempt.succeeded = True
    db.session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.id != attempt.id)
    )
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1)))
    return user


def clear_failures(email: str) -> None:
    """An administrator's unlock: forget this email's failed attempts."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))


def begin(user: User) -> None:
    """Sign ``user`` in on this browser with a brand-new session identity."""
    from flask_login import login_user

    session.clear()
    start(user)
    user.last_login_at = utcnow()
    login_user(user)
