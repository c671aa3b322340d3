"""Configuration: precedence, secret key, database URL."""

from __future__ import annotations

import pytest

from kaptracker import ConfigurationError, create_app, normalise_database_url


def test_a_missing_secret_key_stops_start_up(monkeypatch, tmp_path):
    monkeypatch.delenv("KAPTRACKER_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    with pytest.raises(ConfigurationError, match="KAPTRACKER_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_flask_run_without_a_key_is_refused_too(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    monkeypatch.setattr("sys.argv", ["flask", "--app", "kaptracker", "run"])
    with pytest.raises(ConfigurationError):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_management_commands_run_without_a_key(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    monkeypatch.setattr("sys.argv", ["flask", "--app", "kaptracker", "db", "upgrade"])
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["KAP_EPHEMERAL_KEY"] is True


def test_demo_mode_keeps_a_random_key_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("KAPTRACKER_SECRET_KEY", raising=False)
    first = create_app({"DEMO": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    second = create_app({"DEMO": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("KAPTRACKER_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("KAPTRACKER_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("KAPTRACKER_CLIENTS_PER_PAGE", "40")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.db"
    assert app.config["CLIENTS_PER_PAGE"] == 40


def test_the_default_database_is_sqlite_in_the_instance_folder(monkeypatch):
    monkeypatch.setenv("KAPTRACKER_SECRET_KEY", "k")
    monkeypatch.delenv("KAPTRACKER_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/kaptracker.sqlite3")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////var/kap.db", "sqlite:////var/kap.db"),
    ],
)
def test_database_urls_use_psycopg_3(url, expected):
    assert normalise_database_url(url) == expected


def test_sqlite_enforces_foreign_keys(app):
    from sqlalchemy import text

    from kaptracker.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_database_given_to_create_app_beats_the_environment(monkeypatch, tmp_path):
    """A KAPTRACKER_DATABASE_URL left in the shell must never redirect the tests' database."""
    monkeypatch.setenv("KAPTRACKER_DATABASE_URL", "postgresql://postgres@127.0.0.1/production")
    app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/t.db"
