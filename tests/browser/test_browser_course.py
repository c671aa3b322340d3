"""A whole treatment course in a real browser, as the clinic's staff would click through it.

A therapist starts a course for a referred client and drafts the screening; medical staff are
refused a medicine session until the screening is decided and a preparation note is signed,
decide the screening (an absolute contraindication needs a medical clearance), then give three
medicine sessions, one per route (IV, IM with an out-of-range booster, lozenge with a booster),
each integrated by the therapist; the therapist adds an addendum, is refused completing the
course while a note is unsigned, then completes it; a supervisor co-signs a preparation note.

Each medicine session also has the vital signs the app asks for: a baseline reading before the
dose, and a discharge reading after at least an hour's observation from the last dose (IV: from
the end of the infusion).

Everything is done through the pages: links and buttons by their visible text, fields by their
labels; the therapist and medical staff each use their own browser. Times are typed in the
zone of the client's home site, where the sessions are held, and lie in the last eleven hours, in order,
since the app refuses sessions far in the future and discharges after "now".
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
import re
import time
from urllib.parse import urlsplit

import sqlalchemy as sa

from kaptracker import clock

from .conftest import email

CONFIRM_SIGN = "I have reviewed this record; sign it and lock it"
ROUTES = {
    "iv": "Intravenous (IV) infusion",
    "im": "Intramuscular (IM) injection",
    "lozenge": "Lozenge / troche (sublingual)",
}
NEW_SESSION_BUTTONS = (
    "Start the screening",
    "New preparation session",
    "New medicine session",
    "New integration session",
)


def path_of(page) -> str:
    return urlsplit(page.url).path


def referred_client_without_course(app) -> tuple[str, str]:
    """(display name, family name) of a referred client of the demo therapist with no course."""
    from kaptracker.extensions import db
    from kaptracker.models import Client, ClientStatus, Course, User

    with app.app_context():
        therapist = db.session.scalar(sa.select(User).where(User.email == email("therapist")))
        client = db.session.scalars(
            sa.select(Client)
            .where(
                Client.therapist_id == therapist.id,
                Client.status == ClientStatus.REFERRED,
                ~sa.exists().where(Course.client_id == Client.id),
            )
            .order_by(Client.id)
        ).first()
        assert client is not None, "the demo seed has no referred client without a course"
        names = client.display_name, client.family_name, client.home_site.time_zone
        db.session.remove()
    return names


def clinic_now(zone: str) -> dt.datetime:
    """Now, to the minute, on the wall of the client's home site (where its sessions are held):
    a ``clock.on_wall`` time, so minutes added or taken away count truly across a DST change."""
    return clock.on_wall(clock.now().replace(second=0, microsecond=0), zoneinfo.ZoneInfo(zone))


def local(moment: dt.datetime) -> str:
    """The value a datetime-local field takes."""
    return clock.wall_time(moment).strftime("%Y-%m-%dT%H:%M")


def shown(moment: dt.datetime) -> str:
    """A clinic time as the pages show it."""
    return clock.wall_time(moment).strftime("%d %b %Y %H:%M")


def hm(moment: dt.datetime) -> str:
    """A clinic time as the charts and messages quote it."""
    return clock.wall_time(moment).strftime("%H:%M")


def error_beside(page, field_id: str):
    """The error message shown beside the field (or group of choices) with this id."""
    field = page.locator(f"fieldset#{field_id}").or_(page.locator(".field", has=page.locator(f"#{field_id}")))
    return field.locator(".error-message")


def press(page, button: str) -> None:
    """Click a button that submits a form and wait for the page that answers."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def test_a_whole_course_from_referral_to_completion(
    page, second_page, live_server, sign_in, shot, watch, clock
):
    """Referral to completion by a therapist and medical staff, each at their own computer,
    and a supervisor: each refusal is explained in plain words (no decision or preparation yet;
    an absolute contraindication without clearance; a medicine session without discharge; a dose
    above the range without a reason; completion with an unsigned note), and each signed note is
    locked."""
    # Two browsers: the therapist's (``page``, later the supervisor's) and medical staff's.
    # ``page`` is whichever the person acting now uses; the helpers below act on it.
    therapist_desk, medical_desk = page, second_page
    app = live_server.app
    display_name, family_name, zone = referred_client_without_course(app)
    now = clinic_now(zone)

    def at(minutes_before_now: int) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes_before_now)

    # The day, in order and in the past: screening, preparation, then three medicine sessions,
    # each followed by its integration session. Each medicine session: baseline vitals at +2 min,
    # the dose at +5 (and a booster), then at least 60 minutes' observation after the last dose
    # (IV: after the 40-minute infusion ends) before the discharge reading and the discharge.
    started_on = clock.wall_time(at(660)).date()
    screened, prepared = at(600), at(540)
    medicine = {"iv": at(480), "im": at(340), "lozenge": at(210)}
    integrated = {"iv": at(360), "im": at(240), "lozenge": at(60)}
    # Steps 1-4 happen earlier in the day, so that the screening decision and the preparation
    # note are signed before the first medicine session's time (a medicine session cannot be
    # dated before the decisions that allow it). The live server runs in this process, so
    # time-machine moves its clock too; the clinic's real hour returns before step 5.
    real_start, started = clock.now(), time.monotonic()
    clock.travel(real_start - dt.timedelta(minutes=530), tick=True)

    # Refusals answer 409 and a dose the form sends back 400: Chromium logs those statuses.
    watch.allow(r"/sessions/new/dosing: .*status of 409")
    watch.allow(r"/administrations(#add-dose)?: .*status of 400")
    for desk in (therapist_desk, medical_desk):
        desk.on("dialog", lambda dialog: dialog.accept())  # "End this course?", "Co-sign ...?"
    step = iter(range(1, 100))

    def snap(name: str) -> None:
        shot(page, f"{next(step):02d}-{name}")

    def switch_to(account: str) -> None:
        """Sign out of this browser and in as ``account``."""
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login")
        sign_in(page, account)

    def over_to(desk) -> None:
        """The other person acts, from their browser: back to the course, to see it as it is now."""
        nonlocal page
        page = desk
        back = page.get_by_role("link", name=re.compile(r"^← Course of "))
        if back.count():
            back.click()
            page.wait_for_url(re.compile(r"/courses/\d+$"))
        else:
            assert re.search(r"/courses/\d+$", path_of(page))
            page.reload()

    def open_client() -> None:
        page.get_by_role("link", name="Clients", exact=True).click()
        page.wait_for_url("**/clients/")
        page.get_by_label("Name or record number").fill(family_name)
        press(page, "Search")
        page.get_by_role("link", name=display_name, exact=True).click()
        page.wait_for_url(re.compile(r"/clients/\d+$"))

    def open_course() -> None:
        open_client()
        page.get_by_role("link", name=started_on.strftime("%d %b %Y"), exact=True).click()
        page.wait_for_url(re.compile(r"/courses/\d+$"))

    def back_to_course() -> None:
        page.get_by_role("link", name=re.compile(r"^← Course of ")).click()
        page.wait_for_url(re.compile(r"/courses/\d+$"))

    def open_from_timeline(kind: str) -> None:
        page.locator(".timeline").get_by_role("link", name=kind, exact=True).first.click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))

    def sign_and_lock(kind_label: str) -> None:
        """From a draft's page: Sign, tick the confirmation, Sign and lock."""
        page.get_by_role("link", name="Sign", exact=True).click()
        page.wait_for_url(re.compile(r"/sessions/\d+/sign$"))
        page.get_by_label(CONFIRM_SIGN).check()
        page.get_by_role("button", name="Sign and lock").click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))
        assert f"{kind_label} signed and locked." in flash(page)
        assert page.get_by_role("link", name="Edit draft").count() == 0

    def phase() -> str:
        return page.locator(".page-header .badge").first.inner_text().strip()

    def next_step() -> str:
        return page.locator(".next-step").inner_text().strip()

    # --- 1. The therapist starts a course for a referred client ----------------------------
    sign_in(page, "therapist")
    open_client()
    assert page.locator(".page-header .badge").first.inner_text().strip() == "Referred"
    assert page.get_by_text("No treatment course yet.").is_visible()
    page.get_by_role("link", name="Start a treatment course").click()
    page.wait_for_url("**/courses/new")
    page.get_by_label("Planned route").select_option(label=ROUTES["iv"])
    page.get_by_label("Planned medicine sessions").fill("3")
    page.get_by_label("Goals of the course").fill(
        "Lift the low mood enough to return to work part-time; sleep through most nights."
    )
    page.get_by_label("Start date").fill(started_on.isoformat())
    snap("course-form")
    page.get_by_role("button", name="Start course").click()
    page.wait_for_url(re.compile(r"/courses/\d+$"))
    course_path = path_of(page)
    assert "Course started. Next: the screening." in flash(page)
    assert phase() == "Preparation"
    assert next_step() == "Next: Complete the screening and have medical staff sign a decision."
    assert "0 of 3 medicine sessions" in page.locator(".page-header").inner_text()
    snap("course-started")

    # --- 2. No medicine session for a therapist; they draft the screening ------------------
    assert page.get_by_role("link", name="New medicine session").count() == 0
    page.get_by_role("link", name="Start the screening").click()
    page.wait_for_url("**/sessions/new/screening")
    page.get_by_label("Screened on").fill(local(screened))
    page.get_by_label("Blood pressure history").fill("Normal readings at the GP; 128/82 last month.")
    page.get_by_label("Heart history").fill("Paroxysmal atrial fibrillation, on a beta blocker, no episode this year.")
    page.get_by_label("Current medications").fill("Bisoprolol 2.5 mg daily; sertraline 100 mg daily.")
    page.get_by_label("History of psychosis").select_option(label="None")
    page.get_by_label("Angina, heart disease or arrhythmia").check()
    page.get_by_label("Screening note").fill("Motivated; cardiology letter requested about the arrhythmia.")
    snap("screening-draft-form")
    page.get_by_role("button", name="Save screening").click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    assert "Screening saved as a draft." in flash(page)
    record = page.locator(".summary-list").inner_text()
    assert "Angina, heart disease or arrhythmia" in record
    assert "Paroxysmal atrial fibrillation" in record
    # The therapist cannot sign: no button, and the page says who does.
    assert page.get_by_role("link", name="Decide and sign").count() == 0
    assert page.get_by_text("Only medical staff decide and sign a screening.").is_visible()
    snap("screening-draft-therapist")

    # --- 3. Medical staff: refused a medicine session, then decide the screening ----------
    page = medical_desk
    sign_in(page, "medical")
    open_course()
    assert path_of(page) == course_path
    page.get_by_role("link", name="New medicine session").click()
    page.wait_for_url("**/sessions/new/dosing")
    assert page.locator("h1").inner_text().strip() == "A medicine session cannot start yet"
    reasons = page.get_by_role("alert").locator("li").all_inner_texts()
    assert reasons == [
        "The screening has no signed medical decision yet.",
        "No preparation session note has been signed yet.",
    ]
    snap("medicine-refused")
    page.get_by_role("link", name="Back to the course").click()
    page.wait_for_url(f"**{course_path}")
    open_from_timeline("Screening")
    page.get_by_role("link", name="Decide and sign").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/sign$"))
    page.get_by_label("Eligible", exact=True).check()
    page.get_by_label("Rationale for the decision").fill(
        "Rate-controlled AF; benefits outweigh the risk with monitoring."
    )
    page.get_by_label(CONFIRM_SIGN).check()
    press(page, "Sign and lock")
    assert re.search(r"/sessions/\d+/sign$", path_of(page))
    clearance_error = error_beside(page, "medical_clearance").inner_text()
    assert "Absolute contraindication found (Angina, heart disease or arrhythmia)" in clearance_error
    assert "eligible only with a recorded medical clearance" in clearance_error
    assert page.get_by_label("Rationale for the decision").input_value().startswith("Rate-controlled AF")
    snap("screening-needs-clearance")
    page.get_by_label("Medical clearance").fill(
        "Cardiology letter on file: cleared for ketamine with continuous ECG and BP monitoring."
    )
    if not page.get_by_label(CONFIRM_SIGN).is_checked():
        page.get_by_label(CONFIRM_SIGN).check()
    page.get_by_role("button", name="Sign and lock").click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    assert "Screening signed and locked." in flash(page)
    assert page.get_by_text("Signed and locked: the text below never changes.").is_visible()
    assert "Eligible" in page.locator(".summary-list").inner_text()
    snap("screening-signed")

    # --- 4. The therapist holds and signs a preparation session ----------------------------
    over_to(therapist_desk)
    assert next_step() == "Next: Hold a preparation session and sign its note."
    page.get_by_role("link", name="New preparation session").click()
    page.wait_for_url("**/sessions/new/preparation")
    page.get_by_label("Session date and time").fill(local(prepared))
    page.get_by_label("Intentions, in the client's words").fill(
        "\"I want to remember what it feels like to want things.\""
    )
    page.get_by_label("Goals", exact=True).fill("Return to work part-time.")
    page.get_by_label("Medically ready").check()
    page.get_by_label("Psychologically ready").check()
    page.get_by_label("Clinical note").fill("Stop signal and touch agreed; escort confirmed.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    assert "Preparation session saved as a draft." in flash(page)
    preparation_path = path_of(page)
    page.get_by_role("link", name="Sign", exact=True).click()
    page.wait_for_url(re.compile(r"/sessions/\d+/sign$"))
    assert page.get_by_text("Signing locks this record.").is_visible()
    snap("preparation-sign-page")
    page.get_by_label(CONFIRM_SIGN).check()
    page.get_by_role("button", name="Sign and lock").click()
    page.wait_for_url(f"**{preparation_path}")
    assert "Preparation session signed and locked." in flash(page)
    snap("preparation-signed")

    # Back to the real hour, some eight hours on: both desks were signed out for inactivity.
    clock.travel(real_start + dt.timedelta(seconds=time.monotonic() - started), tick=True)
    for desk, account in ((therapist_desk, "therapist"), (medical_desk, "medical")):
        sign_in(desk, account)
        desk.goto(course_path)

    # --- 5. Three medicine sessions, one per route, each integrated -----------------------
    def open_medicine_session(route: str) -> None:
        page.get_by_role("link", name="New medicine session").click()
        page.wait_for_url("**/sessions/new/dosing")
        page.get_by_label("Route").select_option(label=ROUTES[route])
        page.get_by_label("Session started").fill(local(medicine[route]))
        page.get_by_role("button", name="Open medicine session").click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))
        assert "Medicine session saved as a draft." in flash(page)
        assert page.get_by_role("heading", name="Record the dose").is_visible()

    def take_vitals(route: str, minutes: int, timepoint: str, bp=(124, 78), pulse=72) -> None:
        """From the medicine session's page: a reading on its vitals page, then back."""
        page.get_by_role("link", name="Enter vitals").click()
        page.wait_for_url(re.compile(r"/sessions/\d+/vitals$"))
        page.get_by_label("Systolic", exact=True).fill(str(bp[0]))
        page.get_by_label("Diastolic", exact=True).fill(str(bp[1]))
        page.get_by_label("Pulse", exact=True).fill(str(pulse))
        page.get_by_label("SpO₂ %").fill("98")
        page.get_by_label("Timepoint").select_option(label=timepoint)
        page.get_by_label("Taken at").fill(local(medicine[route] + dt.timedelta(minutes=minutes)))
        page.get_by_role("button", name="Save reading").click()
        page.wait_for_url(re.compile(r"/sessions/\d+/vitals$"))
        assert f"Reading saved: {bp[0]}/{bp[1]}, pulse {pulse}." in flash(page)
        page.get_by_role("link", name=re.compile(r"^← Medicine session of ")).click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))

    def calculate_and_save(expected_mg: str) -> None:
        press(page, "Calculate dose")
        assert page.locator(".dose-preview__mg").inner_text().startswith(f"This dose: {expected_mg}")
        page.get_by_role("button", name="Save dose").click()
        page.wait_for_url(re.compile(r"/sessions/\d+#doses$"))
        assert f"Dose of {expected_mg} recorded." in flash(page)

    def finish_and_sign(route: str, *, ended: int, discharged: int, escort: str) -> None:
        """The discharge reading; edit the draft: end, discharge and escort; then sign it."""
        take_vitals(route, discharged - 3, "Before discharge", bp=(118, 76), pulse=68)
        page.get_by_role("link", name="Edit draft").click()
        page.wait_for_url(re.compile(r"/sessions/\d+/edit$"))
        page.get_by_label("Session ended").fill(local(medicine[route] + dt.timedelta(minutes=ended)))
        page.get_by_label("Discharged at").fill(local(medicine[route] + dt.timedelta(minutes=discharged)))
        for criterion in ("Vitals back near baseline", "Alert and oriented", "Walking steadily",
                          "A responsible adult takes the client home"):
            page.get_by_label(criterion).check()
        page.get_by_label("Escort home").fill(escort)
        page.get_by_label("Session note").fill("Settled with eye shades and music; walked out steadily.")
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))
        assert "Draft saved." in flash(page)
        details = page.locator(".summary-list").inner_text()
        assert shown(medicine[route] + dt.timedelta(minutes=discharged)) in details
        assert escort in details
        sign_and_lock("Medicine session")

    def integrate(route: str, insight: str, *, sign: bool = True) -> None:
        page.get_by_role("link", name="New integration session").click()
        page.wait_for_url("**/sessions/new/integration")
        page.get_by_label("Session date and time").fill(local(integrated[route]))
        integrates = page.get_by_label("Integrates the medicine session of")
        integrates.select_option(label=f"{clock.wall_time(medicine[route]).strftime('%d %b %Y')} ({ROUTES[route]})")
        page.get_by_label("What felt different").fill("\"The thoughts were still there, but over there.\"")
        page.get_by_label("Insights").fill(insight)
        page.get_by_label("Clinical note").fill("Integration held; experiments agreed for the week.")
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))
        assert "Integration session saved as a draft." in flash(page)
        assert page.get_by_text("Integrates the medicine session of").is_visible()
        if sign:
            sign_and_lock("Integration session")

    # IV: 72 kg x 0.5 mg/kg over 40 minutes = 36.0 mg, shown before it is saved.
    over_to(medical_desk)
    assert phase() == "Medicine"
    assert next_step() == "Next: Medicine session 1 of 3 can be scheduled."
    assert "button--primary" in page.get_by_role("link", name="New medicine session").get_attribute("class")
    open_medicine_session("iv")
    take_vitals("iv", 2, "Baseline (before the dose)")
    page.get_by_label("Given at").fill(local(medicine["iv"] + dt.timedelta(minutes=5)))
    page.get_by_label("Weight (kg)").fill("72")
    page.get_by_label("Dose (mg/kg)").fill("0.5")
    assert page.get_by_label("Infusion time (minutes)").input_value() == "40"
    press(page, "Calculate dose")
    preview = page.locator(".dose-preview")
    assert "This dose: 36.0 mg (0.5 mg/kg × 72 kg)" in preview.inner_text()
    assert "within the usual" in preview.inner_text()
    snap("iv-dose-calculated")
    page.get_by_role("button", name="Save dose").click()
    page.wait_for_url(re.compile(r"/sessions/\d+#doses$"))
    assert "Dose of 36.0 mg recorded." in flash(page)
    assert "0.5 mg/kg × 72 kg over 40 min" in page.locator("#doses table").inner_text()

    # Signing before the discharge is recorded is refused, with the reasons.
    page.get_by_role("link", name="Sign", exact=True).click()
    page.wait_for_url(re.compile(r"/sessions/\d+/sign$"))
    problems = page.get_by_role("alert").locator("li").all_inner_texts()
    assert "The discharge time is not recorded." in problems
    assert "The time the session ended is not recorded." in problems
    assert page.get_by_role("button", name="Sign and lock").count() == 0
    snap("iv-sign-refused")
    page.get_by_role("link", name="Back to the session").click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    finish_and_sign("iv", ended=90, discharged=110, escort="Marit (partner)")
    snap("iv-signed")
    back_to_course()
    assert phase() == "Integration"
    assert "The last medicine session has no integration session yet." in page.locator(".warnings").inner_text()
    assert next_step() == "Next: Hold an integration session for the last medicine session."
    # Not the highlighted next step any more: the warning comes first.
    assert "button--primary" not in page.get_by_role("link", name="New medicine session").get_attribute("class")
    snap("course-awaiting-integration")

    over_to(therapist_desk)
    integrate("iv", "\"Rest isn't something I have to earn.\"")
    back_to_course()
    assert page.locator(".warnings").count() == 0
    assert next_step() == "Next: Medicine session 2 of 3 can be scheduled."

    # IM: 0.75 mg/kg, then a 0.5 mg/kg booster takes the total above the usual range, which
    # needs a reason before the booster is saved.
    over_to(medical_desk)
    open_medicine_session("im")
    take_vitals("im", 2, "Baseline (before the dose)")
    page.get_by_label("Given at").fill(local(medicine["im"] + dt.timedelta(minutes=5)))
    page.get_by_label("Weight (kg)").fill("72")
    page.get_by_label("Dose (mg/kg)").fill("0.75")
    page.get_by_label("Injection site").select_option(label="Left deltoid")
    calculate_and_save("54.0 mg")
    assert "left deltoid" in page.locator("#doses table").inner_text().lower()
    assert page.get_by_role("heading", name=re.compile(r"^Add a booster")).is_visible()
    assert page.get_by_label("Weight (kg)").input_value() in ("72", "72.0")
    page.get_by_label("Given at").fill(local(medicine["im"] + dt.timedelta(minutes=15)))
    page.get_by_label("Dose (mg/kg)").fill("0.5")
    page.get_by_label("Injection site").select_option(label="Right deltoid")
    press(page, "Calculate dose")
    assert "above the usual" in page.locator(".dose-preview").inner_text()
    press(page, "Save dose")
    reason_error = error_beside(page, "range_reason").inner_text()
    assert "Session total 90.0 mg (1.25 mg/kg) is above the usual" in reason_error
    assert "Record the reason for this dose." in reason_error
    assert page.locator("#doses tbody tr").count() == 1  # the booster was not saved
    snap("im-booster-needs-reason")
    page.get_by_label("Reason for a total outside the usual range").fill(
        "Little effect 10 minutes after the first dose; booster agreed with the client."
    )
    page.get_by_role("button", name="Save dose").click()
    page.wait_for_url(re.compile(r"/sessions/\d+#doses$"))
    assert "Dose of 36.0 mg recorded." in flash(page)
    assert "90.0 mg" in page.locator("#doses tfoot").inner_text()
    assert "Reason recorded: Little effect" in page.locator("#doses").inner_text()
    finish_and_sign("im", ended=70, discharged=80, escort="Marit (partner)")
    snap("im-signed")
    back_to_course()

    over_to(therapist_desk)
    integrate("im", "\"Maybe it doesn't have to be dramatic to count.\"")

    # Lozenge: 200 mg x 1, then a 100 mg booster: 300 mg in the session.
    over_to(medical_desk)
    assert next_step() == "Next: Medicine session 3 of 3 can be scheduled."
    open_medicine_session("lozenge")
    take_vitals("lozenge", 2, "Baseline (before the dose)")
    page.get_by_label("Given at").fill(local(medicine["lozenge"] + dt.timedelta(minutes=5)))
    page.get_by_label("Strength per lozenge (mg)").fill("200")
    page.get_by_label("Number of lozenges").fill("1")
    page.get_by_label("Hold time (minutes)").fill("15")
    page.get_by_label("Spat out").check()
    calculate_and_save("200.0 mg")
    page.get_by_label("Given at").fill(local(medicine["lozenge"] + dt.timedelta(minutes=35)))
    page.get_by_label("Strength per lozenge (mg)").fill("100")
    page.get_by_label("Number of lozenges").fill("1")
    page.get_by_label("Hold time (minutes)").fill("15")
    page.get_by_label("Spat out").check()
    calculate_and_save("100.0 mg")
    assert "300.0 mg" in page.locator("#doses tfoot").inner_text()
    assert page.locator("#doses tbody tr").count() == 2
    snap("lozenge-doses")
    finish_and_sign("lozenge", ended=90, discharged=100, escort="Jonas (brother)")
    back_to_course()
    assert "3 of 3 medicine sessions" in page.locator(".page-header").inner_text()
    snap("course-three-medicine-sessions")

    # --- 6. The therapist adds an addendum to a signed note --------------------------------
    over_to(therapist_desk)
    integrate("lozenge", "\"I can be kind to the part of me that is tired.\"", sign=False)
    last_integration_path = path_of(page)
    back_to_course()
    open_from_timeline("Preparation session")
    assert page.get_by_role("link", name="Edit draft").count() == 0
    page.get_by_label("Reason for the addendum").fill("Information received after signing")
    page.get_by_label("Addendum", exact=True).fill("The client's sister will also be reachable on session days.")
    page.get_by_role("button", name="Add addendum").click()
    page.wait_for_url(re.compile(r"/sessions/\d+#addenda$"))
    assert "Addendum added." in flash(page)
    addenda = page.locator("#addenda .addendum")
    assert addenda.count() == 1
    assert "Reason: Information received after signing" in addenda.inner_text()
    assert "sister will also be reachable" in addenda.inner_text()
    assert page.get_by_role("link", name="Edit draft").count() == 0
    snap("addendum")

    # --- 7. Completing is refused while a note is unsigned; then the course completes ------
    back_to_course()
    page.get_by_role("link", name="End course").click()
    page.wait_for_url(re.compile(r"/courses/\d+/end$"))
    assert "1 session note(s) are not signed yet." in page.get_by_role("note").inner_text()
    page.get_by_label("Completed").check()
    page.get_by_label("Reason / summary").fill("All three medicine sessions given and integrated.")
    press(page, "End course")
    assert re.search(r"/courses/\d+/end$", path_of(page))
    end_error = error_beside(page, "end_reason").inner_text()
    assert "The course cannot be completed yet: 1 session note(s) are not signed yet." in end_error
    snap("completion-refused")
    # The page links the note that is not signed.
    page.get_by_role("link", name=f"Integration session of {shown(integrated['lozenge'])}").click()
    page.wait_for_url(f"**{last_integration_path}")
    sign_and_lock("Integration session")
    back_to_course()
    assert phase() == "Integration"
    assert next_step() == "Next: Every planned medicine session is done: finish integration and complete the course."
    page.get_by_role("link", name="End course").click()
    page.wait_for_url(re.compile(r"/courses/\d+/end$"))
    assert page.get_by_role("note").count() == 0  # nothing blocks completion now
    page.get_by_label("Completed").check()
    page.get_by_label("Reason / summary").fill("All three medicine sessions given and integrated.")
    page.get_by_role("button", name="End course").click()
    page.wait_for_url(f"**{course_path}")
    assert "The course is completed." in flash(page)
    assert phase() == "Completed"
    assert next_step().startswith("Next: Nothing: the course has ended.")
    assert "Reason / summary: All three medicine sessions given and integrated." in page.locator(
        ".status-panel").inner_text()
    assert "1 addendum" in page.locator(".timeline").inner_text()
    for name in (*NEW_SESSION_BUTTONS, "End course"):
        assert page.get_by_role("link", name=name).count() == 0, name
    snap("course-completed")
    page.get_by_role("link", name=re.compile(r"^← ")).first.click()
    page.wait_for_url(re.compile(r"/clients/\d+$"))
    row = page.locator(".courses tbody tr")
    assert row.count() == 1
    assert "Completed" in row.locator("[data-label=Phase]").inner_text()
    assert page.locator(".page-header .badge").first.inner_text().strip() == "Discharged"
    snap("client-course-completed")

    # --- 8. A supervisor co-signs the preparation note --------------------------------------
    page = therapist_desk
    switch_to("supervisor")
    open_course()
    open_from_timeline("Preparation session")
    assert path_of(page) == preparation_path
    page.get_by_role("button", name="Co-sign").click()
    page.wait_for_url(f"**{preparation_path}")
    assert "Co-signed." in flash(page)
    assert page.locator(".page-header .badge").first.inner_text().strip() == "Signed and co-signed"
    assert "co-signed by Dr Maren Ellery" in page.locator(".page-header").inner_text()
    assert page.get_by_role("button", name="Co-sign").count() == 0
    snap("preparation-co-signed")
