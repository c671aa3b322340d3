"""An invented demo clinic. Every name, date and number here is made up."""

from __future__ import annotations

import datetime as dt
import random

from .extensions import db
from .models import Client, ClientStatus, Indication, User, utcnow
from .rules.access import Role

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
STATUSES = (
    ClientStatus.REFERRED, ClientStatus.ACTIVE, ClientStatus.ACTIVE, ClientStatus.ACTIVE,
    ClientStatus.ON_HOLD, ClientStatus.DISCHARGED,
)
INDICATION_SETS = (
    [Indication.DEPRESSION], [Indication.PTSD], [Indication.DEPRESSION, Indication.ANXIETY],
    [Indication.BURNOUT], [Indication.GRIEF], [Indication.EXISTENTIAL],
    [Indication.PTSD, Indication.DEPRESSION], [Indication.ANXIETY],
)
CLIENT_COUNT = 30


def seed(password: str, *, clients: int = CLIENT_COUNT) -> list[tuple[str, str]]:
    """Create the demo staff and clients; returns (email, role) of each account."""
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
            status=STATUSES[i % len(STATUSES)],
            created_at=utcnow() - dt.timedelta(days=rng.randint(3, 200)),
        )
        client.indications = indications
        db.session.add(client)
    db.session.commit()
    return [(u.email, u.role.value) for u in staff]
