"""An invented demo clinic. Every name, date and number here is made up.

:func:`seed` creates two sites (New York and Denver, in their own time zones), eight staff
accounts (the Denver supervisor and one nurse work in Denver only; the other supervisor is the
network medical lead), 30 clients spread over the two sites and, for 20 of them, treatment courses with
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

from sqlalchemy import select

from .. import clock as clinic_clock
from ..extensions import db
from ..models import (
    Addendum,
    Administration,
    Client,
    ClientStatus,
    Course,
    DosingSession,
    History,
    InjectionSite,
    IntegrationSession,
    OverrideKind,
    PreparationSession,
    Pregnancy,
    SafetyAlert,
    SafetyOverride,
    Screening,
    Site,
    User,
    VitalSign,
    utcnow,
)
from ..rules import vitals as vital_rules
from ..rules.access import Role
from ..rules.dosing import Route, lozenge_mg, weight_based_mg
from ..rules.phases import EndReason
from ..rules.screening import Decision
from ..rules.vitals import Thresholds, Timepoint
from .demo_data import (
    NETWORK_LEADS,
    STAFF_SITES,
    ALL_DISCHARGE,
    COURSES,
    ESCORT_FRIENDS,
    EXPERIENCE,
    EXPERIMENTS,
    FAMILY,
    GIVEN,
    GROUP_BY_SET,
    INDICATION_SETS,
    INTEGRATIONS,
    LOSS_EXPERIMENTS,
    LOTS,
    MOODS,
    PREPARATIONS,
    READINESS,
    RELATIONSHIPS,
    REVIEWS,
    SIDE_EFFECT_NOTES,
    SIDE_EFFECT_POOL,
    SITE_WORDS,
    SITES,
    STAFF,
    SUPPORT,
    SUPPORT_EXTRA,
)

DOMAIN = "demo.example.org"

CLIENT_COUNT = 30
CLINIC_ZONE = "America/New_York"  # the settings default; the clinic's own setting wins


def seed(password: str, *, clients: int = CLIENT_COUNT) -> list[tuple[str, str]]:
    """Create the demo staff, clients and treatment courses; returns (email, role) of each account."""
    from ..auth.sessions import hash_password

    rng = random.Random(2026)  # the same clinic every time
    password_hash = hash_password(password)  # one hash: every demo account shares the password
    staff = []
    for local, name, role in STAFF:
        user = User(email=f"{local}@{DOMAIN}", name=name, role=role, password_hash=password_hash)
        db.session.add(user)
        staff.append(user)
    db.session.flush()
    therapists = [u for u in staff if u.role == Role.THERAPIST]
    sites = _sites()
    for (local, _, role), user in zip(STAFF, staff):
        codes = STAFF_SITES.get(local)
        user.sites = [] if role == Role.ADMIN else [s for s in sites if codes is None or s.code in codes]
        user.network_lead = local in NETWORK_LEADS
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
            home_site_id=sites[i % len(sites)].id,
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


def _sites() -> list[Site]:
    """The demo's sites: the database's first site (the default site every database has) becomes
    New York, and Denver is added."""
    first = db.session.scalar(select(Site).order_by(Site.id).limit(1)) or Site()
    sites = [first, *(Site() for _ in SITES[1:])]
    for site, values in zip(sites, SITES):
        for name, value in values.items():
            setattr(site, name, value)
        db.session.add(site)
    db.session.flush()
    return sites


# --- treatment courses ------------------------------------------------------------------------


def _clinic_zone() -> zoneinfo.ZoneInfo:
    from .. import settings

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
    from ..vitals.service import as_rule_readings, baseline, withdrawal_reason

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
        effects += "".join(text for effects_named, text in SIDE_EFFECT_NOTES
                           if any(name in side_effects for name in effects_named))
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
    from ..vitals.service import thresholds_at

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

    from ..models import ClinicalSession, OutcomeScore, ReviewComment, SessionKind
    from ..rules import scales
    from ..rules.scales import Occasion, Scale

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
    from ..models import BreakGlassGrant

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
