"""Tables of cases for the pure rules in kaptracker/rules (no app, no database)."""

import datetime as dt

import pytest

from kaptracker.rules import clients as client_rules
from kaptracker.rules import settings as registry
from kaptracker.rules.access import (
    POLICY,
    ClientScope,
    Permission,
    Role,
    audits_every_site,
    client_scope,
    may,
    may_see_client,
)
from kaptracker.rules.passwords import password_problems

T, M, S, A = Role.THERAPIST, Role.MEDICAL, Role.SUPERVISOR, Role.ADMIN

# The default policy of DESIGN.md, written out independently of rules/access.py.
EXPECTED = {
    Permission.VIEW_CLIENTS: {T, M, S},
    Permission.CREATE_CLIENT: {T, S},
    Permission.EDIT_CLIENT: {T, S},
    Permission.REASSIGN_CLIENT: {S},
    Permission.VIEW_COURSES: {T, M, S},
    Permission.MANAGE_COURSE: {T, S},
    Permission.DRAFT_SCREENING: {T, M},
    Permission.DECIDE_SCREENING: {M},
    Permission.WRITE_THERAPY_SESSION: {T},
    Permission.WRITE_DOSING: {M},
    Permission.COSIGN: {S},
    Permission.ADD_ADDENDUM: {T, M, S},
    Permission.RECORD_VITALS: {M},
    Permission.ACKNOWLEDGE_ALERT: {M, S},
    Permission.OVERRIDE_SAFETY: {M},
    Permission.VIEW_DASHBOARD: {T, S},
    Permission.ENTER_SCORES: {T, M},
    Permission.ACKNOWLEDGE_SCORE_FLAG: {T, M, S},
    Permission.COMMENT_REVIEW: {S},
    Permission.REPLY_REVIEW: {T, S},
    Permission.REVIEW_OVERRIDE: {S},
    Permission.VIEW_OUTCOMES: {S},
    Permission.BREAK_GLASS: {T, M, S},  # a supervisor: a client of a site they do not supervise
    Permission.EXPORT_RECORDS: {T, S},
    Permission.EXPORT_VITALS: {T, M, S},
    Permission.VIEW_AUDIT: {S, A},
    Permission.VIEW_DISCLOSURES: {T, S},
    Permission.MANAGE_USERS: {A},
    Permission.MANAGE_SETTINGS: {A},
    Permission.MANAGE_SITES: {A},
}


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_policy_table(role, permission):
    assert may(role, permission) is (role in EXPECTED[permission])


def test_every_permission_is_in_the_policy():
    assert set(POLICY) == set(Permission) == set(EXPECTED)


@pytest.mark.parametrize("role", [None, "", "root", "ADMIN", "therapist "])
def test_unknown_roles_are_denied_everything(role):
    assert not any(may(role, p) for p in Permission)
    assert client_scope(role) is ClientScope.NONE


@pytest.mark.parametrize(
    "role, therapist_id, in_treatment, visible",
    [
        (T, 7, True, True),  # own client
        (T, 8, True, False),  # another therapist's client
        (T, None, True, False),
        (M, 8, True, True),  # medical: anyone awaiting screening or in treatment
        (M, 8, False, False),
        (M, 8, (False, True), True),  # discharged, but they wrote sessions of this client
        (S, 8, False, True),
        (A, 7, True, False),  # admins open no clinical record
    ],
)
def test_may_see_client(role, therapist_id, in_treatment, visible):
    in_treatment, authored = in_treatment if isinstance(in_treatment, tuple) else (in_treatment, False)
    assert may_see_client(role, user_id=7, therapist_id=therapist_id, in_treatment=in_treatment,
                          authored_sessions=authored) is visible


@pytest.mark.parametrize(
    "role, therapist_id, authored, network_lead, visible",
    [
        (T, 7, False, False, True),  # a therapist's own client, seen at another site
        (T, 8, False, False, False),
        (M, 8, False, False, False),  # medical staff: only clients of their sites...
        (M, 8, True, False, True),  # ...or whose sessions they wrote
        (S, 8, False, False, False),  # a supervisor: the sites they supervise
        (S, 8, False, True, True),  # a network lead: every site
        (M, 8, False, True, False),  # the flag means nothing for other roles
        (A, 7, False, True, False),
    ],
)
def test_may_see_client_at_another_site(role, therapist_id, authored, network_lead, visible):
    """The site dimension: the client's home and sessions are at none of the user's sites."""
    assert may_see_client(role, user_id=7, therapist_id=therapist_id, in_treatment=True,
                          authored_sessions=authored, at_users_site=False, network_lead=network_lead) is visible


@pytest.mark.parametrize(
    "role, network_lead, whole_trail",
    [
        (A, False, True),  # administrators work at no site: the whole trail, without client names
        (S, True, True),  # a network lead
        (S, False, False),  # a site's supervisor: their sites' trail
        (T, False, False),  # no audit search at all, though a caseload crosses sites
        (M, True, False),
    ],
)
def test_audits_every_site(role, network_lead, whole_trail):
    assert audits_every_site(role, network_lead=network_lead) is whole_trail


@pytest.mark.parametrize(
    "password, ok",
    [
        ("short", False),
        ("elevenchars", False),
        ("twelve chars", True),
        ("correct horse battery staple", True),
        ("            ", False),  # only spaces
        ("password1234", False),  # common
        ("PASSWORD1234", False),  # common, any case
        ("aaaaaaaaaaaaaaaa", False),  # too few distinct characters
        ("x" * 257, False),
        (("abcdefghij" * 26)[:256], True),  # 256: the longest allowed
        ("naïve café ünïcödé", True),
    ],
)
def test_password_policy(password, ok):
    assert (password_problems(password) == []) is ok


def test_password_may_not_contain_the_email_local_part():
    assert password_problems("robin.ashby-2026!", email="robin.ashby@clinic.org")
    assert not password_problems("tangerine-orbit-44", email="robin.ashby@clinic.org")


TODAY = dt.date(2026, 11, 21)


@pytest.mark.parametrize(
    "born, today, age",
    [
        (dt.date(2000, 11, 21), TODAY, 26),
        (dt.date(2000, 11, 22), TODAY, 25),
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), 17),  # leap-day birthday not yet reached
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), 18),
        (dt.date(2008, 2, 29), dt.date(2028, 2, 29), 20),
    ],
)
def test_age_on(born, today, age):
    assert client_rules.age_on(born, today) == age


@pytest.mark.parametrize(
    "born, minimum, problem",
    [
        (dt.date(2026, 11, 22), 18, "future"),
        (dt.date(1899, 12, 31), 18, "after 1900"),
        (dt.date(2008, 11, 22), 18, "at least 18"),  # 17, one day short
        (dt.date(2008, 11, 21), 18, None),  # 18 today
        (dt.date(2010, 1, 1), 16, None),  # clinic setting lowered
        (dt.date(1900, 1, 1), 18, None),
        (TODAY, 0, None),
    ],
)
def test_date_of_birth_problem(born, minimum, problem):
    result = client_rules.date_of_birth_problem(born, TODAY, minimum)
    if problem is None:
        assert result is None
    else:
        assert problem in result


@pytest.mark.parametrize(
    "phone, ok",
    [
        ("+1 555 010 0199", True),
        ("(020) 7946-0018", True),
        ("0612345678", True),
        ("12345", False),  # too few digits
        ("+1 555 010 0199 1234567", False),  # too many
        ("call me", False),
        ("555-0100 ext 2", False),
        ("+44 20 7946 0958", True),
    ],
)
def test_phone_problem(phone, ok):
    assert (client_rules.phone_problem(phone) is None) is ok


@pytest.mark.parametrize(
    "number, ok",
    [("KAP-1001", True), ("2026/17", True), ("a", True), ("-1", False), ("KAP 1", False),
     ("x" * 33, False), ("<script>", False), ("KAP-1001\x00", False)],
)
def test_record_number_problem(number, ok):
    assert (client_rules.record_number_problem(number) is None) is ok


@pytest.mark.parametrize(
    "key, raw, expected",
    [
        ("auth.idle_timeout_minutes", "15", 15),
        ("auth.idle_timeout_minutes", " 30 ", 30),
        ("auth.idle_timeout_minutes", "1", ValueError),  # below the minimum of 2
        ("auth.idle_timeout_minutes", "241", ValueError),
        ("auth.idle_timeout_minutes", "ten", ValueError),
        ("auth.idle_timeout_minutes", "", ValueError),
        ("auth.idle_timeout_minutes", "1e3", ValueError),
        ("clinic.timezone", "Europe/London", "Europe/London"),
        ("clinic.timezone", "Mars/Olympus", ValueError),
        ("clinic.timezone", "../../etc/passwd", ValueError),
        ("clinic.timezone", "/etc/localtime", ValueError),
        ("clinic.name", "Harbour KAP Clinic", "Harbour KAP Clinic"),
        ("clinic.name", "x" * 201, ValueError),
        ("clients.minimum_age_years", "21", 21),
    ],
)
def test_setting_parse(key, raw, expected):
    spec = registry.SPECS_BY_KEY[key]
    if expected is ValueError:
        with pytest.raises(ValueError):
            spec.parse(raw)
    else:
        assert spec.parse(raw) == expected


def test_every_setting_default_parses_and_is_in_range():
    for spec in registry.SPECS:
        assert spec.parse(str(spec.default)) == spec.default


def test_a_stored_value_that_no_longer_parses_falls_back_to_the_default():
    assert registry.decode("auth.idle_timeout_minutes", "garbage") == 15
