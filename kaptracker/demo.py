"""An invented demo clinic. Every name, date and number here is made up.

:func:`seed` creates seven staff accounts, 30 clients and, for 20 of them, treatment courses with
their screenings, preparation, medicine and integration sessions, so that the clinic shows a
client in every phase: screening pending, not eligible, deferred, preparing, between medicine
sessions by each route, integrating, integration overdue, completed and discontinued.

Everything is deterministic (``random.Random(2026)``) and placed relative to today: sessions are
counted in clinic working days before today, at clinic hours in the clinic's time zone, so the
demo looks current whenever it is seeded. Signed notes are written as the app writes them: every
field and dose first, then the signature (the database locks a signed session), then addenda.

Every medicine session carries its vital signs, recorded by its medical author: a baseline before
the first dose, readings every 15 minutes (every 10 during an IV infusion), a blood pressure rise
peaking about 40 minutes after the dose, and a last set before discharge. The safety alerts are
the ones the app's rules raise as those readings are entered. Among them: a held baseline dosed
after a recheck and an override, sustained high and critical blood pressure (acknowledged), a
pulse typed wrongly then corrected, an early discharge with an override, alerts still open on
running courses, and today's infusion, still in progress, with a reading overdue.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import zoneinfo
from decimal import Decimal

from . import clock as clinic_clock
from .extensions import db
from .models import (
    Addendum,
    Administration,
    Client,
    ClientStatus,
    Course,
    DosingSession,
    History,
    Indication,
    InjectionSite,
    IntegrationSession,
    OverrideKind,
    PreparationSession,
    Pregnancy,
    SafetyAlert,
    SafetyOverride,
    Screening,
    User,
    VitalSign,
    utcnow,
)
from .rules import vitals as vital_rules
from .rules.access import Role
from .rules.dosing import Route, lozenge_mg, weight_based_mg
from .rules.phases import EndReason
from .rules.screening import Decision
from .rules.vitals import Thresholds, Timepoint

DOMAIN = "demo.example.org"

STAFF = (
    ("therapist", "Robin Ashby", Role.THERAPIST),
    ("therapist2", "Samira Okonjo", Role.THERAPIST),
    ("therapist3", "Lev Marchetti", Role.THERAPIST),
    ("medical", "Dr Ines Valdivia", Role.MEDICAL),
    ("medical2", "Tomasz Brennan, RN", Role.MEDICAL),
    ("supervisor", "Dr Maren Ellery", Role.SUPERVISOR),
    ("admin", "Casey Lindqvist", Role.ADMIN),
)

GIVEN = (
    "Ada", "Bram", "Celine", "Dario", "Elif", "Fenna", "Gideon", "Halima", "Ivo", "Juno",
    "Kasimir", "Lior", "Mirela", "Nadim", "Oona", "Piet", "Quinn", "Rosalind", "Soren", "Talia",
    "Ugo", "Vesna", "Wren", "Xavi", "Yara", "Zeno", "Anouk", "Beatrix", "Cosmo", "Delphine",
)
FAMILY = (
    "Abernethy", "Baptiste", "Castellanos", "Drummond", "Eskildsen", "Fairweather", "Galloway",
    "Holmqvist", "Ilunga", "Jaramillo", "Kettering", "Lindgren", "Moreau", "Nakashima", "Oyelaran",
    "Pemberton", "Quaresma", "Rasmussen", "Saarinen", "Thistlewood", "Umberfield", "Vasquez-Rowe",
    "Whitcombe", "Yilmazer", "Zellweger", "Albescu", "Brightwater", "Corcoran", "Devereux", "Erskine",
)
RELATIONSHIPS = ("Partner", "Sister", "Brother", "Friend", "Mother", "Father", "Spouse", "Adult child")
INDICATION_SETS = (
    [Indication.DEPRESSION], [Indication.PTSD], [Indication.DEPRESSION, Indication.ANXIETY],
    [Indication.BURNOUT], [Indication.GRIEF], [Indication.EXISTENTIAL],
    [Indication.PTSD, Indication.DEPRESSION], [Indication.ANXIETY],
)
CLIENT_COUNT = 30
CLINIC_ZONE = "America/New_York"  # the settings default; the clinic's own setting wins


def seed(password: str, *, clients: int = CLIENT_COUNT) -> list[tuple[str, str]]:
    """Create the demo staff, clients and treatment courses; returns (email, role) of each account."""
    from .auth.sessions import hash_password

    rng = random.Random(2026)  # the same clinic every time
    password_hash = hash_password(password)  # one hash: every demo account shares the password
    staff = []
    for local, name, role in STAFF:
        user = User(email=f"{local}@{DOMAIN}", name=name, role=role, password_hash=password_hash)
        db.session.add(user)
        staff.append(user)
    db.session.flush()
    therapists = [u for u in staff if u.role == Role.THERAPIST]
    records = []
    for i in range(clients):
        given, family = GIVEN[i % len(GIVEN)], FAMILY[(i * 7) % len(FAMILY)]
        born = dt.date(rng.randint(1956, 2001), rng.randint(1, 12), rng.randint(1, 28))
        indications = INDICATION_SETS[i % len(INDICATION_SETS)]
        client = Client(
            record_number=f"KAP-{1001 + i}",
            given_name=given,
            family_name=family,
            preferred_name=("Dee" if given == "Delphine" else None),
            pronouns=rng.choice((None, "she/her", "he/him", "they/them")),
            date_of_birth=born,
            phone=f"+1 555 01{i:02d}",
            email=f"{given.lower()}.{family.lower().replace('-', '')}@example.org",
            address=f"{rng.randint(2, 220)} Invented Lane, Springfield",
            emergency_contact_name=f"{GIVEN[(i + 11) % len(GIVEN)]} {family}",
            emergency_contact_relationship=rng.choice(RELATIONSHIPS),
            emergency_contact_phone=f"+1 555 02{i:02d}",
            therapist_id=therapists[i % len(therapists)].id,
            status=ClientStatus.REFERRED,  # awaiting screening; a course below changes it
            created_at=utcnow() - dt.timedelta(days=rng.randint(3, 200)),
        )
        client.indications = indications
        db.session.add(client)
        records.append(client)
    db.session.flush()
    seed_courses(rng, {local: user for (local, _, _), user in zip(STAFF, staff)}, records)
    db.session.commit()
    return [(u.email, u.role.value) for u in staff]


# --- treatment courses ------------------------------------------------------------------------


def _clinic_zone() -> zoneinfo.ZoneInfo:
    from . import settings

    try:
        return zoneinfo.ZoneInfo(settings.get("clinic.timezone"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # an unknown zone: the default
        return zoneinfo.ZoneInfo(CLINIC_ZONE)


class _Clock:
    """Clinic working days before today (1 = the last working day before today), in clinic time."""

    def __init__(self, now: dt.datetime, zone: zoneinfo.ZoneInfo):
        self.now, self.zone = now, zone
        day = self.today = now.astimezone(zone).date()
        self.days: list[dt.date] = []
        while len(self.days) < 320:
            day -= dt.timedelta(days=1)
            if day.weekday() < 5:
                self.days.append(day)

    def date(self, n: int) -> dt.date:
        return self.today if n == 0 else self.days[n - 1]  # 0: today (a session in progress)

    def at(self, n: int, hour: int, minute: int = 0) -> dt.datetime:
        local = dt.datetime.combine(self.date(n), dt.time(hour, minute), tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    def hhmm(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.zone).strftime("%H:%M")

    def day_text(self, n: int) -> str:
        return self.date(n).strftime("%a %d %b")

    def past(self, moment: dt.datetime) -> dt.datetime:
        return min(moment, self.now - dt.timedelta(minutes=3))


# Which themes a client's notes draw on, by their indications (INDICATION_SETS order).
GROUP_BY_SET = ("mood", "trauma", "anxiety", "mood", "loss", "loss", "trauma", "anxiety")

PREPARATIONS = {
    "mood": [
        dict(intentions="\"I want to remember what it feels like to want things. Right now everything is grey "
                        "and I just get through the day.\"",
             goals="Get back to enjoying small things; return to full hours at work without dreading Sundays.",
             fears="\"What if I feel nothing and this was my last option?\" Also worried about vomiting.",
             resources="Partner at home, a dog that needs walking, a sister who phones weekly. Used to swim."),
        dict(intentions="\"I'd like to stop being so hard on myself. The voice in my head is meaner than anyone "
                        "I know.\"",
             goals="Fewer days in bed; finish the evening class that was dropped last spring.",
             fears="Losing control in front of someone; \"seeing something about myself I can't unsee\".",
             resources="Two close friends, a choir on Thursdays (currently skipping), a supportive GP."),
        dict(intentions="\"I want to find out who I am when I'm not working.\"",
             goals="Set limits at work; sleep seven hours; take the annual leave that is owed.",
             fears="That rest will make things worse: \"if I slow down, I'll never start again\".",
             resources="Understanding manager, occupational health involved, a brother nearby, cycling."),
        dict(intentions="\"I want to feel like myself at work again, not a machine running on empty.\"",
             goals="Return to work part-time with clear limits; play with the children after school again.",
             fears="Being sick during the session; that the good effect will fade quickly.",
             resources="Spouse supportive and attending the escort briefing; parents help with childcare."),
        dict(intentions="\"I'm tired of surviving. I want to feel like I'm actually in my life.\"",
             goals="Reconnect with friends; decide about the job without panic.",
             fears="Feeling emotions all at once and not being able to stop crying.",
             resources="Best friend who lives nearby, long walks, a journal kept on and off for years."),
    ],
    "trauma": [
        dict(intentions="\"I want to stop numbing out. I'd rather feel sad than feel nothing.\"",
             goals="Drive on the motorway again; stay present in difficult conversations; protect the abstinence.",
             fears="Cravings afterwards; the crash images coming back and not being able to get out.",
             resources="Weekly mutual-aid group, an addiction counsellor, a brother who knows the history."),
        dict(intentions="\"I want my life to be bigger than what happened.\"",
             goals="Go back to work in a new team; less hypervigilance in corridors; fewer sick days.",
             fears="Lying down with eyes covered in a room with someone else.",
             resources="Adult son, a colleague who knows, a dog, running twice a week, earlier EMDR skills."),
        dict(intentions="\"I'd like to feel safe in my own body. I'm always braced.\"",
             goals="Less startle; go to the supermarket at busy times; tolerate being touched on the shoulder.",
             fears="Losing control; being touched while unable to respond; \"what will I say?\"",
             resources="Father, a trauma-informed yoga class, a very clear stop signal agreed with the therapist."),
        dict(intentions="\"I want to be able to think about it without my body going into alarm.\"",
             goals="Sleep without the light on; fewer nightmares.",
             fears="Being pulled back into the memory.",
             resources="Sister who knows the history, a weighted blanket, grounding skills."),
    ],
    "anxiety": [
        dict(intentions="\"I want a break from the noise in my head, even for an hour, to know it's possible.\"",
             goals="Stop checking the doors and the stove more than once; fewer panic attacks; take the train.",
             fears="The onset itself: \"feeling weird is my worst fear\".",
             resources="Partner, breathing practice learned in CBT, a cat, a quiet home."),
        dict(intentions="\"I'd like to stop rehearsing every conversation before it happens.\"",
             goals="Speak in team meetings; meet friends without cancelling at the last minute.",
             fears="Saying something embarrassing while under the medicine.",
             resources="Brother, a supportive manager, pottery class on Saturdays."),
        dict(intentions="\"I want to feel at home in my body instead of scanning it for danger.\"",
             goals="Fewer visits to urgent care for chest symptoms; exercise without fear of the heart rate.",
             fears="Heart racing; blood pressure going up; dying.",
             resources="Spouse, cardiology reassurance, a walking group."),
        dict(intentions="\"I want to be good enough without being perfect.\"",
             goals="Finish tasks without re-doing them; leave work on time; sleep through.",
             fears="\"That I'll find out I'm not good at anything.\"",
             resources="Mother nearby, a long friendship from school, swimming."),
        dict(intentions="\"I'd like to worry less about everyone and enjoy the people I love.\"",
             goals="Stop texting family to check they are safe; go on holiday.",
             fears="Nausea; not being reachable by family during the session.",
             resources="Partner, adult daughter, a gardening allotment."),
    ],
    "loss": [
        dict(intentions="\"I want to be able to love my partner without it hurting this much every minute.\"",
             goals="Sort the belongings; go back to the walking group; sleep in our bedroom again.",
             fears="Forgetting them if the pain lessens.",
             resources="A close friend, the grief group at the community centre, grandchildren."),
        dict(intentions="\"I want to live the time I have, not spend it waiting for the next scan.\"",
             goals="Less dread before oncology appointments; make plans beyond three months.",
             fears="\"Seeing death\"; feeling too much in front of a stranger.",
             resources="Spouse, a hospice counsellor from last year, a faith community."),
        dict(intentions="\"Since the operation I've been waiting to die. I want to enjoy my grandchildren instead.\"",
             goals="Less checking of the pulse; plan a trip with the family; sleep without the radio on.",
             fears="\"Feeling my heart do something strange while I'm under.\"",
             resources="Spouse, three grandchildren nearby, a men's walking group, cardiology follow-up."),
        dict(intentions="\"I want to keep the openness I found last time and not slide back.\"",
             goals="Keep the routines built after the first course; stay close to the family through a "
                   "grandchild's move abroad.",
             fears="That it won't work as well the second time.",
             resources="Spouse, the walking group, the integration journal kept since the first course."),
    ],
}

READINESS = (
    "Knows the stop signal (raising a hand) and agreed touch (hand on the shoulder only when asked). "
    "Music and eye shades tried in the room. Escort confirmed; no driving until the next day agreed.",
    "Practised box breathing and feet-on-the-floor grounding. Intention written on a card to read "
    "before dosing. Fasting 4 hours and the after-session plan agreed.",
    "Discussed what to do if difficult memories arise (stay with the breath, open the eyes, say "
    "\"pause\"). Signed the consent after questions about nausea and bladder effects were answered.",
)

INTEGRATIONS = {
    "mood": [
        dict(what_felt_different="\"It was like someone opened a window in a room I didn't know was stuffy.\" "
                                 "The heaviness lifted for about an hour and stayed lighter the next day.",
             emotions_body="Warmth in the chest during the music; a wave of sadness near the end that passed "
                           "without dread. Legs heavy, then light.",
             memories_beliefs="Looked at the belief \"if I stop, everything falls apart\" from a distance.",
             insights="\"Rest isn't something I have to earn.\""),
        dict(what_felt_different="\"The thoughts were still there, but over there, not in me.\" Noticed a gap "
                                 "between a thought and reacting to it.",
             emotions_body="Tearful while describing the session; jaw tension eased while talking. Tingling in "
                           "the hands at the peak.",
             memories_beliefs="Memory of doing a sibling's homework at the kitchen table aged twelve; linked to "
                              "always being the competent one.",
             insights="\"I learned early that being useful kept me safe. I don't need that rule at work.\""),
        dict(what_felt_different="Colours, and a sense of being held by the music. Mood brighter for two days, "
                                 "then settled slightly above the usual baseline.",
             emotions_body="Lightness and some giddiness; later a dull ache behind the sternum when thinking "
                           "about the job.",
             memories_beliefs="Examined \"I'm lazy\": counted the hours actually worked last month (58 a week).",
             insights="Exhaustion is a response to conditions, not a character flaw."),
        dict(what_felt_different="\"For the first time in years I felt curious instead of flat.\"",
             emotions_body="Mild nausea early on; afterwards calm and slowed down. Slept better for two nights.",
             memories_beliefs="Recalled a grandparent's garden, a place where doing nothing was allowed.",
             insights="Flatness lifts when there is something to tend."),
        dict(what_felt_different="Less vivid than last time; disappointed at first, then noticed the mood change "
                                 "was steadier.",
             emotions_body="Neutral during the session, some boredom; relief on the drive home.",
             memories_beliefs="Talked about expecting a breakthrough every time.",
             insights="\"Maybe it doesn't have to be dramatic to count.\""),
    ],
    "trauma": [
        dict(what_felt_different="\"I could look at what happened from the ceiling, like a film, and my heart "
                                 "didn't race.\"",
             emotions_body="Shaking legs at the start, settled with grounding and the weighted blanket. Heat in "
                           "the face, then stillness.",
             memories_beliefs="Revisited \"it was my fault\"; recognised how little control there was that night.",
             insights="\"Being on guard kept me alive back then. It's allowed to rest now.\""),
        dict(what_felt_different="Met a younger self and spoke to them kindly; the usual numbness gave way to grief "
                                 "that felt \"clean\".",
             emotions_body="Tears; a tight throat that loosened; warm hands afterwards.",
             memories_beliefs="Hiding in the stairwell during arguments as a child; stayed present, no flooding.",
             insights="\"The part of me that freezes is trying to protect me.\""),
        dict(what_felt_different="Startle lower for two days: a door slammed at work and \"it just passed\".",
             emotions_body="Anxiety at onset (loss of control), eased after the reminder that the eyes can open "
                           "at any time.",
             memories_beliefs="Stayed with the image of the corridor at the old workplace without dissociating.",
             insights="Being able to choose to open the eyes felt like agency."),
        dict(what_felt_different="Nothing frightening came up: \"a blank, restful space\". Rested afterwards.",
             emotions_body="Relaxed; mild dizziness on standing at discharge.",
             memories_beliefs="Noticed needing vigilance less; slept through the night twice this week.",
             insights="\"Rest can be safe.\""),
    ],
    "anxiety": [
        dict(what_felt_different="\"My mind went quiet. I didn't know it could do that.\" The constant checklist "
                                 "stopped for a while.",
             emotions_body="Loose shoulders, heavy limbs; a brief spike of panic at onset that settled in minutes.",
             memories_beliefs="\"If I don't worry, something bad will happen\" looked like a superstition carried "
                              "from childhood.",
             insights="Worry has been doing the job of feeling in control."),
        dict(what_felt_different="Felt connected to people rather than watched by them: a crowded market that felt "
                                 "friendly.",
             emotions_body="Smiling and warm; later sadness about years spent avoiding people.",
             memories_beliefs="Being laughed at while reading aloud at school; felt compassion for that child.",
             insights="\"People are mostly busy with their own lives, not judging mine.\""),
        dict(what_felt_different="Onset frightening (\"am I dying?\"); with breathing and the therapist's voice it "
                                 "turned into curiosity.",
             emotions_body="Tight chest early, then spaciousness. Tired and hungry afterwards.",
             memories_beliefs="A panic attack at a concert three years ago: saw that the body calmed on its own.",
             insights="\"The wave comes and goes if I don't fight it.\""),
        dict(what_felt_different="Sleep better for four nights; fewer early-morning worries.",
             emotions_body="Calm, a little flat; a headache in the evening after the session.",
             memories_beliefs="\"I must be perfect to be acceptable\" surfaced as the image of a marking sheet.",
             insights="Good-enough work leaves time for a life."),
        dict(what_felt_different="\"I noticed my body was tired, not in danger.\" Less scanning for symptoms.",
             emotions_body="Heavy and warm; a few minutes of nausea at 20 minutes.",
             memories_beliefs="Linked the checking to a house fire in the family when the client was nine.",
             insights="Checking once is care; checking ten times is fear."),
    ],
    "loss": [
        dict(what_felt_different="\"I saw their hands, and it didn't break me. I could just love them.\"",
             emotions_body="Deep crying, then a quiet warmth; the chest felt open rather than crushed.",
             memories_beliefs="The last conversation at the hospice, long believed to have gone wrong.",
             insights="\"Grief is love with nowhere to go. I can give it somewhere.\""),
        dict(what_felt_different="Part of something larger; time stretched and the fear of dying softened.",
             emotions_body="Awe, some trembling; peaceful for the rest of the day.",
             memories_beliefs="Diagnosis day revisited; saw how much fear had shaped every plan since.",
             insights="\"I am more than the illness and more than the check-ups.\""),
        dict(what_felt_different="Heard the grandchildren's laughter in the music, \"something to stay for\"; "
                                 "less aware of the heartbeat.",
             emotions_body="Warm hands, some tears; brief nausea that passed.",
             memories_beliefs="Waking in intensive care after the operation; the belief \"my body betrayed me\".",
             insights="The body that frightened them also carried them through the surgery."),
        dict(what_felt_different="\"Less dramatic this time. Mostly tired, then lighter.\"",
             emotions_body="Sleepy; some dizziness at the end.",
             memories_beliefs="Talked about the anniversary next month and how to mark it.",
             insights="Plans for the anniversary can hold joy as well as sadness."),
        dict(what_felt_different="Saw the surgery scar as \"a door, not a wound\".",
             emotions_body="Calm and heavy; a mild headache in the evening.",
             memories_beliefs="The fear of dying looked at as a visitor rather than a tenant.",
             insights="\"I can make plans and still be mortal.\""),
    ],
}

EXPERIMENTS = (
    ("a walk after lunch", "A ten-minute walk after lunch without the phone, noticing three things outside."),
    ("saying no once", "Decline one non-essential request this week and notice the body afterwards."),
    ("closing the laptop at 18:00", "Close the laptop at 18:00 on three weekdays; write one line about the evening."),
    ("three good things", "Write down three small good things each evening, even on grey days."),
    ("a worry window", "A 15-minute worry window at 17:30; outside it, jot worries down for later."),
    ("grounding at the door", "Before going into a busy shop: pause, feel the feet, name five things in view."),
    ("hand on chest", "When distress rises: hand on the chest and three slow breaths; note the situation."),
    ("coffee with a colleague", "Invite a colleague for coffee and stay at least 20 minutes."),
    ("sending at 80 %", "Send one email a day after reading it through only once."),
    ("one thing that matters", "Each day do one thing chosen because it matters, not because it is safe."),
    ("music in the morning", "Play the playlist from the medicine session while making breakfast."),
    ("phone in the hall", "Leave the phone in the hall from 21:30; read or talk instead."),
)
LOSS_EXPERIMENTS = (
    ("a letter", "Write a letter to the person who died and read it aloud, at home or at the grave."),
    ("a plan beyond the next check-up", "Put one plan in the diary for three months from now and tell someone."),
)
REVIEWS = (
    "managed it on four of seven days, easiest in the mornings; skipped busy days without self-criticism.",
    "did it twice, then stopped when work got busy; we looked at what got in the way with curiosity.",
    "did it once; it felt awkward but nothing bad happened, which was a surprise.",
    "kept it up every day and wants to continue; mood about two points higher afterwards (0-10).",
    "forgot it the first week, then set a phone reminder and managed it three times.",
    "found it harder than expected; we made the step smaller together.",
)
MOODS = (
    "brighter for three days, then back near baseline but \"less sticky\"",
    "steadier than usual; one low evening that passed by the morning",
    "noticeably lighter; the family noticed more laughter at home",
    "tired for a day, then calmer than before the session",
    "up and down; more tears, but they felt useful",
)
SUPPORT = (
    "No suicidal ideation (PHQ-9 item 9 = 0). {rel} aware of the course. Knows the clinic and crisis numbers.",
    "Sleep and appetite stable. Safety plan unchanged; no new risks.",
    "Some low mood on day three after the session, expected and passed. Reminded of the after-hours line.",
    "{rel} came to the waiting room and is supportive. Knows the after-hours line.",
)
EXPERIENCE = {
    "mood": (
        "Described \"floating above a grey sea that slowly turned blue\".",
        "Quiet for most of the session; afterwards: \"the first proper rest in years\".",
        "Talked about work at the peak: \"it's so small from up here\". Smiled a lot.",
        "Described a long corridor of doors, \"most of them open\".",
    ),
    "trauma": (
        "Brief fear at onset (\"I'm falling\"); settled with grounding and the agreed hand on the shoulder.",
        "Watched old scenes \"from behind glass\"; no distress on check-in afterwards.",
        "Mostly silent; cried quietly at about 30 minutes, then said \"it's okay, it's okay\".",
    ),
    "anxiety": (
        "Heart racing at onset and \"I don't like this\"; breathed with the therapist and settled in 3 minutes.",
        "\"No thoughts, just colours\"; smiled through much of the session.",
        "Felt \"held by the music\"; asked for the blanket at 25 minutes.",
    ),
    "loss": (
        "Spoke quietly about the people who matter most, tearful and calm.",
        "Described \"being part of the tide\"; peaceful throughout.",
        "Saw a garden \"in full sun\"; laughed, then cried, then rested.",
    ),
}
SIDE_EFFECT_POOL = ("nausea", "dizziness", "drowsiness", "vision", "headache", "numbness", "balance")
ALL_DISCHARGE = ["vitals_baseline", "oriented", "walking", "nausea_settled", "escort", "no_driving"]
SITE_WORDS = {
    InjectionSite.DELTOID_LEFT: "left deltoid", InjectionSite.DELTOID_RIGHT: "right deltoid",
    InjectionSite.THIGH_LEFT: "left thigh", InjectionSite.THIGH_RIGHT: "right thigh",
    InjectionSite.GLUTEAL: "gluteal muscle",
}
LOTS = {Route.LOZENGE: "RXC-{}-{:03d}", Route.IM: "KH-{}B{:04d}", Route.IV: "KH-{}C{:04d}"}

E, NE, DEF = Decision.ELIGIBLE, Decision.NOT_ELIGIBLE, Decision.DEFERRED

# One entry per course. Times are working days before today ("n"); a screening's "sign" is the
# working day medical staff signed it (default: the day after; None: still a therapist's draft).
# Each list of integrations follows the medicine sessions one to one (None: not held yet); "themes"
# and "prep_theme" choose entries of the note pools that fit the client's story. Screening fields
# not given here are filled in from the client's record (support network, transport home, pregnancy).
COURSES: tuple[dict, ...] = (
    dict(  # completed: four IV infusions, each integrated
        client=0, route=Route.IV, planned=4, weight=68.4,
        prep_theme=0, themes=[0, 3, 1, 4],
        goals="Lift treatment-resistant depression enough to return to full-time work and enjoy time "
              "with the family; PHQ-9 below 10.",
        screening=dict(
            n=62, bp_history="No hypertension. Clinic reading 122/78, HR 72.",
            heart_history="No cardiac history; no chest pain, palpitations or fainting.",
            current_medications="Venlafaxine 225 mg daily (three years); trazodone 50 mg at night as needed.",
            psychiatric_diagnoses="Major depressive disorder, recurrent, treatment-resistant (three adequate "
                                  "antidepressant trials, two courses of CBT). PHQ-9 21 today.",
            substance_use="Alcohol 2-3 units a week. No other drugs.",
            decision=E, decision_rationale="No contraindications found. Treatment-resistant depression with "
            "three failed trials: four IV infusions at 0.5 mg/kg over 40 minutes, 0.6 mg/kg if tolerated "
            "and the response is partial.",
            note="90-minute screening in person with GP summary. PHQ-9 21, GAD-7 9. Discussed the evidence, "
                 "the experience of dissociation, BP monitoring and bladder effects.",
        ),
        preps=[58, 55],
        doses=[
            dict(n=52, mgkg="0.5"),
            dict(n=49, mgkg="0.5", side_effects=[], vitals=dict(
                discharge_after=50,
                override=(OverrideKind.DISCHARGE, "discharge_too_early",
                          "The escort had to leave at short notice (a child sent home unwell from school). The "
                          "client was back to baseline at 45 minutes after the infusion: BP near the baseline, "
                          "alert and oriented, walking steadily, no nausea. Dr Ines Valdivia assessed in person "
                          "and agreed to discharge at 50 rather than 60 minutes, with the escort; a phone call "
                          "the next morning arranged."),
                note=" Discharged 50 minutes after the end of the infusion rather than 60 (escort had to leave "
                     "early): override recorded with the reason."),
                 addendum=("Next-day follow-up call",
                 "Phoned at 10:15 the next morning: slept well, mild headache resolved with paracetamol, "
                 "no nausea, mood \"lighter\". Escort confirmed the client did not drive.")),
            dict(n=46, mgkg="0.6", reason=None),
            dict(n=43, mgkg="0.6"),
        ],
        integrations=[51, 48, 45, 41],
        end=dict(reason=EndReason.COMPLETED, n=35, note=(
            "Completed 4 of 4 IV infusions (0.5 then 0.6 mg/kg), each followed by an integration session; "
            "every note signed. PHQ-9 21 at screening, 9 at the last integration (57 % drop: response, not "
            "remission). Well tolerated: transient nausea once, no BP holds. Back to monthly therapy with "
            "the usual therapist; a maintenance infusion to be considered if PHQ-9 rises above 14.")),
    ),
    dict(  # between IM sessions; relative contraindication (substance use) with rationale
        client=1, route=Route.IM, planned=4, weight=84.2,
        prep_theme=0, themes=[0, 1],
        goals="Reduce PTSD symptoms after the 2019 road collision (PCL-5 below 33); drive on the motorway; "
              "protect the abstinence from alcohol.",
        screening=dict(
            n=30, bp_history="No hypertension. 128/82, HR 76.",
            current_medications="Sertraline 150 mg daily; naltrexone 50 mg daily.",
            psychiatric_diagnoses="PTSD (PCL-5 54). Alcohol use disorder, severe, in early remission.",
            dissociative_history=History.NONE,
            substance_use="Alcohol use disorder, severe: previously 8-10 drinks a day; abstinent for five months. "
                          "Weekly mutual-aid group and an addiction counsellor. No other drugs.",
            contraindications=["substance_use"], decision=E,
            decision_rationale="Relative contraindication (severe substance use disorder, now in early "
            "remission) considered: ketamine only in clinic, no take-home doses; misuse risk and cravings "
            "discussed; the client will report cravings and the course stops on relapse; addiction "
            "counsellor informed with consent. PTSD drives the drinking, so benefit outweighs risk.",
            note="Screening with the addiction counsellor's letter. PCL-5 54, PHQ-9 16, AUDIT 4 (last 3 months).",
        ),
        preps=[26, 22],
        doses=[
            dict(n=18, mgkg="0.4", site=InjectionSite.DELTOID_LEFT,
                 reason="Below the usual range on purpose: first IM session, client very anxious about losing "
                        "control; 0.4 mg/kg agreed with the medical lead, to increase to 0.6 mg/kg if tolerated."),
            dict(n=12, mgkg="0.6", site=InjectionSite.DELTOID_RIGHT),
        ],
        integrations=[dict(n=16, addendum=("Information received after signing",
                           "Client emailed the next morning (permission given to add it here): remembered an "
                           "image of a locked tool shed at the grandparents' farm, not mentioned in session. "
                           "To explore next time; no distress reported.")), 10],
    ),
    dict(  # between lozenge sessions, with boosters
        client=2, route=Route.LOZENGE, planned=6, weight=61.7,
        prep_theme=0, themes=[0, 1, 2],
        goals="Less daily worry and low mood; go back to the choir; stop relying on lorazepam.",
        screening=dict(
            n=40, bp_history="No hypertension. 118/74, HR 80.",
            current_medications="Escitalopram 15 mg daily; lorazepam 0.5 mg as needed (about twice a month).",
            interacting_medications=["benzodiazepines"],
            psychiatric_diagnoses="Generalised anxiety disorder; persistent depressive disorder. GAD-7 16, PHQ-9 14.",
            substance_use="No alcohol; no drugs.",
            decision=E, decision_rationale="Eligible. Occasional lorazepam may blunt the effect: not to be taken "
            "in the 24 hours before a session. Start at 100 mg sublingual with a possible booster.",
            note="Screening by video and in person. Client prefers lozenges to injections.",
        ),
        preps=[36, 33],
        doses=[
            dict(n=29, lozenges=[(100, 1)]),
            dict(n=24, lozenges=[(200, 1), (100, 1)], vitals=dict(error=dict(
                at=25, hr=84, typed=48, reason="Pulse typed as 48; the monitor showed 84 (digits swapped).",
                note="Re-entered: pulse 84 checked on the monitor (48 was a typing error)."))),
            dict(n=19, lozenges=[(200, "1.5"), (100, 1)]),
        ],
        integrations=[27, 22, 17],
    ),
    dict(  # screening pending: a partly drafted screening
        client=3, route=Route.LOZENGE, planned=4, weight=79.0,
        goals="Recover from burnout after two years of 60-hour weeks; decide about the job from a calmer place.",
        screening=dict(
            n=2, sign=None, bp_history="Told \"borderline\" by a workplace screening last year; today 134/86.",
            current_medications="Bupropion 300 mg daily; melatonin 3 mg at night.",
            psychiatric_diagnoses="Moderate depressive episode in the context of burnout (referral letter). "
                                  "PHQ-9 15.",
            substance_use="Alcohol most evenings (2-3 glasses of wine); to quantify with an AUDIT.",
            note="First part of the screening. To do: GP medication list, AUDIT, family history of psychosis "
                 "(client unsure), then book the medical review.",
        ),
    ),
    dict(  # integrating: last lozenge session three working days ago
        client=5, route=Route.LOZENGE, planned=4, weight=58.3,
        prep_theme=1, themes=[1, None],
        goals="Ease the fear of recurrence after breast cancer treatment; live with more presence.",
        screening=dict(
            n=24, bp_history="No hypertension. 116/72, HR 70.",
            heart_history="Echocardiogram normal after chemotherapy (last year).",
            current_medications="Tamoxifen 20 mg daily; sertraline 50 mg daily.",
            psychiatric_diagnoses="Adjustment disorder with anxiety and low mood; existential distress after "
                                  "cancer treatment. PHQ-9 13, GAD-7 12.",
            substance_use="None.",
            decision=E, decision_rationale="No contraindications. Oncology aware and supportive. Lozenge route "
            "preferred; start at 150 mg.",
            note="Screening with the oncology summary. In remission; next scan in four months.",
        ),
        preps=[20, 17],
        doses=[
            dict(n=12, lozenges=[(150, 1)]),
            dict(n=3, lozenges=[(200, 1), (100, 1)]),
        ],
        integrations=[10, None],
    ),
    dict(  # not eligible: active psychosis
        client=6, route=Route.IM, planned=4, weight=88.0,
        goals="Referred for PTSD with depression after military service.",
        screening=dict(
            n=4, sign=4, bp_history="No hypertension. 126/80, HR 88.",
            current_medications="Stopped quetiapine 100 mg five weeks ago (weight gain). Prazosin 2 mg at night.",
            psychiatric_diagnoses="PTSD; major depressive disorder. Psychotic symptoms in 2021 during a "
                                  "depressive episode.",
            psychosis_history=History.SELF, mania_history=History.NONE,
            substance_use="Cannabis occasionally until last year; none now.",
            contraindications=["psychosis"], decision=NE,
            decision_rationale="Not eligible: active psychosis. For four weeks the client has heard voices "
            "commenting on their actions and believes neighbours monitor the flat through the wifi, since "
            "stopping quetiapine. Ketamine can worsen psychotic symptoms. Same-day referral back to the "
            "treating psychiatrist; crisis plan given. Can be re-referred once stable for six months.",
            note="Screening stopped after the mental state examination; the client agreed to the psychiatric "
                 "referral and the therapist phoned the community team with consent.",
        ),
    ),
    dict(  # deferred: uncontrolled hypertension pending cardiology
        client=7, route=Route.LOZENGE, planned=4, weight=92.5,
        goals="Fewer panic attacks; travel by train to visit family.",
        screening=dict(  # six weeks ago, no contact since: on the worklist as "no contact"
            n=32, sign=31,
            bp_history="Hypertension for two years; amlodipine 5 mg started three weeks ago. Today 168/104 and "
                       "164/100 seated, five minutes apart. Home readings 150-170 / 95-105.",
            heart_history="Occasional palpitations; no chest pain. Father had a heart attack at 58.",
            current_medications="Amlodipine 5 mg daily; propranolol 10 mg as needed for panic.",
            psychiatric_diagnoses="Panic disorder with agoraphobia. GAD-7 17, PHQ-9 11.",
            substance_use="None.",
            contraindications=["uncontrolled_hypertension"], decision=DEF,
            decision_rationale="Deferred: uncontrolled hypertension is an absolute contraindication until "
            "medical clearance, and ketamine raises blood pressure (peak around 40 minutes). GP is titrating "
            "amlodipine; cardiology review booked in three weeks. Re-screen when home readings stay below "
            "140/90 for two weeks and the cardiology letter is in the record.",
            note="Screening completed. The client was disappointed; we discussed that this is a pause, not a no.",
        ),
    ),
    dict(  # overdue integration: last IM session nine working days ago, none since
        client=8, route=Route.IM, planned=4, weight=74.9,
        prep_theme=1, themes=[1, None],
        goals="Lift depression enough to finish the apprenticeship; PHQ-9 below 10.",
        screening=dict(
            n=34, bp_history="No hypertension. 124/76, HR 68.",
            current_medications="Mirtazapine 30 mg at night.",
            psychiatric_diagnoses="Major depressive disorder, single episode, 18 months; two failed trials. "
                                  "PHQ-9 19.",
            substance_use="Alcohol rarely. Cannabis once a month.",
            decision=E, decision_rationale="No contraindications. Cannabis to be stopped during the course "
            "(agreed). IM at 0.5 mg/kg.",
            note="Screening in person. Mother attended the last part.",
        ),
        preps=[30, 27],
        doses=[dict(n=23, mgkg="0.5", site=InjectionSite.DELTOID_LEFT),
               dict(n=9, mgkg="0.6", site=InjectionSite.DELTOID_RIGHT, side_effects=["elevated_bp"], vitals=dict(
                   baselines=[(2, 126, 78, 70)], peak=(176, 104), settle=(132, 82),
                   at={25: (168, 98, 86), 40: (204, 118, 94), 45: (176, 104, 90), 50: (164, 98, 86)},
                   acknowledge={"critical_bp": [
                       "Client calm and comfortable: no headache, chest pain, breathlessness or visual change. "
                       "Cuff size and arm position checked; repeat 176/104 at 45 min, 164/98 at 50 min. Dr Ines "
                       "Valdivia reviewed in person: no treatment; readings every 5 minutes until below 160/100. "
                       "Discuss 0.5 mg/kg before any further session."]},
                   note=" A single reading of 204/118 at 40 min (critical band): no symptoms; repeated 176/104 "
                        "at 45 min and 164/98 at 50 min; reviewed by Dr Ines Valdivia, no treatment."))],
        integrations=[21, None],
    ),
    dict(  # between IV sessions; absolute contraindication with a recorded medical clearance
        client=10, route=Route.IV, planned=6, weight=81.6,
        prep_theme=2, themes=[4, 2, 3],
        goals="Relief from depression and health anxiety; PHQ-9 and GAD-7 below 10.",
        screening=dict(
            n=36, sign=33, bp_history="Treated hypertension, well controlled: 128/80, HR 64.",
            heart_history="Paroxysmal atrial fibrillation since 2022, two short episodes in the past year; "
                          "rate controlled on bisoprolol; anticoagulated. Echo 2023: normal structure.",
            current_medications="Bisoprolol 2.5 mg; apixaban 5 mg twice daily; vortioxetine 10 mg.",
            psychiatric_diagnoses="Major depressive disorder with anxious distress; illness anxiety. PHQ-9 18, "
                                  "GAD-7 15.",
            substance_use="None.",
            contraindications=["cardiac"], decision=E,
            medical_clearance="Cardiology letter (Riverside Heart Clinic, invented) received: cleared for "
            "subanaesthetic IV ketamine 0.5-0.75 mg/kg with continuous ECG during the infusion and BP every "
            "10 minutes; stop if HR above 110 or a new irregular rhythm. ECG today: sinus rhythm, 64/min.",
            decision_rationale="Absolute contraindication (arrhythmia) with cardiology clearance on file. IV "
            "chosen so the infusion can be stopped at once; start at 0.5 mg/kg.",
            note="Screening in two parts, waiting for the cardiology letter before the decision.",
            addendum=("Cardiology result received", "48-hour Holter requested by cardiology received after "
                      "signing: sinus rhythm throughout, two short runs of atrial ectopy, no atrial fibrillation. "
                      "Clearance stands; ECG monitoring during infusions as planned."),
        ),
        preps=[30, 27],
        doses=[dict(n=22, mgkg="0.5"), dict(n=19, mgkg="0.5"),
               dict(n=15, mgkg="0.6", side_effects=["elevated_bp"], vitals=dict(
                   baselines=[(3, 132, 82, 62)], peak=(184, 112), settle=(138, 86),
                   at={30: (170, 102, 70), 40: (184, 112, 74), 45: (186, 110, 72), 50: (172, 104, 70),
                       55: (160, 98, 68)},
                   acknowledge={"sustained_high_bp": [
                       "Assessed at the bedside: no headache, chest pain, palpitations or visual change; ECG "
                       "sinus rhythm 72/min. The infusion had just finished. BP every 5 minutes: 172/104 at 50 "
                       "min, 160/98 at 55 min; no labetalol needed. Next infusion back to 0.5 mg/kg."]},
                   note=" Sustained high BP as the infusion finished (184/112 at 40 min, 186/110 at 45 min); no "
                        "symptoms, ECG sinus rhythm; settled without treatment (160/98 at 55 min)."))],
        integrations=[21, 18, 13],
    ),
    dict(  # preparing: eligible, one preparation note signed, the second a draft
        client=11, route=Route.LOZENGE, planned=4, weight=70.2,
        prep_theme=2,
        goals="Recover from burnout; rebuild energy and limits at work.",
        screening=dict(
            n=14, bp_history="No hypertension. 120/78, HR 72.",
            current_medications="None.",
            psychiatric_diagnoses="Burnout with a moderate depressive episode. PHQ-9 14.",
            substance_use="Alcohol 4-6 units a week.",
            decision=E, decision_rationale="No contraindications. Lozenge course at 100-200 mg.",
            note="Screening in person; occupational health letter supports a phased return.",
        ),
        preps=[9, dict(n=2, draft=True)],
    ),
    dict(  # discontinued: moved away after two of four lozenge sessions
        client=12, route=Route.LOZENGE, planned=4, weight=66.0, status=ClientStatus.DISCHARGED,
        prep_theme=0, themes=[0, 3],
        goals="Live with the loss of the partner; sleep in the shared bedroom again.",
        screening=dict(
            n=70, bp_history="No hypertension. 130/82, HR 74.",
            current_medications="Zopiclone 3.75 mg some nights.",
            psychiatric_diagnoses="Prolonged grief disorder (partner died 20 months ago). PHQ-9 17.",
            substance_use="Alcohol 1-2 glasses of wine most evenings.",
            decision=E, decision_rationale="No contraindications. Zopiclone not on session nights.",
            note="Screening in person with the grief group facilitator's letter.",
        ),
        preps=[66, 63],
        doses=[dict(n=59, lozenges=[(150, 1)]), dict(n=54, lozenges=[(200, 1), (100, 1)])],
        integrations=[57, dict(n=52, plan="The client moves away next month for a family reason: no further "
                               "medicine sessions here; a transfer summary will be sent with consent.",
                               addendum=("Referral sent", "With the client's written consent, a transfer "
                      "summary was sent to the new therapist near the client's new home (Harbourside Counselling "
                      "Collective, invented). The client confirmed by email that it arrived."))],
        end=dict(reason=EndReason.DISCONTINUED, n=47, note=(
            "Discontinued after 2 of 4 lozenge sessions, both integrated: the client moved across the country "
            "for a family reason. Benefit so far (PHQ-9 17 to 12). Transfer summary and a list of KAP "
            "providers near the new home given.")),
    ),
    dict(  # a course completed last year ...
        client=13, route=Route.LOZENGE, planned=3, weight=77.8,
        prep_theme=2, themes=[2, 1, 4],
        goals="Face the fear of dying after the heart surgery; reconnect with the family.",
        screening=dict(
            n=230, bp_history="Controlled hypertension: 132/80, HR 66.",
            heart_history="Aortic valve replacement three years ago; cardiology follow-up yearly, no arrhythmia.",
            current_medications="Ramipril 5 mg; atorvastatin 40 mg.",
            psychiatric_diagnoses="Existential distress with depressive symptoms. PHQ-9 15.",
            substance_use="None.",
            decision=E, decision_rationale="Valve replacement with normal function and controlled BP is not "
            "a contraindication (cardiology agrees). Lozenge route for a gentler onset.",
            note="Screening in person with the cardiology summary.",
        ),
        preps=[226, 222],
        doses=[dict(n=218, lozenges=[(100, 1)]), dict(n=213, lozenges=[(150, 1)]),
               dict(n=208, lozenges=[(200, 1)])],
        integrations=[216, 211, 205],
        end=dict(reason=EndReason.COMPLETED, n=200, note=(
            "Completed 3 of 3 lozenge sessions, each integrated. PHQ-9 15 to 6. The client describes less "
            "fear and more time with the grandchildren. Follow-up in six months; a short top-up course can "
            "be considered.")),
    ),
    dict(  # ... and a new top-up course for the same client: re-screened, preparation drafted
        client=13, route=Route.LOZENGE, planned=2, weight=78.4,
        prep_theme=3,
        goals="Top-up course: keep the gains of the first course through a difficult year.",
        screening=dict(
            n=6, sign=5, bp_history="Controlled hypertension: 130/78, HR 64.",
            heart_history="Valve replacement; yearly cardiology review two months ago unchanged.",
            current_medications="Ramipril 5 mg; atorvastatin 40 mg.",
            psychiatric_diagnoses="Existential distress; mild depressive symptoms returning. PHQ-9 11.",
            substance_use="None.",
            decision=E, decision_rationale="Re-screened: no change in health since the first course, which "
            "was well tolerated. Two lozenge sessions at 150-200 mg.",
            note="Re-screening for a top-up course after the first course last year.",
        ),
        preps=[dict(n=2, draft=True)],
    ),
    dict(  # integrating: last IM session yesterday, its note still a draft
        client=15, route=Route.IM, planned=4, weight=72.6,
        prep_theme=3, themes=[3, None],
        goals="Fewer panic attacks and less avoidance; focus at work without constant worry.",
        screening=dict(
            n=22, bp_history="No hypertension. 122/80, HR 78.",
            current_medications="Lisdexamfetamine 40 mg mornings (ADHD); fluoxetine 20 mg.",
            interacting_medications=["stimulants"],
            psychiatric_diagnoses="Generalised anxiety disorder; ADHD. GAD-7 15, PHQ-9 9.",
            substance_use="Caffeine 4-5 coffees a day; no alcohol or drugs.",
            decision=E, decision_rationale="Eligible. Stimulant raises BP and heart rate: skip lisdexamfetamine "
            "on session days; no more than one coffee before a session.",
            note="Screening in person.",
        ),
        preps=[17, 12],
        doses=[dict(n=7, mgkg="0.5", site=InjectionSite.DELTOID_LEFT),
               dict(n=1, mgkg="0.6", site=InjectionSite.DELTOID_RIGHT, draft=True, vitals=dict(
                   baselines=[(2, 128, 82, 96)], peak=(148, 92), settle=(130, 82),
                   at={25: (146, 90, 124), 40: (148, 92, 126), 55: (138, 86, 112)}, leave_open=True,
                   note=" Heart rate 124 at 25 min and 126 at 40 min (two coffees this morning despite the "
                        "agreement); no chest pain or palpitations; 112 by 55 min."))],
        integrations=[5, None],
    ),
    dict(  # completed: four lozenge sessions
        client=17, route=Route.LOZENGE, planned=4, weight=63.9,
        prep_theme=1, themes=[2, 0, 3, 1],
        goals="Reduce PTSD symptoms after a workplace assault; return to work in a new team.",
        screening=dict(
            n=120, bp_history="No hypertension. 114/70, HR 82.",
            current_medications="Sertraline 100 mg; prazosin 1 mg at night.",
            psychiatric_diagnoses="PTSD (PCL-5 49) after an assault at work in 2019. PHQ-9 13.",
            dissociative_history=History.NONE,
            substance_use="None.",
            decision=E, decision_rationale="No contraindications. Three preparation sessions given the "
            "trauma history; lozenges to start low.",
            note="Screening in person; previous EMDR with partial benefit.",
        ),
        preps=[116, 112, 108],
        doses=[dict(n=104, lozenges=[(100, 1)]), dict(n=99, lozenges=[(150, 1), (50, 1)]),
               dict(n=94, lozenges=[(200, 1)]), dict(n=89, lozenges=[(200, 1), (100, 1)])],
        integrations=[102, 97, 92, 86],
        end=dict(reason=EndReason.COMPLETED, n=80, note=(
            "Completed 4 of 4 lozenge sessions with integration after each; all notes signed. PCL-5 49 to 28 "
            "(below the probable-PTSD cut-off), PHQ-9 13 to 6. Back at work in a new team. Fortnightly "
            "therapy continues for three months.")),
    ),
    dict(  # every planned IV session given and integrated; the last integration note is a draft
        client=18, route=Route.IV, planned=3, weight=90.3,  # a fourth infusion given beyond the plan
        prep_theme=4, themes=[0, 4, 1, 3],
        goals="Relief from depression and anxiety; cut down gabapentin with the GP.",
        screening=dict(
            n=28, bp_history="No hypertension. 126/84, HR 70.",
            current_medications="Duloxetine 60 mg; gabapentin 300 mg three times a day (back pain).",
            interacting_medications=["gabapentinoids"],
            psychiatric_diagnoses="Major depressive disorder with anxious distress. PHQ-9 20, GAD-7 14.",
            substance_use="None.",
            decision=E, decision_rationale="Eligible. Gabapentin adds sedation: morning dose omitted on "
            "infusion days, sedation monitored (MOAA/S).",
            note="Screening in person.",
        ),
        preps=[24, 21],
        doses=[dict(n=17, mgkg="0.5"), dict(n=14, mgkg="0.5"), dict(n=11, mgkg="0.6"), dict(n=8, mgkg="0.6")],
        integrations=[16, 13, 10, dict(n=6, draft=True)],
    ),
    dict(  # between lozenge sessions; a dose above the usual range with its reason
        client=19, route=Route.LOZENGE, planned=4, weight=95.1,
        prep_theme=3, themes=[2, 0],
        goals="Recover from burnout; go back to work part-time.",
        screening=dict(
            n=25, bp_history="No hypertension. 130/84, HR 76.",
            current_medications="Sertraline 100 mg.",
            psychiatric_diagnoses="Burnout; moderate depressive episode. PHQ-9 16.",
            substance_use="Alcohol 2 units a week.",
            decision=E, decision_rationale="No contraindications. Lozenges from 200 mg (body weight 95 kg).",
            note="Screening by video, medical review in person.",
        ),
        preps=[21, 18],
        doses=[dict(n=14, lozenges=[(200, 1)]),
               dict(n=8, lozenges=[(300, 1), (150, 1)],
                    reason="Above the usual 50-400 mg range on purpose: at 200 mg the client felt almost no "
                           "effect (dissociation 0-1); at 95 kg, with spitting and about 25 % absorption, 450 mg "
                           "was agreed with the medical lead before the session.")],
        integrations=[12, 6],
    ),
    dict(  # discontinued because of side effects
        client=22, route=Route.IM, planned=4, weight=69.8, status=ClientStatus.ON_HOLD,
        prep_theme=2, themes=[1, 3],
        goals="Fewer flashbacks and less low mood after childhood trauma.",
        screening=dict(
            n=50, bp_history="No hypertension. 124/78, HR 74.",
            current_medications="Venlafaxine 150 mg.",
            psychiatric_diagnoses="Complex PTSD; recurrent depression. PCL-5 58, PHQ-9 18.",
            dissociative_history=History.NONE,
            substance_use="None.",
            decision=E, decision_rationale="No contraindications. Venlafaxine can raise BP: readings every "
            "15 minutes. IM at 0.5 mg/kg.",
            note="Screening in person.",
        ),
        preps=[46, 43],
        doses=[
            dict(n=39, mgkg="0.5", site=InjectionSite.DELTOID_LEFT, side_effects=["nausea", "vomiting"]),
            dict(n=34, mgkg="0.5", site=InjectionSite.DELTOID_RIGHT, peak=(176, 108), cosign=True,
                 vitals=dict(at={35: (176, 108, 96), 40: (168, 102, 92)}),
                 experience="Peaceful for the first 20 minutes (\"warm, floating\").",
                 side_effects=["nausea", "vomiting", "elevated_bp", "dysphoria"],
                 addendum=("Correction", "Correction: the 176/108 reading was at 35 minutes, not 40; repeated "
                           "five minutes later at 168/102, so the two-readings alert threshold (180/110) was "
                           "not reached. No labetalol was needed.")),
        ],
        integrations=[37, dict(n=32, mood="shaky and low for two days, then back to the usual baseline",
                               plan="The client has decided to stop the medicine sessions; reviewed with the "
                                    "medical lead; weekly therapy continues.",
                               fields=dict(
            what_felt_different="\"I hated it. I felt trapped in my body and couldn't tell you.\" The first 20 "
                                "minutes were peaceful; the second half was frightening.",
            emotions_body="Nausea and vomiting again; shaky and cold afterwards; tearful the next day.",
            memories_beliefs="The helplessness echoed not being able to leave as a child; we named the link "
                             "without going into the memory.",
            insights="\"I'm allowed to stop. Choosing to stop is not failing.\"",
            support_safety="No suicidal ideation. GP review of the blood pressure and nausea requested; "
                           "safety plan unchanged.",
        ))],
        end=dict(reason=EndReason.DISCONTINUED, n=30, note=(
            "Discontinued at the client's request after 2 of 4 IM sessions: vomiting at both despite "
            "ondansetron, BP up to 176/108 and dysphoria at the second. Both sessions integrated. Reviewed "
            "with the medical lead; may reconsider a lower-dose lozenge route after a GP review.")),
    ),
    dict(  # screening pending: fully drafted, waiting for the medical decision
        client=23, route=Route.IM, planned=4, weight=82.7,
        goals="Less social anxiety; speak in meetings; fewer cancelled plans.",
        screening=dict(
            n=6, sign=None, bp_history="No hypertension. 120/76, HR 84.",
            heart_history="No cardiac history.",
            current_medications="Paroxetine 30 mg.",
            psychiatric_diagnoses="Social anxiety disorder. GAD-7 13, PHQ-9 8.",
            psychosis_history=History.NONE, mania_history=History.NONE, dissociative_history=History.NONE,
            substance_use="Alcohol at social events to \"take the edge off\", 6-8 units a week.",
            note="Screening drafted; GP confirmed normal thyroid function. Ready for the medical review.",
        ),
    ),
    dict(  # an IV infusion today, in progress (a reading overdue); acute suicide risk with a safety plan
        client=24, route=Route.IV, planned=6, weight=57.4,
        prep_theme=4, themes=[3, 1, 4],
        goals="Rapid relief of severe depression and suicidal thoughts; back to studying.",
        screening=dict(
            n=20, sign=19, bp_history="No hypertension. 112/70, HR 80.",
            current_medications="Quetiapine 50 mg at night; lithium was stopped last year (side effects).",
            psychiatric_diagnoses="Major depressive disorder, severe, recurrent. PHQ-9 23 (item 9 = 2).",
            psychosis_history=History.NONE, mania_history=History.FAMILY,
            substance_use="None.",
            contraindications=["suicide_risk"], decision=E,
            safety_plan="Written safety plan: warning signs (not answering texts, in bed past noon); coping "
            "(walk the dog, shower, phone the emergency contact); people (the emergency contact, a friend from "
            "the course); professional (therapist, clinic line, 988); means safety (a family member holds the "
            "medication; no firearms at home).",
            decision_rationale="Relative contraindication (acute suicide risk): ideation with a vague plan six "
            "weeks ago, no intent or preparation now. Ketamine may reduce suicidal thoughts quickly; benefit "
            "outweighs risk with the safety plan, weekly therapy and a family member staying the night after "
            "each infusion. Family history of bipolar disorder noted: watch for mania.",
            note="Screening with the crisis team's discharge letter.",
        ),
        preps=[16, 14],
        doses=[dict(n=11, mgkg="0.5"), dict(n=9, mgkg="0.5"), dict(n=6, mgkg="0.5"),
               dict(n=0, mgkg="0.5", draft=True, side_effects=[], vitals=dict(  # today, in progress
                   baselines=[(2, 144, 92, 88)], leave_open=True,
                   baseline_note="Baseline BP {s}/{d}, HR {hr}, SpO2 {spo2} % (above 140/90: anxious about the "
                                 "cannula; no headache or chest pain; agreed to go ahead and watch closely)"))],
        integrations=[10, 8, 4],
    ),
    dict(  # completed: three IM sessions; relative contraindication (liver disease)
        client=26, route=Route.IM, planned=3, weight=101.4,
        prep_theme=1, themes=[1, 3, 0],
        goals="Relief from depression and anxiety; lose less time to worry.",
        screening=dict(
            n=95, bp_history="Borderline: 136/86, HR 78; home readings 125-135 / 80-85.",
            current_medications="Citalopram 20 mg; metformin 500 mg twice daily.",
            psychiatric_diagnoses="Mixed anxiety and depressive disorder. PHQ-9 15, GAD-7 13.",
            substance_use="No alcohol (liver).",
            contraindications=["liver_disease"], decision=E,
            decision_rationale="Relative contraindication (liver disease): non-alcoholic fatty liver disease, "
            "ALT 62, no cirrhosis on the hepatology scan, normal synthetic function. Three IM sessions only; "
            "liver tests repeated after the course.",
            note="Screening with the hepatology letter.",
        ),
        preps=[91, 88],
        doses=[dict(n=84, mgkg="0.5", site=InjectionSite.DELTOID_LEFT),
               dict(n=79, mgkg="0.6", site=InjectionSite.DELTOID_RIGHT, vitals=dict(
                   delay=12, baselines=[(2, 166, 98, 92), (14, 162, 96, 86)], peak=(176, 104), settle=(142, 88),
                   acknowledge={"baseline_hold": [
                       "Arrived rushed and anxious after a delayed bus: seated quietly for 10 minutes, then a "
                       "recheck.",
                       "Still at the hold threshold after rest. Home log reviewed; Dr Ines Valdivia agreed to "
                       "dose: an override with the reason follows."]},
                   override=(OverrideKind.DOSE_HOLD, "baseline_hold",
                             "166/98 on arrival after rushing from a delayed bus; 162/96 after 10 minutes' quiet "
                             "rest. Home readings this month 125-135 / 80-85 (log seen) and 136/86 at screening: a "
                             "white-coat rise, not uncontrolled hypertension. No headache, chest pain or visual "
                             "symptoms. Dr Ines Valdivia (physician) reviewed in person and agreed to give the "
                             "planned 0.6 mg/kg: readings every 15 minutes, repeat in 5 for 180/110 or more."),
                   baseline_note="Baseline BP 166/98, HR 92 on arrival after rushing from a delayed bus; {s}/{d}, "
                                 "HR {hr}, SpO2 {spo2} % after 10 minutes' rest: at the hold threshold. Home log "
                                 "125-135 / 80-85; Dr Ines Valdivia agreed to dose (override recorded)")),
               dict(n=74, mgkg="0.75", site=InjectionSite.DELTOID_LEFT)],
        integrations=[82, 77, 71],
        end=dict(reason=EndReason.COMPLETED, n=66, note=(
            "Completed 3 of 3 IM sessions (0.5, 0.6, 0.75 mg/kg), each integrated and signed. PHQ-9 15 to 7, "
            "GAD-7 13 to 6. Liver tests after the course unchanged (ALT 60). Discharged back to the GP and "
            "the usual therapist.")),
    ),
)


# Blood pressure peaks about 40 minutes after the first dose (CLINICAL.md); how steeply it rises
# by route (an exponent of the fraction of those 40 minutes gone).
PEAK_MINUTES = 40
ONSET = {Route.IM: 0.6, Route.IV: 0.9, Route.LOZENGE: 1.1}


def _alerts_as_entered(session_id: int, readings: list[VitalSign], t: Thresholds, marker_id: int) -> list[SafetyAlert]:
    """The alerts ``kaptracker.vitals.service.record_alerts`` stores for a session whose readings
    were entered one by one (and marked entered in error) at the times they record.

    After each entry, and after each error mark, the readings not in error are checked with the
    session rules and the latest baseline's rules; a finding not stored yet becomes an alert raised
    then. Marking a reading in error withdraws the alerts resting on it, as the app does.
    """
    from .vitals.service import as_rule_readings, baseline, withdrawal_reason

    events = sorted([(v.recorded_at, 0, v) for v in readings]
                    + [(v.entered_in_error_at, 1, v) for v in readings if v.entered_in_error_at],
                    key=lambda e: (e[0], e[1]))
    entered: list[VitalSign] = []
    wrong: set[int] = set()
    alerts: dict[tuple[str, int | None], SafetyAlert] = {}  # not withdrawn
    withdrawn: list[SafetyAlert] = []
    for moment, marking, vital in events:
        if marking:
            wrong.add(vital.id)
            for key, alert in list(alerts.items()):
                if vital.id in (alert.vital_sign_id, alert.paired_vital_sign_id):
                    alert.withdrawn_at, alert.withdrawn_reason = moment, withdrawal_reason(vital)
                    withdrawn.append(alerts.pop(key))
        else:
            entered.append(vital)
        visible = sorted((v for v in entered if v.id not in wrong), key=lambda v: (v.taken_at, v.id))
        current = as_rule_readings(visible)  # in clinic time, as the app hands them to the rules
        if not current:
            continue
        findings = list(vital_rules.session_findings(current, t))
        base = baseline(current)
        if base is not None:
            findings += [f for f in vital_rules.baseline_findings(base, t) if f.rule != "baseline_missing"]
        for finding in findings:
            key = (finding.rule, finding.reading_id)
            if key not in alerts:
                alerts[key] = SafetyAlert(session_id=session_id, vital_sign_id=finding.reading_id, rule=finding.rule,
                                          paired_vital_sign_id=finding.paired_reading_id,
                                          level=finding.level, message=finding.message, raised_at=moment)
    return sorted([*alerts.values(), *withdrawn], key=lambda a: a.raised_at)


class _Builder:
    """Builds the courses in memory; signatures and addenda are applied after the first flush."""

    def __init__(self, rng: random.Random, clock: _Clock, staff: dict[str, User]):
        self.rng, self.clock, self.staff = rng, clock, staff
        self.objects: list = []
        self.signatures: list[tuple] = []  # (session, signer, signed_at, cosigned_at or None)
        self.addenda: list[tuple] = []  # (session, author, after, reason, text)
        self.used: dict[str, int] = {}  # how far each theme pool has been used
        self.vitals: list[tuple] = []  # (session, medical author, readings, vitals spec, override or None)

    # -- helpers --

    def _pick(self, pool_name: str, pool: list | tuple, index: int | None = None):
        """The given entry of a pool, or the next one not yet used."""
        if index is not None:
            return pool[index]
        k = self.used.get(pool_name, 0)
        self.used[pool_name] = k + 1
        return pool[k % len(pool)]

    def _sign(self, session, signer: User, n: int, ended: dt.datetime, *, next_day=False, cosign=False):
        rng, clock = self.rng, self.clock
        if next_day and n > 1:
            at = clock.at(n - 1, rng.randint(8, 10), rng.randint(0, 59))
        else:
            at = ended + dt.timedelta(minutes=rng.randint(15, 90))
        at = clock.past(max(at, ended + dt.timedelta(minutes=5)))
        cosigned = None
        if cosign and n > 4:
            cosigned = clock.at(n - rng.randint(2, 4), rng.randint(12, 17), rng.randint(0, 59))
        self.signatures.append((session, signer, at, cosigned))
        return at

    def _session(self, cls, course, author, at, **fields):
        session = cls(course=course, author=author, occurred_at=at, created_at=at, updated_at=at, **fields)
        self.objects.append(session)
        return session

    # -- a course --

    def course(self, client: Client, spec: dict) -> None:
        rng, clock = self.rng, self.clock
        therapist = next(u for u in self.staff.values() if u.id == client.therapist_id)
        supervised = therapist.email.startswith("therapist3@")  # the newest therapist's notes are co-signed
        group = GROUP_BY_SET[self._index(client) % len(GROUP_BY_SET)]
        start = spec["screening"]["n"]
        course = Course(
            client=client, planned_route=spec["route"], planned_medicine_sessions=spec["planned"],
            goals=spec["goals"], started_on=clock.date(start), created_by_id=therapist.id,
            created_at=clock.at(start, 9, 30), updated_at=clock.at(start, 9, 30),
        )
        self.objects.append(course)
        client.created_at = min(client.created_at, clock.at(start + rng.randint(5, 25), 11))
        self._screening(course, client, therapist, spec["screening"])

        preps = [p if isinstance(p, dict) else {"n": p} for p in spec.get("preps", [])]
        for k, prep in enumerate(preps):
            self._preparation(course, therapist, prep, group, first=(k == 0), last=(k == len(preps) - 1),
                              supervised=supervised, theme=spec.get("prep_theme"))

        doses = spec.get("doses", [])
        integrations = spec.get("integrations", [])
        dosing_sessions = []
        for k, dose in enumerate(doses):
            dosing_sessions.append(self._dosing(course, client, therapist, spec, dose, group, k))
        previous_experiment = None
        themes = spec.get("themes", [None] * len(integrations))
        for k, item in enumerate(integrations):
            if item is None:
                continue
            item = item if isinstance(item, dict) else {"n": item}
            following = next((d["n"] for d in doses[k + 1:]), None)
            if following is not None:
                plan = f"Next medicine session {clock.day_text(following)}."
            elif k + 1 < spec["planned"]:
                plan = f"Medicine session {k + 2} of {spec['planned']} to be booked with the medical team."
            else:
                plan = "Every planned medicine session is now integrated; follow-up booked."
            previous_experiment = self._integration(
                course, client, therapist, item, dosing_sessions[k], group, previous_experiment,
                following, item.get("plan", plan), supervised=supervised, theme=themes[k],
            )

        end = spec.get("end")
        if end:
            course.end_reason = end["reason"]
            course.ended_on = clock.date(end["n"])
            course.end_note = end["note"]
            course.updated_at = clock.at(end["n"], 16, 40)

    @staticmethod
    def _index(client: Client) -> int:
        return int(client.record_number.split("-")[1]) - 1001

    def _screening(self, course, client, therapist, spec):
        rng, clock = self.rng, self.clock
        n = spec["n"]
        at = clock.at(n, rng.choice((9, 10, 13, 14)), rng.choice((0, 30)))
        relationship = client.emergency_contact_relationship.lower()
        signed = spec.get("sign", n - 1 if n > 1 else n) is not None
        fields = dict(
            bp_history="", heart_history="No cardiac history; no chest pain, palpitations or fainting.",
            current_medications="", interacting_medications=[], psychiatric_diagnoses="",
            psychosis_history=History.NONE if signed else History.UNKNOWN,
            mania_history=History.NONE if signed else History.UNKNOWN,
            dissociative_history=History.NONE if signed else History.UNKNOWN,
            substance_use="",
            pregnancy=Pregnancy.NOT_APPLICABLE if client.pronouns == "he/him" else Pregnancy.NO,
            support_network=(f"Lives with their {relationship}, " if relationship in ("partner", "spouse")
                             else f"Close to their {relationship}, ")
            + f"{client.emergency_contact_name}, who knows about the referral and supports it. "
            + rng.choice(SUPPORT_EXTRA),
            transport_home=f"{client.emergency_contact_name} ({relationship}) will collect after each medicine "
                           "session; the client agrees not to drive until the next day.",
            contraindications=[], decision=None, decision_rationale=None, medical_clearance=None,
            safety_plan=None, note="",
        )
        extra = {k: v for k, v in spec.items() if k not in ("n", "sign", "addendum")}
        fields.update(extra)
        if not signed:  # a therapist's draft: the decision is medical staff's to make
            fields.update(decision=None, decision_rationale=None)
            if not spec.get("heart_history"):
                fields["heart_history"] = ""
            if "support_network" not in spec and n <= 3:
                fields["transport_home"] = ""
        session = self._session(Screening, course, therapist, at, **fields)
        if signed:
            medical = self.staff["medical"]
            sign_n = spec.get("sign", n - 1 if n > 1 else n)
            signed_at = clock.at(sign_n, rng.randint(15, 17), rng.randint(0, 59))
            if sign_n == n:
                signed_at = at + dt.timedelta(minutes=rng.randint(100, 180))
            cosign = (bool(fields["contraindications"]) or fields["decision"] is not Decision.ELIGIBLE) and sign_n > 2
            cosigned = clock.at(sign_n - 1, rng.randint(12, 17), rng.randint(0, 59)) if cosign else None
            self.signatures.append((session, medical, clock.past(signed_at), cosigned))
            if "addendum" in spec:
                self.addenda.append((session, medical, signed_at, *spec["addendum"]))
        return session

    def _preparation(self, course, therapist, spec, group, *, first, last, supervised, theme):
        rng, clock = self.rng, self.clock
        n = spec["n"]
        at = clock.at(n, rng.choice((10, 11, 14, 15, 16)), rng.choice((0, 30)))
        content = self._pick("prep-" + group, PREPARATIONS[group], theme) if first else {}
        mode = rng.choice(("in person", "in person", "by video"))
        if first:
            note = (f"50-minute preparation session {mode}. Explained what to expect: onset, dissociation, "
                    "possible nausea and dizziness, BP checks, at least 60 minutes' observation before "
                    "discharge. Explored intentions and fears; consent for supportive touch discussed.")
        else:
            note = (f"50-minute preparation session {mode}. {READINESS[n % len(READINESS)]} Intention refined "
                    "and written down.")
        fields = dict(
            intentions=content.get("intentions", "Reviewed the intention from the first session; unchanged."
                                   if not first else ""),
            goals=content.get("goals", ""), fears=content.get("fears", ""),
            resources=content.get("resources", ""),
            medically_ready=True, psychologically_ready=last,
            readiness_notes=(READINESS[(n + 1) % len(READINESS)] if last else
                             "Wants one more session to practise grounding before the first medicine session."),
            note=note,
        )
        session = self._session(PreparationSession, course, therapist, at, **fields)
        if not spec.get("draft"):
            self._sign(session, therapist, n, at + dt.timedelta(minutes=50), cosign=supervised)
        return session

    def _dosing(self, course, client, therapist, spec, dose, group, k):
        rng, clock = self.rng, self.clock
        route, n = spec["route"], dose["n"]
        medical = self.staff["medical"] if route is Route.IV or k % 2 == 0 else self.staff["medical2"]
        vitals = dose.get("vitals", {})
        live = n == 0  # today's session, still in progress
        at = clock.at(n, rng.choice((9, 9, 10, 13)), rng.choice((0, 15, 30)))
        if live:  # started about an hour ago, on a 5-minute mark
            start = clock.now - dt.timedelta(minutes=65)
            at = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
        weight = (Decimal(str(spec["weight"])) + Decimal(rng.randint(-4, 4)) / 10).quantize(Decimal("0.1"))
        # After the baseline vitals (and, for a held baseline, a recheck after rest and an override).
        given = at + dt.timedelta(minutes=rng.randint(8, 12) + vitals.get("delay", 0))
        administrations = []
        if route is Route.LOZENGE:
            hold = rng.choice((10, 15, 15, 20))
            parts = []
            for j, (strength, count) in enumerate(dose["lozenges"]):
                strength, count = Decimal(strength), Decimal(str(count))
                when = given + dt.timedelta(minutes=30 * j)
                administrations.append(Administration(
                    given_at=when, dose_mg=lozenge_mg(strength, count), strength_mg=strength, count=count,
                    hold_minutes=hold, swallowed=False, recorded_by_id=medical.id))
                what = f"{count.normalize()} × {strength} mg troche" + ("s" if count != 1 else "")
                parts.append(f"{what} at {clock.hhmm(when)}, held {hold} min then spat" if j == 0 else
                             f"booster {what} at {clock.hhmm(when)} (effect light at 20 min, as planned)")
            dose_line = "; ".join(parts) + "."
            last_dose = administrations[-1].given_at
            duration = rng.randint(95, 115) if len(administrations) > 1 else rng.randint(80, 100)
            weight_kg = None
        else:
            mgkg = Decimal(dose["mgkg"])
            mg = weight_based_mg(weight, mgkg)
            weight_kg = weight
            if route is Route.IM:
                site = dose.get("site", InjectionSite.DELTOID_LEFT)
                administrations.append(Administration(
                    given_at=given, dose_mg=mg, mg_per_kg=mgkg, injection_site=site, recorded_by_id=medical.id))
                dose_line = (f"IM {mgkg} mg/kg × {weight} kg = {mg} mg into the {SITE_WORDS[site]} at "
                             f"{clock.hhmm(given)}.")
                last_dose = given
                duration = rng.randint(75, 95)
            else:
                administrations.append(Administration(
                    given_at=given, dose_mg=mg, mg_per_kg=mgkg, infusion_minutes=40, recorded_by_id=medical.id))
                dose_line = (f"IV {mgkg} mg/kg × {weight} kg = {mg} mg over 40 min via the left antecubital "
                             f"cannula, started {clock.hhmm(given)}; vitals every 10 min during the infusion.")
                last_dose = given + dt.timedelta(minutes=40)
                duration = rng.randint(100, 115)
        ended = at + dt.timedelta(minutes=duration)
        discharged = max(ended + dt.timedelta(minutes=rng.randint(5, 15)), last_dose + dt.timedelta(minutes=62))
        if "discharge_after" in vitals:  # discharged before the minimum observation, with an override
            discharged = last_dose + dt.timedelta(minutes=vitals["discharge_after"])
            ended = min(ended, discharged - dt.timedelta(minutes=rng.randint(3, 6)))
        if live:
            ended = discharged = None

        side_effects = dose.get("side_effects")
        if side_effects is None:
            side_effects = rng.sample(SIDE_EFFECT_POOL, rng.choice((0, 1, 1, 2)))
        per_kg = Decimal(dose.get("mgkg", "0"))
        if route is Route.LOZENGE:
            dissociation = rng.choice((1, 1, 2))
        elif per_kg < Decimal("0.5"):
            dissociation = 1
        else:
            dissociation = rng.choice((2, 2, 3)) if per_kg >= Decimal("0.6") else rng.choice((1, 2, 2))
        sedation = rng.choice((5, 4, 4)) if route is not Route.LOZENGE else rng.choice((5, 5, 4))
        if "gabapentin" in spec["screening"].get("current_medications", ""):
            sedation = min(sedation, 4)
        base_s, base_d = rng.randint(112, 132), rng.randint(70, 84)
        hr, spo2 = rng.randint(62, 84), rng.randint(97, 99)
        if "baselines" in vitals:  # the baseline the dose went ahead on (the last one)
            _, base_s, base_d, hr = vitals["baselines"][-1]
        peak = (dose.get("peak") or vitals.get("peak")
                or (base_s + rng.randint(10, 25), base_d + rng.randint(5, 12)))
        settle = vitals.get("settle") or (base_s + rng.randint(0, 6), base_d + rng.randint(0, 4))
        escort = client.emergency_contact_name if rng.random() < 0.8 else rng.choice(ESCORT_FRIENDS)
        rows = self._vital_rows(route, at, given, ended, discharged, base=(base_s, base_d), hr=hr, spo2=spo2,
                                peak=peak, settle=settle, spec=vitals)
        effects = ""
        if "nausea" in side_effects:
            effects += (" Nausea from about 25 min; ondansetron 4 mg ODT given" +
                        (", vomited once at 50 min, settled by discharge." if "vomiting" in side_effects
                         else ", settled within 20 min."))
        if "dizziness" in side_effects or "balance" in side_effects:
            effects += " Dizzy on first standing; walked steadily with support, then unaided."
        if "elevated_bp" in side_effects:
            effects += " The high reading was repeated and observed; no treatment needed."
        if "vision" in side_effects:
            effects += " Blurred vision at the peak, cleared by 60 min."
        if "headache" in side_effects:
            effects += " Mild headache near the end; paracetamol 1 g by mouth."
        if "numbness" in side_effects:
            effects += " Numb lips and fingertips at the peak, resolved."
        if "drowsiness" in side_effects:
            effects += " Drowsy for about half an hour after the peak; roused easily."
        if "dysphoria" in side_effects:
            effects += " Distressed and tearful in the second half (\"I hated not being in control\"); " \
                       "reassurance and grounding; no lasting distress at discharge."
        # The note quotes the readings: the baseline, the highest after the dose, the discharge set.
        kept = [r for r in rows if r["error"] is None]
        top = max((r for r in kept if r["taken_at"] > given), key=lambda r: (r["s"], r["d"]))
        minute = round((top["taken_at"] - given).total_seconds() / 60)
        when = "at about 40 min" if 35 <= minute <= 45 else f"at {minute} min"
        lowest = min(r["spo2"] for r in kept)
        opening = vitals.get("baseline_note", "Baseline BP {s}/{d}, HR {hr}, SpO2 {spo2} %").format(
            s=base_s, d=base_d, hr=hr, spo2=spo2)
        if live:
            readings = (f" Highest BP so far {top['s']}/{top['d']} {when}; SpO2 never below {lowest} %."
                        f"{vitals.get('note', '')}{effects} Observation continues; {escort} to collect.")
        else:
            last = next(r for r in rows if r["timepoint"] is Timepoint.DISCHARGE)
            readings = (f" BP peaked at {top['s']}/{top['d']} {when} and was {last['s']}/{last['d']} before "
                        f"discharge; SpO2 never below {lowest} %.{vitals.get('note', '')}{effects} "
                        f"Discharged at {clock.hhmm(discharged)} to {escort}: alert and oriented, walking "
                        "steadily, no driving until tomorrow.")
        note = (
            f"{opening}; fasted 4 h; intention read aloud. "
            f"{dose_line} Eye shades and music. {therapist.name} present throughout. "
            f"{dose.get('experience') or self._pick('exp-' + group, EXPERIENCE[group])}{readings}"
        )
        lot_year = clock.date(n).strftime("%y")
        expiry = clock.date(n) + dt.timedelta(days=rng.randint(120, 420))
        session = self._session(
            DosingSession, course, medical, at, route=route, administered_by_id=medical.id,
            therapist_present_id=therapist.id, weight_kg=weight_kg,
            lot_number=LOTS[route].format(lot_year, rng.randint(1, 999 if route is Route.LOZENGE else 9999)),
            lot_expiry=expiry, started_at=at, ended_at=ended, eye_shades=True, music=True,
            side_effects=list(side_effects), dissociation=dissociation, sedation=sedation,
            dose_reason=dose.get("reason"), discharged_at=discharged,
            discharge_criteria=[] if live else list(ALL_DISCHARGE), escort_name=escort, note=note,
        )
        for administration in administrations:
            administration.session = session
            self.objects.append(administration)
        self._record_vitals(session, medical, rows, vitals, given=given, discharged=discharged)
        if not dose.get("draft"):
            signed_at = self._sign(session, medical, n, discharged, cosign=dose.get("cosign", False))
            if "addendum" in dose:
                self.addenda.append((session, medical, signed_at, *dose["addendum"]))
        return session

    # -- vital signs --

    def _vital_rows(self, route, at, first, ended, discharged, *, base, hr, spo2, peak, settle, spec) -> list[dict]:
        """A medicine session's readings, in time order, as the nurse would take them.

        A baseline before the dose; then every 15 minutes (every 10 during an IV infusion, 15
        after it); a last set before discharge. Blood pressure rises to ``peak`` at 40 minutes
        after the first dose (steeply for IM, with the infusion for IV, slowly for a lozenge)
        and settles toward ``settle``, the discharge set; the pulse follows a little. ``spec``
        (a dose's "vitals") can give the baselines, readings at given minutes after the dose,
        and a reading typed wrongly then corrected. A session in progress stops 20 minutes ago.
        """
        rng, minute, clock = self.rng, dt.timedelta(minutes=1), self.clock
        rows: list[dict] = []

        def add(taken, timepoint, s, d, pulse, ox):
            rows.append(dict(taken_at=taken, timepoint=timepoint, s=s, d=d, hr=pulse, spo2=ox, note=None,
                             recorded_at=taken + rng.choice((0, 1, 1, 2)) * minute, error=None))

        def oximeter():
            return min(100, max(96, spo2 + rng.choice((-1, 0, 0, 1))))

        for offset, s, d, pulse in spec.get("baselines", [(rng.randint(1, 4), *base, hr)]):
            add(at + offset * minute, Timepoint.BASELINE, s, d, pulse, spo2)
        steps = ([10, 20, 30, 40, *range(55, 300, 15)] if route is Route.IV  # 40: the infusion ends
                 else list(range(10, 300, 15)))
        stop = discharged - 10 * minute if discharged else clock.now - 20 * minute
        explicit = spec.get("at", {})
        minutes = sorted({m for m in steps if first + m * minute <= stop} | set(explicit))
        (bs, bd), (ps, pd), (es, ed) = base, peak, settle
        rise, shape = rng.randint(4, 12), ONSET[route]
        for m in minutes:
            if m <= PEAK_MINUTES:
                f = (m / PEAK_MINUTES) ** shape
                s, d = bs + f * (ps - bs), bd + f * (pd - bd)
            else:
                f = math.exp(-(m - PEAK_MINUTES) / 25)
                s, d = es + f * (ps - es), ed + f * (pd - ed)
            pulse = round(hr + f * rise) + rng.randint(-3, 3)
            if m == PEAK_MINUTES:
                s, d = ps, pd
            else:
                s, d = min(round(s) + rng.randint(-3, 3), ps - 1), min(round(d) + rng.randint(-2, 2), pd - 1)
            if m in explicit:
                s, d, pulse = explicit[m]
            taken = first + m * minute
            add(taken, Timepoint.DURING if ended is None or taken <= ended else Timepoint.POST,
                s, d, pulse, oximeter())
        if discharged is not None:
            last = rows[-1]["taken_at"]
            taken = min(discharged - rng.randint(3, 6) * minute, last + 15 * minute)
            add(taken, Timepoint.DISCHARGE, es, ed, hr + rng.randint(-2, 4), oximeter())
        if "error" in spec:  # a pulse typed wrongly: marked entered in error, then the same set re-entered
            error = spec["error"]
            right = next(r for r in rows if r["taken_at"] == first + error["at"] * minute)
            right["hr"] = error["hr"]
            wrong = right | dict(hr=error["typed"], recorded_at=right["taken_at"] + minute,
                                 error=(right["taken_at"] + 2 * minute, error["reason"]))
            right.update(recorded_at=right["taken_at"] + 3 * minute, note=error["note"])  # the same set
            rows.append(wrong)
            rows.sort(key=lambda r: (r["taken_at"], r["recorded_at"]))
        return rows

    def _record_vitals(self, session, medical, rows, spec, *, given, discharged) -> None:
        """The session's readings (recorded by its medical author); alerts and overrides follow
        once the readings have ids (:meth:`safety_records`)."""
        readings = []
        for r in rows:
            wrong_at, reason = r["error"] or (None, None)
            readings.append(VitalSign(
                session=session, taken_at=r["taken_at"], timepoint=r["timepoint"], systolic=r["s"],
                diastolic=r["d"], heart_rate=r["hr"], spo2=r["spo2"], note=r["note"], recorded_by_id=medical.id,
                recorded_at=r["recorded_at"], entered_in_error_at=wrong_at,
                entered_in_error_by_id=medical.id if wrong_at else None, error_reason=reason,
            ))
        self.objects.extend(readings)
        override = None
        if "override" in spec:
            kind, rule, reason = spec["override"]
            # A dose hold is lifted just before the dose; an early discharge accepted just before it.
            moment = (given if kind is OverrideKind.DOSE_HOLD else discharged) - dt.timedelta(minutes=1)
            override = dict(kind=kind, rules=rule, reason=reason, created_by_id=medical.id, created_at=moment)
        self.vitals.append((session, medical, readings, spec, override))

    def safety_records(self, t: Thresholds) -> list:
        """The alerts the app would have raised as each reading was entered, acknowledged as the
        spec says, and the overrides; call once the readings have ids."""
        rng, minute = self.rng, dt.timedelta(minutes=1)
        records: list = []
        for session, medical, readings, spec, override in self.vitals:
            notes = {rule: list(texts) for rule, texts in spec.get("acknowledge", {}).items()}
            for alert in _alerts_as_entered(session.id, readings, t, medical.id):
                if alert.acknowledged_at is None and alert.withdrawn_at is None:
                    waiting = notes.get(alert.rule)
                    if not waiting and spec.get("leave_open"):
                        records.append(alert)
                        continue
                    alert.acknowledged_at = self.clock.past(alert.raised_at + rng.randint(2, 4) * minute)
                    alert.acknowledged_by_id = medical.id
                    alert.acknowledgement_note = waiting.pop(0) if waiting else "Reviewed at the time; see the note."
                records.append(alert)
            if override is not None:
                records.append(SafetyOverride(session_id=session.id, **override))
        return records

    def _integration(self, course, client, therapist, spec, dosing, group, previous, following, plan, *,
                     supervised, theme):
        rng, clock = self.rng, self.clock
        n = spec["n"]
        at = clock.at(n, rng.choice((10, 11, 13, 14, 15, 16)), rng.choice((0, 30)))
        content = self._pick("int-" + group, INTEGRATIONS[group], theme)
        experiment = (self._pick("experiments-loss", LOSS_EXPERIMENTS + EXPERIMENTS) if group == "loss"
                      else self._pick("experiments", EXPERIMENTS))
        review = (f"{previous[0].capitalize()}: {rng.choice(REVIEWS)}" if previous else
                  "First integration session: no experiment set yet.")
        if following is not None:
            follow_up = clock.date(following)
        else:
            follow_up = clock.date(n) + dt.timedelta(days=rng.choice((7, 14, 21)))
        mode = rng.choice(("in person", "in person", "by video"))
        fields = dict(
            content, dosing_session=dosing, experiments=experiment[1], experiments_review=review,
            support_safety=rng.choice(SUPPORT).format(rel=client.emergency_contact_relationship),
            follow_up_on=follow_up,
            note=f"50-minute integration session {mode}. Mood since the medicine session: "
                 f"{spec.get('mood') or rng.choice(MOODS)}. {plan}",
        )
        fields.update(spec.get("fields", {}))
        session = self._session(IntegrationSession, course, therapist, at, **fields)
        if not spec.get("draft"):
            signed_at = self._sign(session, therapist, n, at + dt.timedelta(minutes=50),
                                   next_day=rng.random() < 0.25, cosign=supervised)
            if "addendum" in spec:
                self.addenda.append((session, therapist, signed_at, *spec["addendum"]))
        return experiment


SUPPORT_EXTRA = (
    "Sees two close friends most weeks.",
    "Sings in a community choir (attendance has dropped lately).",
    "In touch with a brother abroad by video every Sunday.",
    "A neighbour checks in; walks a dog twice a day.",
    "Colleagues know about the leave; one is a close friend.",
)
ESCORT_FRIENDS = ("Noor Halvorsen (friend)", "Benedikt Arroway (friend)", "Priya Castellane (neighbour)",
                  "Tove Marchbank (friend)")


def seed_courses(rng: random.Random, staff: dict[str, User], clients: list[Client]) -> None:
    """Add the demo treatment courses (see :data:`COURSES`) for the given clients.

    Three flushes whatever the number of sessions: every row unsigned first (doses and vital signs
    included: nothing is added to a signed session), then the safety alerts and overrides with the
    signatures and co-signatures, then the addenda, which only follow signing.
    """
    clock = _Clock(utcnow(), _clinic_zone())
    builder = _Builder(rng, clock, staff)
    statuses: dict[int, ClientStatus] = {}
    for spec in COURSES:
        if spec["client"] >= len(clients):
            continue
        client = clients[spec["client"]]
        builder.course(client, spec)
        end = spec.get("end")
        if end is None:
            statuses[spec["client"]] = ClientStatus.ACTIVE
        elif end["reason"] is EndReason.COMPLETED:
            statuses[spec["client"]] = ClientStatus.DISCHARGED
        else:
            statuses[spec["client"]] = spec.get("status", ClientStatus.DISCHARGED)
    for index, status in statuses.items():
        clients[index].status = status
    db.session.add_all(builder.objects)
    db.session.flush()

    # The readings now have ids: the alerts they raised (some acknowledged) and the overrides. Added
    # before the signatures, in the same flush (only new readings are refused on a signed session).
    from .vitals.service import thresholds_at

    db.session.add_all(builder.safety_records(thresholds_at(clock.now)))

    supervisor = staff["supervisor"]
    for session, signer, signed_at, cosigned_at in builder.signatures:
        session.signed_at, session.signed_by_id = signed_at, signer.id
        session.updated_at = signed_at
        if cosigned_at is not None and signed_at < cosigned_at < clock.now:
            session.cosigned_at, session.cosigned_by_id = cosigned_at, supervisor.id
            session.updated_at = cosigned_at
    db.session.flush()

    for session, author, signed_at, reason, text in builder.addenda:  # the next working day
        day = signed_at.astimezone(clock.zone).date() + dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        local = dt.datetime.combine(day, dt.time(rng.randint(9, 15), rng.randint(0, 59)), tzinfo=clock.zone)
        created = clock.past(local.astimezone(dt.UTC))
        db.session.add(Addendum(session=session, author_id=author.id, created_at=created, reason=reason, text=text))

    seed_outcomes(random.Random(9), staff)


# --- outcome measures and supervision ---------------------------------------------------------

# How each course's scores move, by position in the demo: most respond, some remit, a few do not.
# (start fraction of the scale's maximum, fraction kept per medicine session)
TRAJECTORIES = ((0.72, 0.78), (0.66, 0.70), (0.80, 0.93), (0.60, 0.62), (0.70, 0.85),
                (0.75, 0.97), (0.64, 0.74), (0.58, 0.68))


def _answers(rng: random.Random, scale, total: int, *, item9: int = 0) -> list[int]:
    """Item answers that add up to ``total`` (item 9 of PHQ-9 fixed to ``item9``)."""
    spec = scale.spec
    answers = [0] * len(spec.items)
    flag = (spec.flag_item - 1) if spec.flag_item else None
    if flag is not None:
        answers[flag] = item9
    open_items = [i for i in range(len(answers)) if i != flag]
    remaining = max(0, min(total - sum(answers), spec.item_max * len(open_items)))
    while remaining:
        i = rng.choice(open_items)
        if answers[i] < spec.item_max:
            answers[i] += 1
            remaining -= 1
    return answers


def _stated_scores(text: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Scores the notes already state: ({scale label: baseline}, {scale label: final}, item 9)."""
    import re

    baseline, final = {}, {}
    for label in ("PHQ-9", "GAD-7", "PCL-5"):
        for m in re.finditer(rf"{label} (\d+)(?: to (\d+)| at screening, (\d+))?", text):
            baseline.setdefault(label, int(m.group(1)))
            if m.group(2) or m.group(3):
                final[label] = int(m.group(2) or m.group(3))
    item9 = re.search(r"item 9 = (\d)", text)
    return baseline, final, int(item9.group(1)) if item9 else 0


def seed_outcomes(rng: random.Random, staff: dict[str, User]) -> None:
    """Scale histories for every course, agreeing with the numbers its notes state (the screening's
    baseline scores, "PHQ-9 15 to 7" in an end note): a baseline at screening, a score before each
    medicine session, a follow-up after completed courses. The item 9 a screening records is
    flagged and acknowledged; one new item-9 answer on a running course is still open; the newest
    pre-session PHQ-9 of one running course is not typed in yet (shown as due). Then review
    comments on the newest therapist's courses: one answered, one awaiting the answer."""
    from sqlalchemy import select

    from .models import ClinicalSession, OutcomeScore, ReviewComment, SessionKind
    from .rules import scales
    from .rules.scales import Occasion, Scale

    zone = _clinic_zone()
    courses = db.session.scalars(select(Course).order_by(Course.id)).all()
    sessions = db.session.execute(
        select(ClinicalSession.course_id, ClinicalSession.kind, ClinicalSession.occurred_at, ClinicalSession.note)
        .order_by(ClinicalSession.occurred_at)
    ).all()
    diagnoses = dict(db.session.execute(select(Screening.course_id, Screening.psychiatric_diagnoses)).all())
    by_course: dict[int, list] = {}
    for row in sessions:
        by_course.setdefault(row.course_id, []).append(row)
    today = clinic_clock.today(zone)
    scores = []
    flagged_open = skipped_due = False
    for k, course in enumerate(courses):
        rows = by_course.get(course.id, [])
        screening = next((r for r in rows if r.kind == SessionKind.SCREENING), None)
        if screening is None:
            continue
        therapist_id = course.client.therapist_id
        stated, finals, stated_item9 = _stated_scores(f"{diagnoses.get(course.id) or ''} {screening.note or ''}")
        _, later, _ = _stated_scores(" ".join([course.end_note or ""] + [r.note or "" for r in rows]))
        finals = {**later, **finals}
        medicine = [r.occurred_at.astimezone(zone).date() for r in rows if r.kind == SessionKind.DOSING]
        start, keep = TRAJECTORIES[k % len(TRAJECTORIES)]
        indications = [i.value for i in course.client.indications]
        for scale in scales.expected_scales(indications):
            maximum = scale.spec.maximum
            first = stated.get(scale.label, round(start * maximum * (0.9 + 0.2 * rng.random())))
            points = [(Occasion.BASELINE, None, screening.occurred_at.astimezone(zone).date())]
            for n, day in enumerate(medicine, start=1):
                if scale is Scale.PHQ9 and course.is_open and n == len(medicine) and n > 1 and not skipped_due:
                    skipped_due = True  # the newest one not typed in yet: shown as due
                    continue
                points.append((Occasion.PRE_SESSION, n, day - dt.timedelta(days=rng.choice((0, 0, 1)))))
            if course.end_reason is EndReason.COMPLETED and course.ended_on:
                points.append((Occasion.FOLLOW_UP, None, min(today, course.ended_on + dt.timedelta(days=14))))
            last = len(points) - 1
            for index, (occasion, number, day) in enumerate(points):
                if index == 0:
                    total = first
                elif scale.label in finals:  # from the baseline to the stated result
                    goal = finals[scale.label]
                    total = round(first + (goal - first) * index / last) + (0 if index == last else rng.choice((-1, 0, 1)))
                else:
                    total = round(first * keep ** index + rng.uniform(-1.5, 1.5))
                total = max(0, min(maximum, total))
                item9 = 0
                acknowledged = False
                if scale is Scale.PHQ9 and index == 0 and stated_item9:
                    item9, acknowledged = stated_item9, True
                elif (scale is Scale.PHQ9 and not flagged_open and course.is_open and index == last
                      and index > 0 and total >= 8 and not stated_item9):
                    item9, flagged_open = 1, True
                answers = _answers(rng, scale, total, item9=item9)
                total = sum(answers)
                recorded = dt.datetime.combine(day, dt.time(12, rng.randint(0, 59)), tzinfo=zone).astimezone(dt.UTC)
                score = OutcomeScore(
                    course_id=course.id, scale=scale, occasion=occasion, session_number=number,
                    completed_on=day, answers=answers, total=total,
                    band=scales.band(scale, total).label, self_harm_flag=scales.self_harm_flag(scale, answers),
                    recorded_by_id=therapist_id, recorded_at=min(recorded, utcnow()),
                )
                if acknowledged:
                    score.flag_acknowledged_at = min(recorded + dt.timedelta(minutes=20), utcnow())
                    score.flag_acknowledged_by_id = therapist_id
                    score.flag_action = ("Risk assessed at screening: passive thoughts, no plan or intent. "
                                         "Safety plan written with the client; supervisor informed.")
                scores.append(score)
    db.session.add_all(scores)

    # Emergency access yesterday evening: medical staff opened a discharged client's record.
    from .models import BreakGlassGrant

    discharged = next((c for c in courses if c.client.status == ClientStatus.DISCHARGED), None)
    if discharged is not None:
        evening = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(19, 40), tzinfo=zone).astimezone(dt.UTC)
        db.session.add(BreakGlassGrant(
            user_id=staff["medical2"].id, client_id=discharged.client_id, granted_at=evening,
            expires_at=evening + dt.timedelta(hours=1),
            reason="The client phoned after hours in distress; their therapist was unreachable. "
                   "Needed the safety plan and the emergency contact's number."))

    supervisor = staff["supervisor"]
    supervised = [c for c in courses if c.client.therapist_id == staff["therapist3"].id and by_course.get(c.id)]
    if supervised:
        first = supervised[0]
        last_at = by_course[first.id][-1].occurred_at
        question = ReviewComment(
            course_id=first.id, author_id=supervisor.id, created_at=last_at + dt.timedelta(hours=20),
            body="The preparation notes describe the client's fear of losing control. How did you "
                 "agree to handle that during the medicine session?")
        db.session.add(question)
        db.session.flush()
        db.session.add(ReviewComment(
            course_id=first.id, author_id=staff["therapist3"].id, reply_to_id=question.id,
            created_at=min(utcnow(), last_at + dt.timedelta(hours=26)),
            body="We agreed a hand signal and that I would name the time every 15 minutes. It helped; "
                 "see the integration note."))
    if len(supervised) > 1:
        second = supervised[-1]
        db.session.add(ReviewComment(
            course_id=second.id, author_id=supervisor.id,
            created_at=min(utcnow(), by_course[second.id][-1].occurred_at + dt.timedelta(hours=30)),
            body="PHQ-9 has barely moved after the medicine sessions. Please bring this course to "
                 "supervision this week and consider whether the plan needs to change."))
