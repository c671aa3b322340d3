"""The operator's `flask --app kaptracker ...` commands: the demo clinic, the synthetic clinic
network for benchmarks, backup and restore.

The app never imports this package. `flask` finds these commands through the ``flask.commands``
entry point (setup.cfg), as it finds any Flask plugin's: it loads them before it loads the app,
so each command pushes the app's context itself (``with_appcontext``). gunicorn and create_app
never see them; a request can never import them.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from .. import demo_secret_key
from ..extensions import db
from ..models import User
from ..rules.passwords import password_problems
from . import demo as demo_data
from .backup import backup_command, restore_command
from .scale import seed_scale

__all__ = ["backup_command", "demo", "restore_command", "seed_demo", "seed_scale"]

DEFAULT_DEMO_PASSWORD = "demo-clinic-2026"


@click.command("seed-demo")
@click.option("--password", default=DEFAULT_DEMO_PASSWORD, show_default=True,
              help="The password of every demo account.")
@with_appcontext
def seed_demo(password: str) -> None:
    """Fill an empty database with an invented demo clinic."""
    problems = password_problems(password)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    if db.session.scalar(select(func.count()).select_from(User)):
        raise click.ClickException("the database already has accounts; seed-demo fills only an empty one")
    accounts = demo_data.seed(password)
    click.echo(f"Demo clinic created: {len(accounts)} accounts, password {password!r}")
    for email, role in accounts:
        click.echo(f"  {role:<11} {email}")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--password", default=DEFAULT_DEMO_PASSWORD, show_default=True)
@with_appcontext
def demo(host: str, port: int, password: str) -> None:
    """Upgrade the schema, seed a demo clinic when the database is empty, and serve it."""
    app = current_app._get_current_object()
    app.config["DEMO"] = True
    if app.config.get("KAP_EPHEMERAL_KEY"):
        app.config["SECRET_KEY"] = demo_secret_key(app)
    upgrade()
    if not db.session.scalar(select(func.count()).select_from(User)):
        demo_data.seed(password)
        click.echo("Seeded a demo clinic (every person in it is invented).")
    click.echo(f"\nKAP Tracker demo: http://{host}:{port}/")
    click.echo("Demo sign-ins (password for all: %r unless you seeded with another):" % password)
    for user in db.session.scalars(select(User).where(User.email.like("%@" + demo_data.DOMAIN)).order_by(User.role, User.email)):
        click.echo(f"  {user.role.label:<14} {user.email}")
    db.session.remove()
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
