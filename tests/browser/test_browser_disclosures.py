"""The accounting of disclosures in a real browser: a therapist exports a client's record (the
purpose asked first, a missing one explained beside the field), then opens the client's
disclosures page from the client's page, at phone and desktop widths."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_an_export_asks_its_purpose_and_is_listed_in_the_disclosures(page, live_server, sign_in, shot, watch):
    client_id = live_server.ids["course_client"]
    course_id = live_server.ids["course"]
    sign_in(page, "therapist")

    # The purpose is asked before anything leaves; a missing choice is explained beside the field.
    page.goto(f"/clients/{client_id}")
    page.get_by_role("link", name="Export record (FHIR)").click()
    page.wait_for_url(f"**/clients/{client_id}/fhir")
    assert page.locator("h1").inner_text().strip() == "Export the whole record (FHIR R4)"
    watch.allow(r"console error on .*/fhir: .*status of 422")
    page.get_by_label("Purpose of the export").select_option("treatment")
    page.get_by_role("button", name="Download").click()
    page.wait_for_load_state()
    # Treatment elsewhere needs its recipient; the choice made stays.
    assert "Write who receives" in page.locator("#recipient-error").inner_text()
    assert page.get_by_label("Purpose of the export").input_value() == "treatment"
    shot(page, "1-recipient-missing")

    page.get_by_label("Purpose of the export").select_option("client_request")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename.endswith("-fhir-r4.json")

    page.goto(f"/courses/{course_id}/vitals.csv")
    page.get_by_label("Purpose of the export").select_option("treatment")
    page.get_by_label("Who receives it").fill("Dr Imani Osei, Riverside Psychiatry")
    with page.expect_download():
        page.get_by_role("button", name="Download").click()

    # The client's page links to the accounting, which lists both, newest first.
    page.goto(f"/clients/{client_id}")
    page.get_by_role("link", name="Disclosures").click()
    page.wait_for_url(f"**/clients/{client_id}/disclosures")
    rows = page.locator("tbody tr")
    assert rows.count() >= 2
    assert "Vitals of a course (CSV)" in rows.nth(0).inner_text()
    assert "Treatment: sent to another provider" in rows.nth(0).inner_text()
    assert "Dr Imani Osei, Riverside Psychiatry" in rows.nth(0).inner_text()
    assert "Whole record (FHIR R4 bundle)" in rows.nth(1).inner_text()
    assert "The client asked for a copy" in rows.nth(1).inner_text()
    assert "the client" in rows.nth(1).inner_text()

    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        # Nothing wider than the screen: the table folds into labelled rows on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"disclosures-{width}.png"), full_page=True)
        shot(page, f"2-disclosures-{width}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download (CSV)").click()
    assert download.value.suggested_filename.startswith("disclosures-")
