"""The demo clinic's invented people and what their notes say: data, not code.

Staff, client names, the note pools the builder (kaptracker/ops/demo.py) draws on by theme, and
one entry per treatment course (COURSES). Every person and every story here is invented.
"""

from __future__ import annotations

from ..models import ClientStatus, History, Indication, InjectionSite, OverrideKind
from ..rules.access import Role
from ..rules.dosing import Route
from ..rules.phases import EndReason
from ..rules.screening import Decision

# The demo network's two sites, in different time zones (invented addresses and numbers; 988 is
# the real US Suicide & Crisis Lifeline). Client i's home site is SITES[i % 2].
SITES = (
    {"code": "NYC", "name": "New York", "time_zone": "America/New_York",
     "address": "41 Invented Street, Floor 3\nNew York, NY 10013", "phone": "+1 212 555 0140",
     "dea_registration": "FK4829101", "crisis_line": "988"},
    {"code": "DEN", "name": "Denver", "time_zone": "America/Denver",
     "address": "1700 Imaginary Avenue, Suite 210\nDenver, CO 80202", "phone": "+1 303 555 0175",
     "dea_registration": "FM7304152", "crisis_line": "988"},
)

STAFF = (
    ("therapist", "Robin Ashby", Role.THERAPIST),
    ("therapist2", "Samira Okonjo", Role.THERAPIST),
    ("therapist3", "Lev Marchetti", Role.THERAPIST),
    ("medical", "Dr Ines Valdivia", Role.MEDICAL),
    ("medical2", "Tomasz Brennan, RN", Role.MEDICAL),
    ("supervisor", "Dr Maren Ellery", Role.SUPERVISOR),
    ("supervisor2", "Dr Ayodele Finch", Role.SUPERVISOR),
    ("admin", "Casey Lindqvist", Role.ADMIN),
)
# Who works where (site codes); everyone else but the administrator works at every site. The
# network medical lead supervises every site.
STAFF_SITES = {"medical2": ("DEN",), "supervisor2": ("DEN",)}
NETWORK_LEADS = ("supervisor",)

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
# What a medicine session's note says of its side effects, in this order, after nausea (which the
# builder writes, as it depends on vomiting): the side effects each sentence is for, the sentence.
SIDE_EFFECT_NOTES = (
    (("dizziness", "balance"), " Dizzy on first standing; walked steadily with support, then unaided."),
    (("elevated_bp",), " The high reading was repeated and observed; no treatment needed."),
    (("vision",), " Blurred vision at the peak, cleared by 60 min."),
    (("headache",), " Mild headache near the end; paracetamol 1 g by mouth."),
    (("numbness",), " Numb lips and fingertips at the peak, resolved."),
    (("drowsiness",), " Drowsy for about half an hour after the peak; roused easily."),
    (("dysphoria",), " Distressed and tearful in the second half (\"I hated not being in control\"); "
                     "reassurance and grounding; no lasting distress at discharge."),
)
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

SUPPORT_EXTRA = (
    "Sees two close friends most weeks.",
    "Sings in a community choir (attendance has dropped lately).",
    "In touch with a brother abroad by video every Sunday.",
    "A neighbour checks in; walks a dog twice a day.",
    "Colleagues know about the leave; one is a close friend.",
)
ESCORT_FRIENDS = ("Noor Halvorsen (friend)", "Benedikt Arroway (friend)", "Priya Castellane (neighbour)",
                  "Tove Marchbank (friend)")
