"""KAP Tracker: ketamine-assisted psychotherapy treatment courses for clinics."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.routing import IntegerConverter
from sqlalchemy.engine import Engine

from . import access, auditing, clock, cli, lazyload, rollup, scope, security, settings, templating
from .admin import bp as admin_bp
from .audit import bp as audit_bp
from .auth import bp as auth_bp
from .breakglass import bp as breakglass_bp
from .clients import bp as clients_bp
from .courses import bp as courses_bp
from .dashboard import bp as dashboard_bp
from .disclosures import bp as disclosures_bp
from .exports import bp as exports_bp
from .extensions import csrf, db, login_manager, migrate
from .main import bp as main_bp
from .outcomes import bp as outcomes_bp
from .reports import bp as reports_bp
from .supervision import bp as supervision_bp
from .vitals import bp as vitals_bp

# A blueprint's package defines it; its routes modules register on it when imported here. A
# package never imports its own routes, so a command that imports a package's rules or queries
# (services.vitals -> vitals.service) does not load the views, which import the command back.
from .admin import sites as _admin_sites  # noqa: F401
from .admin import views as _admin_views  # noqa: F401
from .audit import views as _audit_views  # noqa: F401
from .auth import views as _auth_views  # noqa: F401
from .breakglass import views as _breakglass_views  # noqa: F401
from .clients import views as _clients_views  # noqa: F401
from .courses import sessions as _courses_sessions  # noqa: F401
from .courses import views as _courses_views  # noqa: F401
from .dashboard import views as _dashboard_views  # noqa: F401
from .disclosures import views as _disclosures_views  # noqa: F401
from .exports import views as _exports_views  # noqa: F401
from .main import errors as _main_errors  # noqa: F401
from .main import views as _main_views  # noqa: F401
from .outcomes import views as _outcomes_views  # noqa: F401
from .reports import views as _reports_views  # noqa: F401
from .supervision import views as _supervision_views  # noqa: F401
from .vitals import views as _vitals_views  # noqa: F401

MIGRATIONS = str(Path(__file__).with_name("migrations"))


class ConfigurationError(RuntimeError):
    pass


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` in every route: 1 to 2**31 - 1, the range of an integer primary key on
    every database, so an absurd id is a plain 404 rather than a database overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    app.url_map.converters["int"] = RecordIdConverter
    app.config.from_object("kaptracker.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("KAPTRACKER")
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    _configure_database(app, test_config or {})
    _configure_secret_key(app)

    db.init_app(app)
    rollup.init_app()
    clock.read_zone_from(settings.clinic_zone_name)
    settings.zone_of_lists_from(scope.request_zone_name)
    settings.site_of_lists_from(scope.request_site_id)
    if app.config.get("RAISE_ON_LAZY_LOAD"):
        lazyload.init_app()  # tests: a lazy load during a request raises
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are revoked server-side instead

    security.init_app(app)
    app.before_request(access.forget_cached_user)
    app.before_request(access.enforce_declared_access)
    templating.init_app(app)
    auditing.init_app(app)  # every response that shows a client's data writes its VIEW event
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(clients_bp, url_prefix="/clients")
    app.register_blueprint(courses_bp)
    app.register_blueprint(vitals_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(outcomes_bp)
    app.register_blueprint(supervision_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(breakglass_bp)
    app.register_blueprint(disclosures_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp, url_prefix="/audit")
    # Static files are public (no patient data).
    access.public(app.view_functions["static"])

    cli.init_app(app)
    return app


def _configure_database(app: Flask, test_config: dict) -> None:
    # A database given to create_app wins over KAPTRACKER_DATABASE_URL in the environment, so
    # tests can never be pointed at a real database by a variable left in the shell.
    url = (
        test_config.get("DATABASE_URL")
        or test_config.get("SQLALCHEMY_DATABASE_URI")
        or app.config.get("DATABASE_URL")
        or app.config.get("SQLALCHEMY_DATABASE_URI")
    )
    if not url:
        url = "sqlite:///" + os.path.join(app.instance_path, "kaptracker.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)


def normalise_database_url(url: str) -> str:
    """postgres:// and postgresql:// (as hosting providers write them) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _configure_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("TESTING") or app.debug or app.config.get("DEMO"):
        app.config["SECRET_KEY"] = demo_secret_key(app)
        return
    # Management commands (db upgrade, create-user...) sign no cookies and may run without a
    # key; serving may not.
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "run" not in sys.argv[1:]:
        app.config["SECRET_KEY"] = secrets.token_hex(32)  # never used to serve a request
        app.config["KAP_EPHEMERAL_KEY"] = True
        return
    raise ConfigurationError(
        "KAP Tracker needs a secret key to sign session cookies. Set the environment variable "
        "KAPTRACKER_SECRET_KEY to a long random value (for example the output of "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`) or set SECRET_KEY in "
        f"{os.path.join(app.instance_path, 'config.py')}. Only demo and debug mode make one up."
    )


def demo_secret_key(app: Flask) -> str:
    """A random key kept in instance/ so demo sign-ins survive a restart; never committed."""
    path = Path(app.instance_path) / "demo-secret-key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys; WAL and a busy timeout so several requests can share it."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
