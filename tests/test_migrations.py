"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from kaptracker.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes; the migration creates it by hand.
            warnings.filterwarnings("ignore", message=".*expression-based index")
            differences = compare_metadata(context, db.metadata)
    # Migration 0006's trigram index for the client search exists only where PostgreSQL could
    # create the pg_trgm extension, so the models do not declare it.
    differences = [d for d in differences
                   if not (d[0] == "remove_index" and d[1].name == "ix_client_name_search_trgm")]
    assert differences == []


def test_downgrade_to_nothing_and_back(app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert {"user", "client", "audit_event"} <= set(inspect(db.engine).get_table_names())


def _rollup(*, outcomes: bool) -> list[tuple]:
    with db.engine.connect() as conn:
        if outcomes:
            query = "SELECT course_id, scale, baseline_total, latest_total, measured FROM course_outcome"
            return [tuple(row) for row in conn.execute(text(query + " ORDER BY course_id, scale"))]
        return [tuple(row) for row in conn.execute(text(
            "SELECT id, phase, medicine_given, last_contact_at, unintegrated_since, unintegrated_session_id"
            " FROM course ORDER BY id"))]


def test_the_frozen_rollups_of_0004_and_0007_store_what_the_app_stores(app):
    """Migrations 0004 and 0007 fill the course rollup of a clinic that already has records, with
    frozen copies of the rollup code: on the demo clinic they store what kaptracker.rollup does."""
    from kaptracker.ops import demo

    from conftest import PASSWORD

    demo.seed(PASSWORD)
    db.session.commit()
    db.session.remove()
    courses, outcomes = _rollup(outcomes=False), _rollup(outcomes=True)
    assert len({row[1] for row in courses}) == 5 and any(row[4] for row in courses)  # every phase, one waiting
    assert any(row[4] for row in outcomes) and not all(row[4] for row in outcomes)
    downgrade(revision="0006")  # 0007 goes: the oldest unintegrated session, the outcome rows
    upgrade()
    assert (_rollup(outcomes=False), _rollup(outcomes=True)) == (courses, outcomes)
    downgrade(revision="0003")  # 0004 goes: phase, medicine sessions given, last contact (and scores)
    upgrade()
    assert _rollup(outcomes=False) == courses


def test_audit_events_cannot_be_changed_in_the_database(app, make_user):
    import pytest
    from sqlalchemy.exc import DatabaseError

    from kaptracker.auditing import record
    from kaptracker.models import AuditAction

    record(AuditAction.LOGIN, "user", 1, user=make_user("therapist"))
    db.session.commit()
    for statement in ("UPDATE audit_event SET detail = 'rewritten'", "DELETE FROM audit_event"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1


def _insert(conn, table: str, **values) -> None:
    names = ", ".join(f'"{name}"' for name in values)
    conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(":" + n for n in values)})'), values)


def _clinic_at_0011(*, name: str | None, zone: str | None) -> list[int]:
    """Downgrade to 0011 and write, with that schema's SQL, a therapist, three clients (with their
    indications: rows that point at the client table) and the clinic settings; the clients' ids."""
    downgrade(revision="0011")
    now = "2026-12-01 10:00:00"
    with db.engine.begin() as conn:
        _insert(conn, "user", email="t@clinic.example.org", name="T", role="therapist", password_hash="x",
                active=True, created_at=now, password_changed_at=now)
        user_id = conn.execute(text("SELECT id FROM \"user\"")).scalar()
        for key, value in (("clinic.name", "Old name"), ("clinic.name", name),
                           ("clinic.timezone", "Europe/London"), ("clinic.timezone", zone)):
            if value is not None:
                _insert(conn, "setting_change", key=key, value=value, changed_at=now, changed_by_id=user_id,
                        reason="set up")
        for n in range(3):
            _insert(conn, "client", record_number=f"OLD-{n}", given_name="Given", family_name=f"Family{n}",
                    date_of_birth="1980-01-01", phone="+1 555 0100", emergency_contact_name="E",
                    emergency_contact_relationship="Friend", emergency_contact_phone="+1 555 0199",
                    therapist_id=user_id, status="active", created_at=now, updated_at=now, version=1)
        ids = [row[0] for row in conn.execute(text("SELECT id FROM client ORDER BY id"))]
        for client_id in ids:
            _insert(conn, "client_indication", client_id=client_id, indication="depression")
    return ids


def _sites_and_homes():
    with db.engine.connect() as conn:
        sites = [tuple(r) for r in conn.execute(text("SELECT id, code, name, time_zone, crisis_line, active FROM site"))]
        homes = dict(conn.execute(text("SELECT id, home_site_id FROM client")).all())
        indications = conn.execute(text("SELECT count(*) FROM client_indication")).scalar()
    return sites, homes, indications


def test_0012_makes_the_clinic_one_site_named_and_zoned_by_its_settings(app):
    """An existing clinic (at 0011, with clients and stored settings) becomes one default site, in
    the stored zone and with the stored name (the newest of each), and every client's home; down
    and up again keeps it so, and the models still match the schema."""
    from kaptracker.models import Client, Site

    ids = _clinic_at_0011(name="Harbour Clinic", zone="America/Denver")
    upgrade()
    sites, homes, indications = _sites_and_homes()
    assert [s[1:] for s in sites] == [("MAIN", "Harbour Clinic", "America/Denver", "988", True)]
    assert homes == {client_id: sites[0][0] for client_id in ids} and indications == 3
    downgrade(revision="0011")
    assert "site" not in inspect(db.engine).get_table_names()
    assert "home_site_id" not in {c["name"] for c in inspect(db.engine).get_columns("client")}
    upgrade()
    sites, homes, indications = _sites_and_homes()
    assert [s[1:4] for s in sites] == [("MAIN", "Harbour Clinic", "America/Denver")] and indications == 3
    assert set(homes.values()) == {sites[0][0]}
    test_models_and_migrations_agree(app)
    # The app reads it: the client's home site, and a new site gets the next id.
    db.session.remove()
    assert db.session.get(Client, ids[0]).home_site.code == "MAIN"
    db.session.add(Site(code="DEN", name="Denver", time_zone="America/Denver"))
    db.session.commit()


def test_0012_without_stored_settings_uses_the_defaults(app):
    ids = _clinic_at_0011(name=None, zone=None)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM setting_change"))
    upgrade()
    sites, homes, _ = _sites_and_homes()
    assert [s[1:4] for s in sites] == [("MAIN", "KAP Clinic", "America/New_York")]
    assert set(homes) == set(ids)


def test_0012_keeps_the_foreign_keys_of_the_rebuilt_client_table(app):
    """SQLite rebuilds the client table with foreign keys off: afterwards they hold again."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    _clinic_at_0011(name=None, zone=None)
    upgrade()
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE client SET home_site_id = 999"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO client_indication (client_id, indication) VALUES (999, 'ptsd')"))


def _clinic_at_0012() -> dict[str, int]:
    """Downgrade to 0012 and write, with that schema's SQL, a second site, an administrator, a
    therapist and a medical user, a client at the second site with a course, a signed
    preparation session and a draft one."""
    downgrade(revision="0012")
    now = "2026-12-01 10:00:00"
    with db.engine.begin() as conn:
        _insert(conn, "site", code="DEN", name="Denver", time_zone="America/Denver", crisis_line="988",
                active=True, created_at=now, version=1)
        ids = {"den": conn.execute(text("SELECT id FROM site WHERE code = 'DEN'")).scalar()}
        for role in ("admin", "therapist", "medical"):
            _insert(conn, "user", email=f"{role}@clinic.example.org", name=role, role=role, password_hash="x",
                    active=True, created_at=now, password_changed_at=now)
            ids[role] = conn.execute(text("SELECT id FROM \"user\" WHERE role = :r"), {"r": role}).scalar()
        _insert(conn, "client", record_number="OLD-1", given_name="Given", family_name="Family",
                date_of_birth="1980-01-01", phone="+1 555 0100", emergency_contact_name="E",
                emergency_contact_relationship="Friend", emergency_contact_phone="+1 555 0199",
                therapist_id=ids["therapist"], status="active", created_at=now, updated_at=now, version=1,
                home_site_id=ids["den"])
        client = conn.execute(text("SELECT id FROM client")).scalar()
        _insert(conn, "course", client_id=client, planned_route="im", planned_medicine_sessions=3, goals="G",
                started_on="2026-11-01", created_by_id=ids["therapist"], created_at=now, updated_at=now,
                version=1, phase="preparation", medicine_given=0)
        course = conn.execute(text("SELECT id FROM course")).scalar()
        for signed in (True, False):
            _insert(conn, "clinical_session", course_id=course, kind="preparation", occurred_at=now,
                    author_id=ids["therapist"], note="N", created_at=now, updated_at=now, version=1,
                    signed_at=now if signed else None, signed_by_id=ids["therapist"] if signed else None)
            session = conn.execute(text("SELECT max(id) FROM clinical_session")).scalar()
            _insert(conn, "preparation_session", id=session, intentions="I", goals="G", fears="F",
                    resources="R", medically_ready=True, psychologically_ready=True, readiness_notes="")
            ids["signed" if signed else "draft"] = session
    return ids


def test_0013_puts_staff_at_every_site_and_each_session_at_its_clients_home(app):
    """Upgrading a two-site clinic: every account but the administrator's works at both sites,
    no one is a network lead, each session happened at its client's home site, and a signed
    session's site is locked with the rest of it; down and up again keeps it so."""
    import pytest
    from sqlalchemy.exc import DatabaseError

    ids = _clinic_at_0012()
    for _ in range(2):
        upgrade()
        with db.engine.connect() as conn:
            staff = set(conn.execute(text("SELECT user_id, count(*) FROM staff_site GROUP BY user_id")).all())
            leads = conn.execute(text("SELECT count(*) FROM \"user\" WHERE network_lead")).scalar()
            sites = set(conn.execute(text("SELECT site_id FROM clinical_session")).scalars())
        assert staff == {(ids["therapist"], 2), (ids["medical"], 2)} and leads == 0
        assert sites == {ids["den"]}
        with pytest.raises(DatabaseError), db.engine.begin() as conn:
            conn.execute(text("UPDATE clinical_session SET site_id = (SELECT min(id) FROM site) WHERE id = :id"),
                         {"id": ids["signed"]})
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE clinical_session SET site_id = (SELECT min(id) FROM site) WHERE id = :id"),
                         {"id": ids["draft"]})
        downgrade(revision="0012")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM clinical_session")).scalar() == 2
        # The signed session is still locked after the downgrade (SQLite rebuilt the table).
        with pytest.raises(DatabaseError), db.engine.begin() as conn:
            conn.execute(text("UPDATE clinical_session SET note = 'rewritten' WHERE id = :id"), {"id": ids["signed"]})
        with pytest.raises(DatabaseError), db.engine.begin() as conn:
            conn.execute(text("DELETE FROM clinical_session WHERE id = :id"), {"id": ids["signed"]})
    upgrade()
    test_models_and_migrations_agree(app)


def _setting_rows() -> list[tuple]:
    with db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("setting_change")}
        wanted = "key, value" + (", site_id, cleared" if "site_id" in columns else "")
        return [tuple(row) for row in conn.execute(text(f"SELECT {wanted} FROM setting_change ORDER BY id"))]


def test_0014_makes_the_stored_settings_the_networks_and_a_downgrade_drops_the_sites_own(app):
    """Upgrading: every stored change is the network's (no site, not a clear) and still in force.
    Sites' own values are stored beside them; a clear names a site and a site is one that exists.
    Downgrading deletes the sites' rows (without a site column they would read as the network's)
    and keeps the network's; down and up again, the models match the schema."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from kaptracker import settings

    downgrade(revision="0013")
    now = "2026-12-01 10:00:00"
    with db.engine.begin() as conn:
        _insert(conn, "site", code="DEN", name="Denver", time_zone="America/Denver", crisis_line="988",
                active=True, created_at=now, version=1)
        den = conn.execute(text("SELECT id FROM site WHERE code = 'DEN'")).scalar()
        _insert(conn, "user", email="admin@clinic.example.org", name="Admin", role="admin", password_hash="x",
                active=True, created_at=now, password_changed_at=now, network_lead=False)
        admin = conn.execute(text("SELECT id FROM \"user\"")).scalar()
        for key, value in (("vitals.critical_systolic", "195"), ("clinic.name", "Harbour Clinic"),
                           ("vitals.critical_systolic", "190")):
            _insert(conn, "setting_change", key=key, value=value, changed_at=now, changed_by_id=admin,
                    reason="set up", approved_by="Dr Lead" if key.startswith("vitals") else None)
    network_rows = [("vitals.critical_systolic", "195"), ("clinic.name", "Harbour Clinic"),
                    ("vitals.critical_systolic", "190")]
    for _ in range(2):
        upgrade()
        assert _setting_rows() == [(key, value, None, False) for key, value in network_rows]
        assert "ix_setting_change_key_site_at" in {i["name"] for i in inspect(db.engine).get_indexes("setting_change")}
        with db.engine.begin() as conn:
            for key, value, cleared in (("vitals.critical_systolic", "185", False),
                                        ("vitals.hold_systolic", "150", False),
                                        ("vitals.hold_systolic", "", True)):
                _insert(conn, "setting_change", key=key, value=value, changed_at=now, changed_by_id=admin,
                        reason="Denver", approved_by="Dr Lead", site_id=den, cleared=cleared)
        for bad in ({"site_id": None, "cleared": True}, {"site_id": 999, "cleared": False}):
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                _insert(conn, "setting_change", key="vitals.hold_systolic", value="", changed_at=now,
                        changed_by_id=admin, reason="r", **bad)
        db.session.remove()
        assert settings.network()["vitals.critical_systolic"] == 190
        assert settings.current(den)["vitals.critical_systolic"] == 185
        assert settings.current(den)["vitals.hold_systolic"] == 160  # cleared: the network's (the default)
        assert settings.network()["clinic.name"] == "Harbour Clinic"
        db.session.remove()
        downgrade(revision="0013")
        assert _setting_rows() == network_rows
        assert {"site_id", "cleared"}.isdisjoint(c["name"] for c in inspect(db.engine).get_columns("setting_change"))
        assert "ix_setting_change_key_at" in {i["name"] for i in inspect(db.engine).get_indexes("setting_change")}
    upgrade()
    test_models_and_migrations_agree(app)
