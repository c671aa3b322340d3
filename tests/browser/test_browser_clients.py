"""The client registry in a real browser: caseload privacy, registering a client, name search."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote, urlsplit

from kaptracker import clock


def path_of(page) -> str:
    return urlsplit(page.url).path


def test_therapist_cannot_open_another_therapists_client(page, live_server, sign_in, shot, watch):
    """A therapist sees only their own caseload: another therapist's client answers 404 "Not
    found" (indistinguishable from a missing record) and reveals nothing of the client, while
    their own client opens."""
    other_id = live_server.ids["other_therapists_client"]
    other_name = live_server.names["other_therapists_client"]
    own_id = live_server.ids["own_client"]
    own_name = live_server.names["own_client"]
    sign_in(page, "therapist")

    # The refused page is a real 404; Chromium logs that status as a console error.
    watch.allow(rf"console error on .*/clients/{other_id}: .*status of 404")
    response = page.goto(f"/clients/{other_id}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text().strip() == "Not found"
    assert other_name not in page.content()
    shot(page, "1-other-therapists-client")

    # Not in the list either.
    page.goto("/clients/")
    assert page.locator(f'a[href="/clients/{other_id}"]').count() == 0
    assert page.locator(f'a[href="/clients/{own_id}"]').count() == 1
    assert other_name.split()[-1] not in page.locator("table").inner_text()

    response = page.goto(f"/clients/{own_id}")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text().startswith(own_name)
    shot(page, "2-own-client")


def test_therapist_registers_a_client_fixes_errors_and_finds_it_by_name(page, sign_in, shot):
    """Registering a client: the errors of a bad submission appear beside their fields and in a
    summary at the top, nothing typed is lost; once fixed the client is saved, listed, and found
    by the name search, which is POSTed so the name never appears in the URL."""
    sign_in(page, "therapist")  # therapists start on their caseload dashboard
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="Register a client").click()
    page.wait_for_url("**/clients/new")
    assert page.locator("h1").inner_text().strip() == "Register a client"

    future = (clock.today() + dt.timedelta(days=400)).isoformat()
    typed = {
        "#given_name": "Ottilie",
        "#family_name": "Marchbanks",
        "#preferred_name": "Otti",
        "#pronouns": "she/her",
        "#date_of_birth": future,
        "#record_number": "BR-7001",
        "#phone": "+1 555 0177",
        "#email": "ottilie.marchbanks@example.org",
        "#address": "12 Invented Row\nSpringfield",
        "#emergency_contact_name": "Perpetua Marchbanks",
        "#emergency_contact_relationship": "Sister",
    }
    for selector, value in typed.items():
        page.locator(selector).fill(value)
    # The emergency contact phone is left empty on purpose.
    page.get_by_label("PTSD / trauma").check()
    page.get_by_label("Anxiety").check()
    page.locator("#status").select_option("active")
    page.locator("#home_site_id").select_option(label="New York")  # the demo has two sites
    page.get_by_role("button", name="Save client").click()
    page.wait_for_load_state()

    # Still the form, with both errors beside their own fields.
    assert path_of(page) == "/clients/new"
    phone_field = page.locator(".field", has=page.locator("#emergency_contact_phone"))
    assert "Enter the emergency contact's phone number." in phone_field.locator(
        ".error-message"
    ).inner_text()
    dob_field = page.locator(".field", has=page.locator("#date_of_birth"))
    assert "cannot be in the future" in dob_field.locator(".error-message").inner_text()
    assert page.locator(".field--error").count() == 2
    for selector in ("#emergency_contact_phone", "#date_of_birth"):
        assert page.locator(selector).get_attribute("aria-invalid") == "true"

    # A summary at the top, above the form, linking to each field; it has the focus.
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    summary_box, form_box = summary.bounding_box(), page.locator("form.form").bounding_box()
    assert summary_box["y"] < form_box["y"]
    links = summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert sorted(links) == ["#date_of_birth", "#emergency_contact_phone"]
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    shot(page, "1-errors")

    # Nothing typed was lost.
    for selector, value in typed.items():
        assert page.locator(selector).input_value() == value, selector
    assert page.get_by_label("PTSD / trauma").is_checked()
    assert page.get_by_label("Anxiety").is_checked()
    assert not page.get_by_label("Burnout").is_checked()
    assert page.locator("#status").input_value() == "active"

    # Fix both and save.
    page.locator("#date_of_birth").fill("1984-06-15")
    page.locator("#emergency_contact_phone").fill("+1 555 0178")
    page.get_by_role("button", name="Save client").click()
    page.wait_for_url(re.compile(r"/clients/\d+$"))
    assert page.locator("h1").inner_text().startswith("Ottilie Marchbanks")
    assert page.get_by_text("Ottilie Marchbanks is registered.").is_visible()
    assert page.get_by_text("15 Jun 1984").is_visible()
    assert page.get_by_text("Perpetua Marchbanks").is_visible()
    client_path = path_of(page)
    shot(page, "2-saved")

    # Listed in the therapist's caseload.
    page.get_by_role("link", name="Clients", exact=True).click()
    page.wait_for_url("**/clients/")
    listed = page.get_by_role("link", name="Marchbanks, Ottilie (Otti)", exact=True)
    assert listed.count() == 1
    assert listed.get_attribute("href") == client_path

    # Found by name; the search is POSTed, so the name stays out of the URL and history.
    with page.expect_request(lambda r: r.method == "POST" and urlsplit(r.url).path == "/clients/"):
        page.get_by_label("Name or record number").fill("Marchbanks")
        page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "BR-7001" in rows.first.inner_text()
    assert page.get_by_label("Name or record number").input_value() == "Marchbanks"
    assert "marchbanks" not in unquote(page.url).lower()
    history = page.evaluate("() => [location.href, document.referrer]")
    assert not any("marchbanks" in unquote(u).lower() for u in history)
    shot(page, "3-search")
