"""`flask --app kaptracker ...` commands of the app itself: staff accounts.

The operator's tooling (seed-demo, demo, seed-scale, backup, restore) lives in kaptracker.ops,
which the app never imports: `flask` finds those commands through the ``flask.commands`` entry
point (setup.cfg, kaptracker/ops/cli.py)."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from .auth.sessions import hash_password
from .extensions import db
from .models import Site, User, normalise_email
from .rules.access import Role
from .rules.passwords import password_problems


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(list_users)


def _add_user(email: str, name: str, role: Role, password: str) -> User:
    """The account; staff but administrators work at every active site (an administrator
    narrows that on the account's page)."""
    sites = [] if role == Role.ADMIN else list(db.session.scalars(select(Site).where(Site.active.is_(True))))
    user = User(email=normalise_email(email), name=name.strip(), role=role,
                password_hash=hash_password(password), sites=sites)
    db.session.add(user)
    return user


@click.command("create-user")
@click.option("--email", required=True, help="Sign-in email (stored lower-case).")
@click.option("--name", required=True, help="Full name as colleagues know it.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters; prompted for (hidden) when left out.")
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account (at every active site, unless an administrator's)."""
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
