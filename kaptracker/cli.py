"""`flask --app kaptracker ...` commands: accounts, demo clinic, backup and restore."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from .extensions import db
from .models import User, normalise_email
from .rules.access import Role
from .rules.passwords import password_problems

DEFAULT_DEMO_PASSWORD = "demo-clinic-2026"


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(list_users)
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo)

    from . import backup

    backup.init_app(app)  # backup PATH, restore PATH [--force]

    from . import scale

    scale.init_app(app)  # seed-scale --clients N: a synthetic clinic network for benchmarks


def _add_user(email: str, name: str, role: Role, password: str) -> User:
    from .auth.sessions import hash_password

    user = User(email=normalise_email(email), name=name.strip(), role=role,
                password_hash=hash_password(password))
    db.session.add(user)
    return user


@click.command("create-user")
@click.option("--email", required=True, help="Sign-in email (stored lower-case).")
@click.option("--name", required=True, help="Full name as colleagues know it.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters; prompted for (hidden) when left out.")
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("not an email address", param_hint="--email")
    if not name.strip() or len(name) > 120:
        raise click.BadParameter("give a name of 1 to 120 characters", param_hint="--name")
    problems = password_problems(password, email=email, name=name)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise click.ClickException(f"an account with the email {email} already exists")
    _add_user(email, name, Role(role), password)
    db.session.commit()
    click.echo(f"Created {role} account {email}")


@click.command("list-users")
def list_users() -> None:
    """Print every account: email, role, active (tab-separated)."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{user.role.value}\t{'active' if user.active else 'inactive'}")


@click.command("seed-demo")
@click.option("--password", default=DEFAULT_DEMO_PASSWORD, show_default=True,
              help="The password of every demo account.")
def seed_demo(password: str) -> None:
    """Fill an empty database with an invented demo clinic."""
    from . import demo as demo_data

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
def demo(host: str, port: int, password: str) -> None:
    """Upgrade the schema, seed a demo clinic when the database is empty, and serve it."""
    from werkzeug.serving import run_simple

    from . import demo as demo_data
    from . import demo_secret_key

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
