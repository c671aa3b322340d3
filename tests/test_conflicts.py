"""No lost updates: two people saving the same record. The first save wins; the second gets the
conflict page (409) with both versions side by side, and nothing of the first is overwritten.

The races are real: two threads send their requests over sockets to a live threaded server (or
two test clients on their own threads), and a barrier inside the view holds both requests until
each has read the record and passed the version check, so both UPDATEs reach the database
together and the database decides which one loses.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, Client, ClinicalSession, SafetyAlert, User

from conftest import PASSWORD
import factories
from course_support import raw
from html_support import parse
from live_support import Browser, form_fields, live, race  # noqa: F401 - live is a fixture


def hold_both(monkeypatch, module, name: str, parties: int = 2) -> threading.Barrier:
    """Make ``module.name`` wait, after it ran, until ``parties`` requests have reached it."""
    barrier = threading.Barrier(parties)
    original = getattr(module, name)

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        barrier.wait(timeout=30)
        return result

    monkeypatch.setattr(module, name, held)
    return barrier


def changed(pairs, **values) -> list[tuple[str, str]]:
    return [(k, values.get(k, v)) for k, v in pairs] + [(k, v) for k, v in values.items() if k not in dict(pairs)]


def updates(record_type: str, record_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.UPDATE, AuditEvent.record_type == record_type,
                                 AuditEvent.record_id == record_id)
    ).all()


def conflict_rows(html: str) -> dict[str, tuple[str, str, bool]]:
    """Field label -> (saved, yours, marked as differing) from the conflict panel."""
    panel = parse(html).by_id("conflict")
    rows = {}
    for tr in panel.find_all("tr"):
        cells = [c for c in tr.find_all() if c.tag in ("th", "td") and c.parent is tr]
        if len(cells) == 3 and cells[0].tag == "th" and cells[0].attrs.get("scope") == "row":
            label = cells[0].text.removesuffix(" Differs")
            rows[label] = (cells[1].text, cells[2].raw_text.strip(), "conflict-differs" in tr.classes)
    return rows


# --- two real concurrent requests ---------------------------------------------------------------


def test_two_concurrent_client_saves_over_http_one_wins_the_other_gets_the_conflict_page(
        live, make_user, make_client, monkeypatch):
    from kaptracker.clients import views

    therapist, supervisor = make_user("therapist"), make_user("supervisor")
    record = make_client(therapist, given_name="Original", phone="+1 555 0100")
    first_version = record.version
    url = f"/clients/{record.id}/edit"
    mine, theirs = Browser(live), Browser(live)
    mine.sign_in(therapist.email, PASSWORD)
    theirs.sign_in(supervisor.email, PASSWORD)
    my_form = changed(form_fields(mine.get(url).text), given_name="Mine <b>typed</b>")
    their_form = changed(form_fields(theirs.get(url).text), phone="+1 555 0177")
    hold_both(monkeypatch, views, "changed_fields")

    replies = race(lambda: mine.post(url, my_form), lambda: theirs.post(url, their_form))

    assert sorted(r.status for r in replies) == [302, 409], [r.status for r in replies]
    winner, loser = sorted(replies, key=lambda r: r.status)
    won_by_me = winner is replies[0]
    db.session.expire_all()
    saved = db.session.get(Client, record.id)
    # Exactly the winner's change is saved, over version 1 -> 2; the loser's is not.
    assert (saved.given_name, saved.phone) == (("Mine <b>typed</b>", "+1 555 0100") if won_by_me
                                               else ("Original", "+1 555 0177"))
    assert saved.version == first_version + 1
    assert len(updates("client", record.id)) == 1
    # The loser sees both versions, who saved, and keeps their own text (escaped) to copy.
    assert "Someone else saved this client while you were editing" in loser.text
    assert (therapist if won_by_me else supervisor).name in loser.text
    rows = conflict_rows(loser.text)
    if won_by_me:
        assert rows["Given name"] == ("Mine <b>typed</b>", "Original", True)
    else:
        assert rows["Phone"] == ("+1 555 0177", "+1 555 0100", True)
        assert rows["Given name"] == ("Original", "Mine <b>typed</b>", True)
    if not won_by_me:
        assert "Mine &lt;b&gt;typed&lt;/b&gt;" in loser.text and "<b>typed</b>" not in loser.text


@pytest.mark.parametrize("round_", range(3))
def test_unsynchronised_concurrent_saves_never_both_win(live, make_user, make_client, round_):
    """No barrier in the view: however the two requests interleave, one wins, one is refused."""
    therapist, supervisor = make_user("therapist"), make_user("supervisor")
    record = make_client(therapist)
    url = f"/clients/{record.id}/edit"
    a, b = Browser(live), Browser(live)
    a.sign_in(therapist.email, PASSWORD)
    b.sign_in(supervisor.email, PASSWORD)
    form_a = changed(form_fields(a.get(url).text), pronouns="they/them")
    form_b = changed(form_fields(b.get(url).text), pronouns="she/her")
    replies = race(lambda: a.post(url, form_a), lambda: b.post(url, form_b))
    assert sorted(r.status for r in replies) == [302, 409]
    loser = max(replies, key=lambda r: r.status)
    assert "Someone else saved this client" in loser.text
    db.session.expire_all()
    winner_pronouns = "they/them" if replies[0].status == 302 else "she/her"
    assert db.session.get(Client, record.id).pronouns == winner_pronouns
    assert len(updates("client", record.id)) == 1


def test_two_test_clients_racing_on_a_session_draft(clinic, monkeypatch):
    """The same therapist in two tabs saves one draft twice at the same moment."""
    from kaptracker.courses import sessions

    sid = factories.preparation(clinic, factories.course(clinic), signed=False).id
    tabs = [clinic.app.test_client(), clinic.app.test_client()]
    for tab in tabs:
        clinic._login(clinic.therapist, http=tab)
    forms = [dict(form_fields(raw(tab.get(f"/sessions/{sid}/edit")))) for tab in tabs]
    forms[0]["note"], forms[1]["note"] = "First tab's note.", "Second tab's note."
    hold_both(monkeypatch, sessions, "changed_fields")

    replies = race(*(lambda t=t, f=f: t.post(f"/sessions/{sid}/edit", data=f) for t, f in zip(tabs, forms)))

    assert sorted(r.status_code for r in replies) == [302, 409]
    loser = next(r for r in replies if r.status_code == 409)
    winner_note = forms[[r.status_code for r in replies].index(302)]["note"]
    loser_note = forms[[r.status_code for r in replies].index(409)]["note"]
    db.session.expire_all()
    assert db.session.get(ClinicalSession, sid).note == winner_note
    rows = conflict_rows(raw(loser))
    assert rows["Clinical note"] == (winner_note, loser_note, True)
    # The form on the conflict page starts again from the saved version.
    assert dict(form_fields(raw(loser)))["note"] == winner_note
    assert len(updates("preparation", sid)) == 1


def test_two_people_acknowledging_one_alert_at_once(clinic, monkeypatch):
    from kaptracker.vitals import views

    from kaptracker.rules.vitals import Level

    course_id = factories.ready(clinic).id
    did = factories.medicine(clinic, course_id, "im", "draft").id
    from kaptracker.models import VitalSign, utcnow
    from kaptracker.rules.vitals import Timepoint

    vital = VitalSign(session_id=did, taken_at=utcnow(), timepoint=Timepoint.BASELINE, systolic=204,
                      diastolic=96, heart_rate=80, recorded_by_id=clinic.medical.id)
    db.session.add(vital)
    db.session.flush()
    alert = SafetyAlert(session_id=did, vital_sign_id=vital.id, rule="critical_bp", level=Level.CRITICAL,
                        message="Systolic 204")
    db.session.add(alert)
    db.session.commit()
    people = [clinic.http(clinic.medical), clinic.http(clinic.supervisor)]
    hold_both(monkeypatch, views.AcknowledgeForm, "validate_on_submit")
    replies = race(*(lambda h=h, n=n: h.post(f"/alerts/{alert.id}/acknowledge", data={"acknowledgement_note": n})
                     for h, n in zip(people, ("Seen by medical.", "Seen by supervisor."))))
    assert all(r.status_code == 302 for r in replies)
    db.session.expire_all()
    saved = db.session.get(SafetyAlert, alert.id)
    first = [clinic.medical.id, clinic.supervisor.id].index(saved.acknowledged_by_id)
    assert saved.acknowledgement_note == ("Seen by medical.", "Seen by supervisor.")[first]
    assert len(updates("alert", alert.id)) == 1


# --- stale forms: every editable record ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["screening", "preparation", "dosing", "integration"])
def test_a_stale_session_form_of_every_kind_shows_both_versions(clinic, kind):
    course_id = factories.course(clinic).id if kind in ("screening", "preparation") else factories.ready(clinic).id
    if kind == "screening":
        sid, editor = factories.screening(clinic, course_id, signed=False).id, clinic.medical
    elif kind == "preparation":
        sid, editor = factories.preparation(clinic, course_id, signed=False).id, clinic.therapist
    elif kind == "dosing":
        sid, editor = factories.medicine(clinic, course_id, "im", "draft").id, clinic.medical
    else:
        dosing_id = factories.medicine(clinic, course_id, "im", "signed").id
        sid, editor = factories.integration(clinic, course_id, dosing_id, signed=False).id, clinic.therapist
    mine = dict(form_fields(raw(clinic.get(editor, f"/sessions/{sid}/edit"))))
    assert clinic.edit(editor, sid, **{**mine, "version": mine["version"], "note": "Saved first."}).status_code == 302
    mine["note"] = "Typed <script>alert(1)</script> later."
    response = clinic.post(editor, f"/sessions/{sid}/edit", mine)
    assert response.status_code == 409
    html = raw(response)
    rows = conflict_rows(html)
    label = next(k for k in rows if k.lower().endswith(" note"))
    assert rows[label] == ("Saved first.", "Typed <script>alert(1)</script> later.", True)
    assert "<script>alert(1)" not in html
    assert editor.name in parse(html).by_id("conflict").text
    assert sum(differs for *_, differs in rows.values()) == 1
    db.session.expire_all()
    assert db.session.get(ClinicalSession, sid).note == "Saved first."


def test_a_stale_account_edit_is_refused_with_both_versions(app, make_user, login):
    admin, other_admin = make_user("admin"), make_user("admin")
    target = make_user("therapist", name="Named Before")
    mine, theirs = app.test_client(), app.test_client()
    login(admin, http=mine)
    login(other_admin, http=theirs)
    my_form = dict(form_fields(raw(mine.get(f"/admin/users/{target.id}"))))
    their_form = dict(form_fields(raw(theirs.get(f"/admin/users/{target.id}"))))
    assert theirs.post(f"/admin/users/{target.id}", data={**their_form, "role": "supervisor"}).status_code == 302
    response = mine.post(f"/admin/users/{target.id}", data={**my_form, "name": "Named After"})
    assert response.status_code == 409
    rows = conflict_rows(raw(response))
    assert rows["Full name"] == ("Named Before", "Named After", True)
    assert rows["Role"] == ("Supervisor", "Therapist", True)
    assert other_admin.name in raw(response)
    assert "Start again from the saved version" in raw(response)
    db.session.expire_all()
    assert (db.session.get(User, target.id).name, db.session.get(User, target.id).role.value) == ("Named Before", "supervisor")


def test_a_stale_settings_form_is_refused_with_both_versions(app, make_user, login):
    from kaptracker import settings

    admin = make_user("admin")
    http = app.test_client()
    login(admin, http=http)
    form = dict(form_fields(raw(http.get("/admin/settings")), "reason"))
    settings.change("auth.lockout_threshold", 7, user=make_user("admin"), reason="Elsewhere")
    db.session.commit()
    form.update({"s_auth__idle_timeout_minutes": "20", "reason": "Mine"})
    response = http.post("/admin/settings", data=form)
    assert response.status_code == 409
    rows = conflict_rows(raw(response))
    differing = {label: (saved, yours) for label, (saved, yours, differs) in rows.items() if differs}
    assert len(differing) == 2 and ("7", "5") in differing.values() and ("15", "20") in differing.values()
    assert settings.get("auth.idle_timeout_minutes") == 15


def test_two_administrators_saving_settings_at_the_same_instant_one_gets_the_conflict_page(
        live, make_user, monkeypatch):
    """A settings save only inserts rows, so the newest row's id could not tell two racing saves
    apart: both succeeded. The revision row's UPDATE names the version each read: one loses."""
    from kaptracker import settings

    admins = [make_user("admin"), make_user("admin")]
    people = [Browser(live), Browser(live)]
    forms = []
    for person, admin, minutes in zip(people, admins, ("20", "25")):
        person.sign_in(admin.email, PASSWORD)
        form = dict(form_fields(person.get("/admin/settings").text, "reason"))
        forms.append({**form, "s_auth__idle_timeout_minutes": minutes, "reason": f"Set to {minutes}"})
    hold_both(monkeypatch, settings, "change")  # both have passed the version check

    replies = race(*(lambda p=p, f=f: p.post("/admin/settings", f) for p, f in zip(people, forms)))

    assert sorted(r.status for r in replies) == [302, 409], [(r.status, r.text[:300]) for r in replies]
    winner = [r.status for r in replies].index(302)
    loser = replies[1 - winner]
    db.session.expire_all()
    assert settings.get("auth.idle_timeout_minutes") == int(forms[winner]["s_auth__idle_timeout_minutes"])
    assert len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.UPDATE, AuditEvent.record_type == "setting")).all()) == 1
    rows = conflict_rows(loser.text)
    assert rows["Sign out after inactivity"][:2] == (forms[winner]["s_auth__idle_timeout_minutes"],
                                         forms[1 - winner]["s_auth__idle_timeout_minutes"])
    assert admins[winner].name in loser.text


def test_a_race_no_view_catches_still_gets_a_conflict_page_with_the_users_text(make_app, make_user, login):
    from sqlalchemy.orm.exc import StaleDataError

    from kaptracker.access import public

    app = make_app()

    @public
    def racing():
        raise StaleDataError("UPDATE statement on table 'course' expected to update 1 row(s); 0 were matched.")

    app.add_url_rule("/racing", "racing", racing, methods=["POST"])
    with app.app_context():
        response = app.test_client().post("/racing", data={"end_note": "My <i>reason</i>", "csrf_token": "x"})
    assert response.status_code == 409
    html = raw(response)
    assert "My &lt;i&gt;reason&lt;/i&gt;" in html and "<i>reason" not in html
    assert 'value="x"' not in html and ">x<" not in html  # the token is not echoed
    assert 'href="/racing"' in html
