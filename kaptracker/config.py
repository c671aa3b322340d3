"""Configuration defaults.

Order of precedence (last wins): these defaults, ``instance/config.py``, ``KAPTRACKER_*``
environment variables, then the ``test_config`` passed to :func:`kaptracker.create_app`.
Clinical and security *settings* that a clinic changes at run time (thresholds, idle timeout,
lockout) live in the database instead — see :mod:`kaptracker.settings`.
"""

from __future__ import annotations

# Never a built-in key: create_app refuses to start without one outside demo/debug/testing.
SECRET_KEY = None

# Filled in by create_app: sqlite:///<instance>/kaptracker.sqlite3 unless DATABASE_URL is set.
SQLALCHEMY_DATABASE_URI = None
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

# Werkzeug's scrypt: N=2**15, r=8, p=1 (OWASP's recommended minimum for scrypt).
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"

# Cookies: HttpOnly and SameSite always; Secure is added for every request that arrived over
# HTTPS (see kaptracker.security) and can be forced with SESSION_COOKIE_SECURE = True.
SESSION_COOKIE_NAME = "kaptracker_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
REMEMBER_COOKIE_DURATION = 0

# Forms: a CSRF token is valid for the life of the signed-in session (which itself ends after
# the idle timeout), so a long note typed slowly is not lost to an expired token.
WTF_CSRF_TIME_LIMIT = None

# Number of reverse proxies in front of the app that set X-Forwarded-For / -Proto (gunicorn
# behind nginx: 1). 0 trusts no forwarded header.
PROXY_FIX_X_FOR = 0
PROXY_FIX_X_PROTO = 0

# Demo mode: a persisted random key in instance/ and the demo banner.
DEMO = False

CLIENTS_PER_PAGE = 25
AUDIT_PER_PAGE = 50
DISCLOSURES_PER_PAGE = 50
