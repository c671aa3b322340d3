"""Issue 5's "Done when", in Chromium on the demo clinic: a supervisor sees the whole clinic on one
page, finds every kind of flagged item, opens one and co-signs a note; a therapist charts a
client's PHQ-9 across the course and reads whether it responded.

Screenshots go to test-artifacts/screenshots/ (the ``shot`` fixture) and to /tmp/shots/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import sqlalchemy as sa

from .conftest import _screenshots_wanted, email

SHOTS = Path("/tmp/shots")
# The demo clinic has every kind of flagged item.
DEMO_KINDS = ("alert", "self_harm", "override", "screening", "integration", "unsigned", "review",
              "no_contact", "over_plan")


def keep(path: Path) -> None:
    """Copy a screenshot to /tmp/shots for people to look at (none is taken with
    KAPTRACKER_SCREENSHOTS=0, as in CI)."""
    if path.exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def chip_counts(page) -> dict[str, int]:
    """{flag key: the count on its chip}."""
    counts = {}
    for chip in page.locator(".flag-chips a").all():
        key = re.search(r"flag=([a-z_]+)", chip.get_attribute("href")).group(1)
        counts[key] = int(chip.locator("strong").inner_text())
    return counts


def test_a_supervisor_sees_the_clinic_finds_every_flag_and_cosigns(page, live_server, sign_in, shot):
    from kaptracker.extensions import db
    from kaptracker.models import User
    from kaptracker.rules.access import Role

    with live_server.app.app_context():
        therapists = db.session.scalars(sa.select(User.name).where(User.role == Role.THERAPIST)).all()
        db.session.remove()

    sign_in(page, "supervisor")
    assert page.url.rstrip("/").endswith("/dashboard"), page.url
    assert page.get_by_role("heading", name="Caseload", exact=True).is_visible()
    keep(shot(page, "1-dashboard"))
    # Every therapist, with clients by phase.
    phase_table = page.locator("table.phase-table")
    for name in therapists:
        assert phase_table.get_by_role("rowheader", name=name).is_visible(), name
    headers = phase_table.locator("thead th").all_inner_texts()
    assert headers[:3] == ["Therapist", "Clients", "No open course"]
    assert {"Preparation", "Medicine", "Integration", "Completed", "Discontinued"} <= set(headers), headers
    total_clients = sum(int(t) for t in phase_table.locator("tbody td[data-label=Clients]").all_inner_texts())
    assert total_clients >= 10

    counts = chip_counts(page)
    missing = [k for k in DEMO_KINDS if counts.get(k, 0) == 0]
    assert not missing, counts
    worklist_total = int(re.search(r"\((\d+)\)", page.locator("#h-work").inner_text()).group(1))
    assert worklist_total == sum(counts.values())

    # Each chip lists its items, each with a link to the record.
    for key in (k for k, n in counts.items() if n):
        page.locator(f".flag-chips a[href*='flag={key}']").click()
        page.wait_for_url(re.compile(rf"flag={key}"))
        rows = page.locator("table.worklist tbody tr")
        assert rows.count() == min(counts[key], 25), key
        assert page.locator(f"table.worklist tbody tr[data-kind={key}]").count() == rows.count()
        assert rows.first.locator("td[data-label=Open] a").is_visible()
        if key in ("self_harm", "override"):
            keep(shot(page, f"2-chip-{key}"))

    # Open a self-harm flag: it lands on the flag on the course page.
    page.locator(".flag-chips a[href*='flag=self_harm']").click()
    page.locator("table.worklist tbody tr").first.get_by_role("link", name="Open the flag").click()
    target = urlsplit_fragment(page.url)
    assert target.startswith("flag-")
    flag = page.locator(f"#{target}")
    assert flag.is_visible() and "PHQ-9 item 9 answered" in flag.inner_text()
    keep(shot(page, "3-flag-on-course"))

    # Open an override to review.
    page.goto("/dashboard/?flag=override")
    page.locator("table.worklist tbody tr").first.get_by_role("link", name="Review the override").click()
    assert "/overrides/" in page.url
    assert page.get_by_label("Review note").is_visible()
    keep(shot(page, "4-override"))

    # Co-sign a note from a supervisee's worklist.
    page.get_by_role("link", name="Co-signing").first.click()
    page.wait_for_url("**/supervision/**")
    keep(shot(page, "5-cosign-figures"))
    waiting = page.locator("table.supervisee-table a", has_text="to co-sign")
    assert waiting.count() > 0
    waiting.first.click()
    page.wait_for_url(re.compile(r"therapist=\d+"))
    heading = page.locator("#h-notes").inner_text()
    before = int(re.search(r"\((\d+)", heading).group(1))
    assert before > 0
    keep(shot(page, "6-cosign-list"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Co-sign").first.click()
    page.wait_for_load_state()
    assert page.get_by_text("co-signed.").first.is_visible()
    after = int(re.search(r"\((\d+)", page.locator("#h-notes").inner_text()).group(1))
    assert after == before - 1
    keep(shot(page, "7-cosigned"))


def urlsplit_fragment(url: str) -> str:
    return url.split("#", 1)[1] if "#" in url else ""


def _phq9_client(app):
    """(client id, course id, baseline, latest, medicine sessions) of a demo client of the demo
    therapist whose course has PHQ-9 scores before and after medicine sessions."""
    from kaptracker.extensions import db
    from kaptracker.models import Client, ClinicalSession, Course, OutcomeScore, SessionKind, User
    from kaptracker.rules.scales import Scale

    with app.app_context():
        therapist = db.session.scalar(sa.select(User).where(User.email == email("therapist")))
        candidates = []
        for course in db.session.scalars(sa.select(Course).join(Client).where(
                Client.therapist_id == therapist.id).order_by(Course.id)):
            phq = db.session.scalars(sa.select(OutcomeScore).where(
                OutcomeScore.course_id == course.id, OutcomeScore.scale == Scale.PHQ9,
                OutcomeScore.entered_in_error_at.is_(None)).order_by(OutcomeScore.completed_on)).all()
            medicine = db.session.scalar(sa.select(sa.func.count()).select_from(ClinicalSession).where(
                ClinicalSession.course_id == course.id, ClinicalSession.kind == SessionKind.DOSING))
            if len(phq) >= 3 and medicine >= 2:
                candidates.append((len(phq), course.client_id, course.id, [s.total for s in phq], medicine))
        db.session.remove()
    assert candidates, "the demo therapist has no client with a PHQ-9 history across medicine sessions"
    _, client_id, course_id, totals, medicine = max(candidates)
    return client_id, course_id, totals, medicine


def test_a_therapist_charts_a_clients_phq9(page, live_server, sign_in, shot):
    client_id, course_id, totals, medicine = _phq9_client(live_server.app)
    sign_in(page, "therapist")
    page.goto(f"/clients/{client_id}")
    section = page.locator("section.client-outcomes")
    assert section.is_visible()
    figure = section.locator("figure.scale-chart", has=page.locator("title", has_text="PHQ-9 over the course")).first
    figure.scroll_into_view_if_needed()
    assert figure.is_visible()
    chart = figure.locator("svg:visible")  # the wide or the narrow variant, whichever fits
    assert chart.count() == 1
    assert chart.locator("circle.score-point").count() == len(totals)
    assert chart.locator("line.dose-mark").count() == medicine
    assert chart.locator("text.dose-label").all_text_contents() == [f"M{n}" for n in range(1, medicine + 1)]
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100, box
    sentence = section.locator("ul.outcome-sentences li", has_text="PHQ-9:").first.inner_text()
    baseline, latest = totals[0], totals[-1]
    assert sentence.startswith(f"PHQ-9: {baseline} at baseline, {latest} on "), sentence
    responded = baseline > 0 and (baseline - latest) * 100 >= 50 * baseline
    assert f"Response (a drop of 50 % or more): {'yes' if responded else 'no'}." in sentence
    assert f"Remission (below 5): {'yes' if latest < 5 else 'no'}." in sentence
    keep(shot(page, "1-client-phq9"))
    if _screenshots_wanted():
        figure.screenshot(path=str(SHOTS / "phq9-chart.png"))
    # The course page shows the same chart, with the scores' table.
    page.goto(f"/courses/{course_id}#outcomes")
    assert page.locator("#outcomes figure.scale-chart").first.is_visible()
    keep(shot(page, "2-course-outcomes"))
