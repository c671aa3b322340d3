"""Vitals in a medicine session, in a real browser, as medical staff work at the chair.

The client: the demo clinic's open IM course with nothing blocking a medicine session (eligible
screening signed, a preparation note signed), preferring one in the medicine phase. Each test
opens a NEW IM medicine session for it through the course page, started in the past in the
zone of the client's home site, and types every later time relative to that start.

1. From the keyboard alone (type, Tab, Enter): a baseline in the order the cuff shows it, the IM
   dose on the session page, a reading every 15 minutes; discharge is refused before the minimum
   observation and accepted after it; the chart shows one point per reading and the dose.
2. A series of readings through every band: a caution baseline (not blocking), a held baseline
   (the dose is refused until an override), sustained high blood pressure, critical blood
   pressure, sustained tachycardia, bradycardia and low SpO2 alerts, each acknowledged with a
   note; one reading marked entered in error and struck through.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
import re
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from kaptracker import clock
from kaptracker.rules.vitals import RULE_LABELS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
IM = "Intramuscular (IM) injection"
VITALS_URL = re.compile(r"/sessions/\d+/vitals$")
SESSION_URL = re.compile(r"/sessions/\d+$")
# The vitals form, in the order Tab visits it: the cuff's order (systolic / diastolic, pulse),
# then the oximeter, then when, then the note and the button.
VITALS_TAB_ORDER = ["systolic", "diastolic", "heart_rate", "spo2", "timepoint", "taken_at", "note",
                    "button:Save reading"]


# --- looking things up ---------------------------------------------------------------------


def im_course(app) -> tuple[int, str, str]:
    """(course id, client name) of the demo's open IM course that may have a medicine session
    now, preferring one in the medicine phase."""
    from kaptracker.courses import service
    from kaptracker.extensions import db
    from kaptracker.models import Course
    from kaptracker.rules import phases
    from kaptracker.rules.dosing import Route

    with app.app_context():
        found = []
        for course in db.session.scalars(
            sa.select(Course).where(Course.planned_route == Route.IM, Course.end_reason.is_(None))
            .order_by(Course.id)
        ):
            facts = service.facts(course, service.load_course_sessions(course))
            if not phases.medicine_blockers(facts):
                found.append((phases.phase(facts) is not phases.Phase.MEDICINE, course.id, course.client.full_name,
                              course.client.home_site.time_zone))
        db.session.remove()
    assert found, "the demo seed has no open IM course ready for a medicine session"
    _, course_id, name, zone = min(found)
    return course_id, name, zone


def clinic_now(zone: str) -> dt.datetime:
    """Now, to the minute, on the wall of the client's home site (where its sessions are held):
    a ``clock.on_wall`` time, so minutes added or taken away count truly across a DST change."""
    return clock.on_wall(clock.now().replace(second=0, microsecond=0), zoneinfo.ZoneInfo(zone))


def local(moment: dt.datetime) -> str:
    """The value a datetime-local field takes."""
    return clock.wall_time(moment).strftime("%Y-%m-%dT%H:%M")


def shown(moment: dt.datetime) -> str:
    return clock.wall_time(moment).strftime("%d %b %Y %H:%M")


def hm(moment: dt.datetime) -> str:
    """A clinic time as the charts and messages quote it."""
    return clock.wall_time(moment).strftime("%H:%M")


def path_of(page) -> str:
    return urlsplit(page.url).path


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def error_beside(page, field_id: str):
    field = page.locator(f"fieldset#{field_id}").or_(page.locator(".field", has=page.locator(f"#{field_id}")))
    return field.locator(".error-message")


def element_shot(locator, test: str, step: str) -> Path:
    path = SCREENSHOTS / f"{test}--{step}.png"
    locator.screenshot(path=str(path))
    return path


def open_new_im_session(page, course_id: int, started: dt.datetime) -> str:
    """As medical staff: "New medicine session" on the course page, route IM. Its path."""
    page.goto(f"/courses/{course_id}")
    page.get_by_role("link", name="New medicine session").click()
    page.wait_for_url("**/sessions/new/dosing")
    page.get_by_label("Route").select_option(label=IM)
    page.get_by_label("Session started").fill(local(started))
    page.get_by_role("button", name="Open medicine session").click()
    page.wait_for_url(SESSION_URL)
    assert "Medicine session saved as a draft." in flash(page)
    return path_of(page)


# --- the keyboard --------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const button = el.tagName === "BUTTON" || (el.tagName === "INPUT" && ["submit", "button"].includes(el.type));
  if (button) return "button:" + (el.value || el.innerText).trim();
  return el.id || el.tagName.toLowerCase() + ":" + (el.innerText || "").trim().slice(0, 40);
}"""


def focused(page) -> str:
    """The focused element: its id, or "button:<its text>" for a button."""
    return page.evaluate(FOCUSED)


def tab_to(page, target: str, limit: int = 60) -> list[str]:
    """Press Tab until ``target`` (as ``focused`` names it) has the focus. Returns what the focus
    passed through, each element once (a date-time field takes several Tabs: one per part)."""
    visited: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if not visited or visited[-1] != now:
            visited.append(now)
        if now == target:
            return visited
    raise AssertionError(f"{target!r} not reached by Tab; the focus went through {visited}")


DATETIME_PARTS = """() => {
  const format = new Intl.DateTimeFormat(navigator.language, {year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit"});
  return {parts: format.formatToParts(new Date(2026, 0, 2, 3, 4)).map(p => p.type).filter(t => t !== "literal"),
          hourCycle: format.resolvedOptions().hourCycle};
}"""


def type_datetime(page, moment: dt.datetime) -> None:
    """Type ``moment`` into the focused datetime-local field, part by part as Chromium shows them
    for the browser's locale (e.g. mm/dd/yyyy, hh:mm AM). Two-digit parts move on by themselves;
    the year (up to six digits) needs a Tab."""
    layout = page.evaluate(DATETIME_PARTS)
    twelve = layout["hourCycle"] in ("h11", "h12")
    hour = (moment.hour % 12 or 12) if twelve else moment.hour
    parts = layout["parts"]
    for i, part in enumerate(parts):
        if part == "year":
            page.keyboard.type(str(moment.year))
            if i < len(parts) - 1:
                page.keyboard.press("Tab")
        elif part == "dayPeriod":
            page.keyboard.type("P" if moment.hour >= 12 else "A")
        else:
            value = {"month": moment.month, "day": moment.day, "hour": hour, "minute": moment.minute}[part]
            page.keyboard.type(f"{value:02d}")


def submit_with_enter(page) -> None:
    """Enter on the focused button, waiting for the page it loads."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def keyboard_reading(page, bp, pulse: int, spo2: int, at: dt.datetime, timepoint: str | None = None) -> None:
    """On the vitals page, from the keyboard alone: the systolic field has the focus when the page
    opens; type each value, Tab to the next; Tab to "Save reading" and press Enter."""
    assert focused(page) == "systolic", "the systolic field should have the focus on arrival"
    passed = ["systolic"]
    for value in (bp[0], bp[1], pulse, spo2):
        page.keyboard.type(str(value))
        page.keyboard.press("Tab")
        passed.append(focused(page))
    if timepoint:  # a closed select takes the first letters of an option
        page.keyboard.type(timepoint)
    passed += tab_to(page, "taken_at", limit=1)
    type_datetime(page, at)
    assert page.locator("#taken_at").input_value() == local(at)
    passed += tab_to(page, "note", limit=10)
    passed += tab_to(page, "button:Save reading", limit=1)
    assert [name for i, name in enumerate(passed) if i == 0 or passed[i - 1] != name] == VITALS_TAB_ORDER
    submit_with_enter(page)
    assert VITALS_URL.search(path_of(page))


# --- 1. keyboard only, from baseline to discharge --------------------------------------------


def test_vitals_from_the_keyboard_from_baseline_to_discharge(page, live_server, sign_in, shot, request):
    app = live_server.app
    course_id, client_name, zone = im_course(app)
    start = clinic_now(zone) - dt.timedelta(minutes=120)
    dose_at = start + dt.timedelta(minutes=5)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    sign_in(page, "medical")
    session_path = open_new_im_session(page, course_id, start)
    vitals_path = f"{session_path}/vitals"

    # The baseline, as the cuff shows it: systolic / diastolic, pulse; then SpO2.
    page.goto(vitals_path)
    assert page.locator("h1").inner_text().startswith("Vitals · medicine session")
    assert client_name in page.locator(".page-header .eyebrow").text_content()
    assert page.locator("#timepoint").input_value() == "baseline"  # suggested before the dose
    shot(page, "01-vitals-empty")
    keyboard_reading(page, (128, 82), 72, 98, start + dt.timedelta(minutes=2))
    assert "Reading saved: 128/82, pulse 72." in flash(page)
    assert "128/82" in page.locator(".vitals-latest").inner_text()

    # The IM dose on the session page: Tab from the dose form's anchor through its fields.
    page.goto(f"{session_path}#add-dose")
    assert page.get_by_role("heading", name=f"Record the dose ({IM})").is_visible()
    tab_to(page, "given_at")
    type_datetime(page, dose_at)
    assert page.locator("#given_at").input_value() == local(dose_at)
    tab_to(page, "weight_kg", limit=10)
    page.keyboard.type("84")
    assert tab_to(page, "mg_per_kg", limit=1)
    page.keyboard.type("0.5")
    assert tab_to(page, "injection_site", limit=1)
    page.keyboard.type("Right d")
    assert page.locator("#injection_site").input_value() == "deltoid_right"
    tab_to(page, "button:Calculate dose", limit=3)
    submit_with_enter(page)
    preview = page.locator(".dose-preview")
    assert "This dose: 42.0 mg (0.5 mg/kg × 84 kg)" in preview.inner_text()
    assert "within the usual" in preview.inner_text()
    shot(page, "02-dose-calculated")
    tab_to(page, "button:Save dose")
    submit_with_enter(page)
    assert SESSION_URL.search(path_of(page))
    assert "Dose of 42.0 mg recorded." in flash(page)
    doses = page.locator("#doses table").inner_text()
    assert "0.5 mg/kg × 84 kg" in doses and "right deltoid" in doses.lower()

    # A reading every 15 minutes from the start; "During the session" is suggested after a dose.
    page.goto(vitals_path)
    assert page.locator("#timepoint").input_value() == "during"
    during = [(15, (134, 86), 78, 97), (30, (138, 88), 80, 97), (45, (132, 84), 76, 98),
              (60, (126, 80), 74, 98), (75, (122, 78), 72, 98)]
    for minutes, bp, pulse, spo2 in during:
        keyboard_reading(page, bp, pulse, spo2, start + dt.timedelta(minutes=minutes))
        assert f"Reading saved: {bp[0]}/{bp[1]}, pulse {pulse}." in flash(page)
    rows = page.locator("section[aria-labelledby=h-table] tbody tr")
    assert rows.count() == 6
    assert page.locator(".alerts").count() == 0  # nothing out of range
    shot(page, "03-vitals-during")

    # Discharge 30 minutes after the dose: refused, the reason beside "Discharged at".
    page.goto(session_path)
    page.get_by_role("link", name="Edit draft").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/edit$"))
    page.get_by_label("Discharged at").fill(local(dose_at + dt.timedelta(minutes=30)))
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert re.search(r"/sessions/\d+/edit$", path_of(page))
    refusal = error_beside(page, "discharged_at").inner_text()
    assert "Too early to discharge: 30 minutes of observation remain" in refusal
    assert (f"until {hm(dose_at + dt.timedelta(minutes=60))} ({IM}: at least 60 minutes after the last "
            f"dose (given {hm(dose_at)}))") in refusal
    assert "No discharge reading" in refusal
    shot(page, "04-discharge-too-early")

    # A discharge reading, then discharge after the minimum observation: accepted.
    page.goto(vitals_path)
    discharge_reading_at = start + dt.timedelta(minutes=80)
    keyboard_reading(page, (120, 78), 70, 98, discharge_reading_at, timepoint="Bef")
    assert "Reading saved: 120/78, pulse 70." in flash(page)
    assert "Before discharge" in page.locator("section[aria-labelledby=h-table] tbody tr").last.inner_text()
    discharged = start + dt.timedelta(minutes=85)
    page.goto(f"{session_path}/edit")
    page.get_by_label("Session ended").fill(local(start + dt.timedelta(minutes=82)))
    page.get_by_label("Discharged at").fill(local(discharged))
    for criterion in ("Vitals back near baseline", "Alert and oriented", "Walking steadily",
                      "A responsible adult takes the client home"):
        page.get_by_label(criterion).check()
    page.get_by_label("Escort home").fill("Lotte (sister)")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(SESSION_URL)
    assert "Draft saved." in flash(page)
    assert shown(discharged) in page.locator(".summary-list").inner_text()

    # The chart: one point per reading on each line, and the dose as a vertical line.
    page.goto(vitals_path)
    assert f"discharged {hm(discharged)}" in page.locator(".page-header").inner_text()
    chart = page.locator("section[aria-labelledby=h-chart] svg:visible")  # the variant that fits
    assert chart.is_visible()
    for line in ("systolic", "diastolic", "heart"):
        assert chart.locator(f"circle.line-{line}-point").count() == 7, line
        assert len(chart.locator(f"polyline.line-{line}").get_attribute("points").split()) == 7
    assert chart.locator("line.dose-mark").count() == 1
    assert chart.locator("text.dose-label").text_content() == f"dose {hm(dose_at)}"
    assert chart.locator("circle.line-systolic-point title").first.text_content() == (
        f"Systolic 128 at {hm(start + dt.timedelta(minutes=2))}")
    assert page.locator("#vitals-chart-desc").text_content().startswith("7 readings from")
    # Drawn at a readable size: near its full 760 px width, shorter than a screen.
    box = chart.bounding_box()
    assert box["width"] >= 600 and box["height"] < 600
    element_shot(page.locator("figure.vitals-chart"), test, "05-chart")
    shot(page, "06-vitals-desktop")

    # A tablet held upright: the four numbers on one row in the cuff's order, equally wide.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(vitals_path)  # a draft session: the entry form is still there after discharge
    assert focused(page) == "systolic"
    boxes = cuff_fields(page)
    assert all(abs(b["y"] - boxes[0]["y"]) < 2 for b in boxes), boxes
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
    widths = [b["width"] for b in boxes]
    assert max(widths) - min(widths) < 2 and min(widths) >= 120, widths
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    shot(page, "07-vitals-tablet")

    # A phone: two by two, systolic / diastolic above pulse and SpO2.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(vitals_path)
    systolic, diastolic, pulse, spo2 = boxes = cuff_fields(page)
    assert abs(systolic["y"] - diastolic["y"]) < 2 and systolic["x"] < diastolic["x"]
    assert abs(pulse["y"] - spo2["y"]) < 2 and pulse["x"] < spo2["x"] and pulse["y"] > systolic["y"]
    widths = [b["width"] for b in boxes]
    assert max(widths) - min(widths) < 2 and min(widths) >= 120, widths
    shot(page, "08-vitals-phone")


def cuff_fields(page) -> list[dict]:
    """Where systolic, diastolic, pulse and SpO2 are drawn, in that order."""
    return [page.locator(f"#{name}").bounding_box() for name in ("systolic", "diastolic", "heart_rate", "spo2")]


# --- 2. every band, each alert acknowledged --------------------------------------------------


def test_vitals_through_every_band_with_alerts_acknowledged(page, live_server, sign_in, shot, watch):
    app = live_server.app
    course_id, _, zone = im_course(app)
    start = clinic_now(zone) - dt.timedelta(minutes=100)
    # A dose refused while the baseline is held answers 409, which Chromium logs.
    watch.allow(r"/administrations(#add-dose)?: .*status of 409")

    def at(minutes: int) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    sign_in(page, "medical")
    session_path = open_new_im_session(page, course_id, start)
    vitals_path = f"{session_path}/vitals"
    page.goto(vitals_path)

    def reading(bp, pulse, spo2, minutes, timepoint=None):
        page.get_by_label("Systolic", exact=True).fill(str(bp[0]))
        page.get_by_label("Diastolic", exact=True).fill(str(bp[1]))
        page.get_by_label("Pulse", exact=True).fill(str(pulse))
        page.get_by_label("SpO₂ %").fill(str(spo2))
        if timepoint:
            page.get_by_label("Timepoint").select_option(label=timepoint)
        page.get_by_label("Taken at").fill(local(at(minutes)))
        page.get_by_role("button", name="Save reading").click()
        page.wait_for_url(VITALS_URL)

    open_alerts = page.locator("section.alerts .alert")
    history = page.locator("section[aria-labelledby=h-history]")

    def alert_for(rule: str):
        # Each alert names its rule in words (RULE_LABELS), not by its stored key.
        return open_alerts.filter(has=page.locator(".hint", has_text=RULE_LABELS[rule]))

    def acknowledge(rule: str, level: str, expected: list[str], note: str) -> None:
        """The open alert of ``rule`` says ``expected`` (its rule in plain words); acknowledge it
        with ``note``: it leaves the alerts to acknowledge for the alert history."""
        alert = alert_for(rule)
        assert alert.count() == 1, open_alerts.all_inner_texts()
        text = alert.inner_text()
        assert text.startswith(f"{level}:"), text
        for words in expected:
            assert words in text, (words, text)
        alert.get_by_label("Action taken").fill(note)
        alert.get_by_role("button", name="Acknowledge").click()
        page.wait_for_url(VITALS_URL)
        assert "Alert acknowledged." in flash(page)
        assert alert_for(rule).count() == 0
        acknowledged = history.locator("li", has_text=expected[0])
        assert acknowledged.count() == 1
        assert "acknowledged by" in acknowledged.inner_text() and f"({note})" in acknowledged.inner_text()

    def no_alerts_left() -> None:
        assert page.locator("section.alerts").count() == 0
        assert page.get_by_role("heading", name="Safety alerts to acknowledge").count() == 0

    # Baseline 145/92: a caution, shown before the dose and as an alert, that does not block it.
    reading((145, 92), 80, 98, 2)
    assert "Reading saved. 1 safety alert(s): see below and acknowledge." in flash(page)
    gate = page.locator("section[aria-labelledby=h-gate]")
    assert "Caution: Baseline 145/92" in gate.inner_text() and "Held:" not in gate.inner_text()
    assert "consider delaying at 140/90 or more" in gate.inner_text()
    assert page.get_by_role("button", name="Record override").count() == 0
    acknowledge("baseline_caution", "Caution", [
        f"Baseline 145/92, heart rate 80 at {hm(at(2))}",
        "caution — systolic 145 is 140 or more, diastolic 92 is 90 or more"],
        "Rested 10 minutes, client calm; repeated.")
    no_alerts_left()

    def dose_form(given_minutes: int) -> None:
        page.goto(f"{session_path}#add-dose")
        page.get_by_label("Given at").fill(local(at(given_minutes)))
        page.get_by_label("Weight (kg)").fill("84")
        page.get_by_label("Dose (mg/kg)").fill("0.5")
        page.get_by_label("Injection site").select_option(label="Left deltoid")
        page.get_by_role("button", name="Calculate dose").click()
        page.wait_for_load_state()

    dose_form(3)
    assert "This dose: 42.0 mg" in page.locator(".dose-preview").inner_text()  # not held
    assert error_beside(page, "given_at").count() == 0

    # A second baseline, 165/95: the dose is held.
    page.goto(vitals_path)
    reading((165, 95), 84, 98, 4, timepoint="Baseline (before the dose)")
    assert "Held: Baseline 165/95" in page.locator("section[aria-labelledby=h-gate]").inner_text()
    acknowledge("baseline_hold", "Hold", [
        f"Baseline 165/95, heart rate 84 at {hm(at(4))}", "hold the dose — systolic 165 is 160 or more",
        "Dose only if medical staff record an override with a reason."],
        "Medical lead informed; override considered.")
    no_alerts_left()
    dose_form(6)
    held = error_beside(page, "given_at").inner_text()
    assert "Baseline 165/95" in held and "hold the dose — systolic 165 is 160 or more" in held
    assert page.locator(".dose-preview").count() == 0
    assert page.get_by_text("No dose recorded yet.").is_visible()
    shot(page, "01-dose-held")

    # The override, with its reason; then the dose saves.
    page.goto(vitals_path)
    page.get_by_label("Dose given despite a held baseline").check()
    page.get_by_label("Clinical reason").fill(
        "Known white-coat rise, 130s at home all week; medical lead agrees to dose with 5-minute readings.")
    shot(page, "02-override-form")
    page.get_by_role("button", name="Record override").click()
    page.wait_for_url(VITALS_URL)
    assert "Override recorded: dose given despite a held baseline." in flash(page)
    overrides = page.locator("section[aria-labelledby=h-overrides]").inner_text()
    assert "Dose given despite a held baseline by" in overrides and "Known white-coat rise" in overrides
    assert "Override recorded by" in page.locator("section[aria-labelledby=h-gate]").inner_text()
    dose_form(6)
    assert error_beside(page, "given_at").count() == 0
    page.get_by_role("button", name="Save dose").click()
    page.wait_for_url(re.compile(r"/sessions/\d+#doses$"))
    assert "Dose of 42.0 mg recorded." in flash(page)

    # 182/112, then 184/111 five minutes later: sustained high blood pressure.
    page.goto(vitals_path)
    reading((182, 112), 88, 97, 20)
    assert "Reading saved: 182/112, pulse 88." in flash(page)
    no_alerts_left()  # one high reading is not yet an alert
    reading((184, 111), 90, 97, 25)
    assert "Reading saved. 1 safety alert(s): see below and acknowledge." in flash(page)
    shot(page, "03-sustained-high-alert")
    acknowledge("sustained_high_bp", "Alert", [
        f"Systolic 182 at {hm(at(20))} and 184 at {hm(at(25))}",
        "(two readings at or above 180/110, 5+ minutes apart): sustained high blood pressure"],
        "Physician at the chair; lights dimmed, repeat in 5 minutes.")
    no_alerts_left()

    # 205/121: critical at once.
    reading((205, 121), 92, 97, 30)
    assert page.locator("section.alerts .alert--critical").count() == 1
    shot(page, "04-critical-alert")
    page.set_viewport_size({"width": 768, "height": 1024})  # the same on a tablet
    page.goto(vitals_path)
    ack = alert_for("critical_bp")
    assert ack.get_by_label("Action taken").bounding_box()["width"] >= 300
    assert ack.get_by_role("button", name="Acknowledge").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    shot(page, "04-critical-alert-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})
    acknowledge("critical_bp", "Critical", [
        f"Blood pressure 205/121 at {hm(at(30))}",
        "(a single reading at or above 200/120): critical blood pressure"],
        "Physician gave labetalol 10 mg IV per protocol.")
    no_alerts_left()

    # Pulse 130 twice, 5 minutes apart: sustained fast heart rate.
    reading((150, 90), 130, 97, 35)
    no_alerts_left()
    reading((148, 88), 130, 97, 40)
    acknowledge("tachycardia", "Alert", [
        f"Heart rate 130 at {hm(at(35))} and 130 at {hm(at(40))}",
        "(two readings above 120, 5+ minutes apart): sustained fast heart rate"],
        "ECG: sinus tachycardia; reassured, slow breathing.")
    no_alerts_left()

    # Pulse 45: slow heart rate.
    reading((128, 80), 45, 97, 45)
    acknowledge("bradycardia", "Alert", [f"Heart rate 45 at {hm(at(45))}", "(below 50): slow heart rate"],
                "Manual pulse 62: the oximeter had lost contact.")
    no_alerts_left()

    # SpO2 90: low oxygen saturation.
    reading((126, 80), 76, 90, 50)
    acknowledge("low_spo2", "Alert", [f"SpO₂ 90 % at {hm(at(50))}", "(below 92 %): low oxygen saturation"],
                "Chin lift, deep breaths; 97 % a minute later.")
    no_alerts_left()
    assert history.locator("li").count() == 7  # the caution, the hold and the five alerts
    shot(page, "05-alert-history")

    # A reading typed wrong: marked entered in error, struck through, gone from the chart.
    reading((132, 84), 74, 97, 55)
    rows = page.locator("section[aria-labelledby=h-table] tbody tr")
    row = rows.filter(has_text="132/84")
    row.locator("summary", has_text="Wrong?").click()
    row.get_by_label("Why is it wrong?").fill("Cuff on the arm with the cannula; repeated on the other arm.")
    row.get_by_role("button", name="Mark entered in error").click()
    page.wait_for_url(VITALS_URL)
    assert "Marked entered in error. Enter the correct reading." in flash(page)
    assert "in-error" in row.get_attribute("class")
    struck = row.locator("td[data-label=BP] del")
    assert struck.inner_text() == "132/84"
    assert "line-through" in struck.evaluate("el => getComputedStyle(el).textDecorationLine")
    assert "Entered in error (Cuff on the arm with the cannula" in row.inner_text()
    assert row.get_by_text("Wrong?").count() == 0
    assert "132/84" not in page.locator(".vitals-latest").inner_text()
    valid = page.locator("section[aria-labelledby=h-table] tbody tr:not(.in-error)").count()
    assert (valid, rows.count()) == (9, 10)
    chart = page.locator("section[aria-labelledby=h-chart] svg:visible")  # the variant that fits
    for line in ("systolic", "diastolic", "heart"):
        assert chart.locator(f"circle.line-{line}-point").count() == valid, line
    assert chart.locator("line.dose-mark").count() == 1
    no_alerts_left()
    shot(page, "06-entered-in-error")
