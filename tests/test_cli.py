"""The flask commands, through the CLI runner."""

from __future__ import annotations

from sqlalchemy import func, select

from kaptracker.extensions import db
from kaptracker.models import Client, User
from kaptracker.rules.access import Role


def test_create_user_then_list_users(runner):
    result = runner.invoke(args=["create-user", "--email", "New.Person@Clinic.example.org", "--name",
                                 "New Person", "--role", "medical", "--password", "a long passphrase here"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.email == "new.person@clinic.example.org" and user.role == Role.MEDICAL
    listing = runner.invoke(args=["list-users"])
    assert listing.output.splitlines() == ["new.person@clinic.example.org\tmedical\tactive"]


def test_create_user_prompts_for_a_hidden_password(runner, client):
    result = runner.invoke(
        args=["create-user", "--email", "p@clinic.example.org", "--name", "P", "--role", "therapist"],
        input="prompted passphrase\nprompted passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "prompted passphrase" not in result.output
    response = client.post("/login", data={"email": "p@clinic.example.org", "password": "prompted passphrase"})
    assert response.status_code == 302


def test_create_user_refuses_bad_input(runner, make_user):
    make_user("admin", email="taken@clinic.example.org")
    cases = [
        (["--email", "x@clinic.example.org", "--name", "X", "--role", "wizard", "--password", "a long passphrase"], "wizard"),
        (["--email", "x@clinic.example.org", "--name", "X", "--role", "admin", "--password", "short"], "12 characters"),
        (["--email", "not-an-email", "--name", "X", "--role", "admin", "--password", "a long passphrase"], "email"),
        (["--email", "TAKEN@clinic.example.org", "--name", "X", "--role", "admin", "--password", "a long passphrase"], "already exists"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["create-user", *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_list_users_shows_inactive_accounts(runner, make_user):
    make_user("therapist", email="gone@clinic.example.org", active=False)
    assert runner.invoke(args=["list-users"]).output == "gone@clinic.example.org\ttherapist\tinactive\n"


def test_seed_demo_fills_an_empty_database(runner, client):
    result = runner.invoke(args=["seed-demo", "--password", "demo passphrase 1"])
    assert result.exit_code == 0, result.output
    roles = [u.role for u in db.session.scalars(select(User))]
    assert roles.count(Role.THERAPIST) >= 2 and Role.MEDICAL in roles
    assert Role.SUPERVISOR in roles and Role.ADMIN in roles
    assert db.session.scalar(select(func.count()).select_from(Client)) >= 24
    therapist = db.session.scalar(select(User).where(User.role == Role.THERAPIST))
    assert client.post("/login", data={"email": therapist.email, "password": "demo passphrase 1"}).status_code == 302
    # Every therapist has a caseload.
    for user in db.session.scalars(select(User).where(User.role == Role.THERAPIST)):
        assert db.session.scalar(select(func.count()).where(Client.therapist_id == user.id)) > 0
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "already has accounts" in again.output
