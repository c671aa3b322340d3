"""Every main page of every role on the browser tests' demo clinic, for checks that must see them all.

``MAIN_PAGES`` maps a role's demo account (``therapist``, ``medical``, ``supervisor``, ``admin``) to
the URL templates of the pages that role opens in a day's work. The pages without parameters are
derived from the app itself: every GET route with no URL parameter whose declared access
(:mod:`kaptracker.access`) the role holds under :mod:`kaptracker.rules.access`, less downloads
and redirects. A new page of that kind is checked without anyone remembering to list it. The pages
of one record (a course, a medicine session and its vitals, a signed note, a score form...) are
listed by hand in ``RECORD_PAGES``; their ``{placeholders}`` are the keys of
:func:`find_record_ids`, which ``conftest.live_server`` adds to ``live_server.ids``::

    for url in MAIN_PAGES["medical"]:
        page.goto(url.format(**live_server.ids))
"""

from __future__ import annotations

import sqlalchemy as sa

from kaptracker.rules.access import Role, may

# The demo account that signs in for each role.
ACCOUNTS = {"therapist": Role.THERAPIST, "medical": Role.MEDICAL,
            "supervisor": Role.SUPERVISOR, "admin": Role.ADMIN}

# Parameterless GET routes that are not pages a person reads: probes, a redirect. (An export
# without its purpose is the page that asks for it: checked like any other.)
NOT_PAGES = {"main.index", "main.healthz"}

# Pages anyone may open, signed in or not.
PUBLIC_PAGES = ["/login"]

RECORD_PAGES: dict[str, list[str]] = {
    "therapist": [
        "/clients/{own_client}", "/clients/{own_client}/edit", "/clients/{own_client}/courses/new",
        "/clients/{course_client}", "/courses/{course}", "/courses/{course}/summary",
        "/courses/{course}/end", "/courses/{course}/sessions/new/preparation",
        "/courses/{course}/sessions/new/integration", "/courses/{course}/scores/new/phq9",
        "/courses/{course}/scores/new/gad7", "/courses/{course}/scores/new/pcl5",
        "/courses/{preparing_course}", "/sessions/{draft_screening}/edit",
        "/sessions/{signed_note}", "/sessions/{draft_note}", "/sessions/{draft_note}/edit",
        "/sessions/{draft_note}/sign", "/sessions/{medicine_session}",
        "/sessions/{medicine_session}/vitals",
        "/clients/{course_client}/disclosures", "/clients/{course_client}/fhir",
        "/courses/{course}/vitals.csv", "/courses/{course}/summary.pdf",
    ],
    "medical": [
        "/clients/{course_client}", "/courses/{course}", "/courses/{course}/summary",
        "/courses/{course}/sessions/new/dosing", "/courses/{course}/scores/new/phq9",
        "/sessions/{medicine_session}", "/sessions/{medicine_session}/vitals",
        "/sessions/{medicine_session}/edit", "/sessions/{signed_medicine_session}",
        "/sessions/{signed_medicine_session}/vitals", "/sessions/{screening}",
        "/sessions/{draft_screening}/sign",
    ],
    "supervisor": [
        "/clients/{course_client}", "/clients/{course_client}/edit", "/courses/{course}",
        "/courses/{course}/summary", "/courses/{course}/end", "/overrides/{override}",
        "/sessions/{signed_note}", "/sessions/{signed_medicine_session}/vitals",
        "/clients/{course_client}/disclosures",
    ],
    "admin": ["/admin/users/{staff_user}", "/admin/sites/{site}"],
}


def pages_without_parameters(app, role: Role | str) -> list[str]:
    """The GET routes with no URL parameter that ``role`` may open, in URL order."""
    from kaptracker.access import ACCESS_ATTR

    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in NOT_PAGES:
            continue
        access = getattr(app.view_functions[rule.endpoint], ACCESS_ATTR, None)
        if access == "signed_in" or (access not in (None, "public") and may(role, access)):
            found.append(rule.rule)
    return sorted(found)


def _url_map_app():
    """An app made only to read its URL map (no database is opened)."""
    from kaptracker import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "url-map-only",
                       "SQLALCHEMY_DATABASE_URI": "sqlite://", "DATABASE_URL": "sqlite://"})


def _main_pages() -> dict[str, list[str]]:
    app = _url_map_app()
    return {account: pages_without_parameters(app, role) + RECORD_PAGES[account]
            for account, role in ACCOUNTS.items()}


MAIN_PAGES: dict[str, list[str]] = _main_pages()


def find_record_ids(db, email) -> dict[str, int]:
    """The records behind ``RECORD_PAGES``, found in the seeded demo clinic (in an app context).

    ``email(local)`` gives a demo account's address. The course is the therapist's open course
    with the most sessions that has a medicine session not yet signed (its vitals page shows the
    reading forms); the draft note is the therapist's latest unsigned note on any open course.
    """
    from kaptracker.models import Client, Course, SafetyOverride, SessionKind, User

    therapist = db.session.scalar(sa.select(User).where(User.email == email("therapist")))
    courses = db.session.scalars(
        sa.select(Course)
        .where(Course.client.has(therapist_id=therapist.id), Course.end_reason.is_(None))
        .order_by(Course.id)
    ).all()

    def sessions(course, kind=None, *, signed=None, author=None):
        return [s for s in sorted(course.sessions, key=lambda s: (s.occurred_at, s.id))
                if (kind is None or s.kind is kind) and (signed is None or s.is_signed == signed)
                and (author is None or s.author_id == author.id)]

    therapist_site = db.session.scalar(sa.select(Client.home_site_id).where(Client.therapist_id == therapist.id)
                                       .order_by(Client.id).limit(1))
    course = max((c for c in courses if sessions(c, SessionKind.DOSING, signed=False)),
                 key=lambda c: len(c.sessions))
    preparing = next(c for c in courses if sessions(c, SessionKind.SCREENING, signed=False))
    drafts = [s for c in courses for s in sessions(c, signed=False, author=therapist)
              if s.kind in (SessionKind.PREPARATION, SessionKind.INTEGRATION)]
    ids = {
        "course": course.id,
        "course_client": course.client_id,
        "medicine_session": sessions(course, SessionKind.DOSING, signed=False)[-1].id,
        "signed_medicine_session": sessions(course, SessionKind.DOSING, signed=True)[-1].id,
        "screening": sessions(course, SessionKind.SCREENING)[0].id,
        "signed_note": sessions(course, SessionKind.PREPARATION, signed=True)[-1].id,
        "draft_note": max(drafts, key=lambda s: (s.occurred_at, s.id)).id,
        "preparing_course": preparing.id,
        "draft_screening": sessions(preparing, SessionKind.SCREENING, signed=False)[0].id,
        "override": db.session.scalar(sa.select(sa.func.min(SafetyOverride.id))),
        "staff_user": therapist.id,
        "site": therapist_site,
    }
    return ids
