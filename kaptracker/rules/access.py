"""Who may do what: the clinic's default access policy, in one table.

Deny by default: a permission not listed for a role is refused, and every route must declare
the permission it needs (see :mod:`kaptracker.access`, which refuses undeclared routes).
"""

from __future__ import annotations

import enum

from .labels import LabelledEnum


class Role(LabelledEnum):
    THERAPIST = "therapist", "Therapist"
    MEDICAL = "medical", "Medical staff"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Administrator"


class Permission(enum.StrEnum):
    VIEW_CLIENTS = "view_clients"  # list and open client records (within the role's scope)
    CREATE_CLIENT = "create_client"
    EDIT_CLIENT = "edit_client"
    REASSIGN_CLIENT = "reassign_client"  # move a client to another therapist's caseload
    VIEW_COURSES = "view_courses"  # courses, sessions, notes (within the client scope)
    MANAGE_COURSE = "manage_course"  # start, complete or discontinue a course
    DRAFT_SCREENING = "draft_screening"
    DECIDE_SCREENING = "decide_screening"  # decide eligibility and sign the screening
    WRITE_THERAPY_SESSION = "write_therapy_session"  # preparation and integration sessions
    WRITE_DOSING = "write_dosing"  # medicine sessions: doses, setting, discharge
    COSIGN = "cosign"
    ADD_ADDENDUM = "add_addendum"
    RECORD_VITALS = "record_vitals"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    OVERRIDE_SAFETY = "override_safety"  # go ahead against a safety rule, with a reason
    VIEW_DASHBOARD = "view_dashboard"  # caseload dashboard and worklist (own caseload or all)
    ENTER_SCORES = "enter_scores"  # type in a client's PHQ-9 / GAD-7 / PCL-5 answers
    ACKNOWLEDGE_SCORE_FLAG = "acknowledge_score_flag"  # PHQ-9 item 9 above 0
    COMMENT_REVIEW = "comment_review"  # start a supervisor's review comment on a course
    REPLY_REVIEW = "reply_review"  # answer a review comment
    REVIEW_OVERRIDE = "review_override"  # mark a safety override as reviewed
    VIEW_OUTCOMES = "view_outcomes"  # response and remission across the caseload
    BREAK_GLASS = "break_glass"  # emergency access to a client outside one's scope (reason, 1 hour)
    EXPORT_RECORDS = "export_records"  # CSV exports and FHIR bundles (audited)
    EXPORT_VITALS = "export_vitals"  # a course's vitals as CSV (audited); medical staff too
    VIEW_AUDIT = "view_audit"
    VIEW_DISCLOSURES = "view_disclosures"  # a client's accounting of disclosures (within the client scope)
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_SITES = "manage_sites"  # the clinic's locations: create, edit, deactivate


T, M, S, A = Role.THERAPIST, Role.MEDICAL, Role.SUPERVISOR, Role.ADMIN

POLICY: dict[Permission, frozenset[Role]] = {
    Permission.VIEW_CLIENTS: frozenset({T, M, S}),
    Permission.CREATE_CLIENT: frozenset({T, S}),
    Permission.EDIT_CLIENT: frozenset({T, S}),
    Permission.REASSIGN_CLIENT: frozenset({S}),
    Permission.VIEW_COURSES: frozenset({T, M, S}),
    Permission.MANAGE_COURSE: frozenset({T, S}),
    Permission.DRAFT_SCREENING: frozenset({T, M}),
    Permission.DECIDE_SCREENING: frozenset({M}),
    Permission.WRITE_THERAPY_SESSION: frozenset({T}),
    Permission.WRITE_DOSING: frozenset({M}),
    Permission.COSIGN: frozenset({S}),
    Permission.ADD_ADDENDUM: frozenset({T, M, S}),
    Permission.RECORD_VITALS: frozenset({M}),
    Permission.ACKNOWLEDGE_ALERT: frozenset({M, S}),
    Permission.OVERRIDE_SAFETY: frozenset({M}),
    Permission.VIEW_DASHBOARD: frozenset({T, S}),
    Permission.ENTER_SCORES: frozenset({T, M}),
    Permission.ACKNOWLEDGE_SCORE_FLAG: frozenset({T, M, S}),
    Permission.COMMENT_REVIEW: frozenset({S}),
    Permission.REPLY_REVIEW: frozenset({T, S}),
    Permission.REVIEW_OVERRIDE: frozenset({S}),
    Permission.VIEW_OUTCOMES: frozenset({S}),
    Permission.BREAK_GLASS: frozenset({T, M, S}),  # supervisors: a client of a site they do not supervise
    Permission.EXPORT_RECORDS: frozenset({T, S}),
    Permission.EXPORT_VITALS: frozenset({T, M, S}),
    Permission.VIEW_AUDIT: frozenset({S, A}),
    # Admins open no clinical record; the client's therapist and supervisors answer the request.
    Permission.VIEW_DISCLOSURES: frozenset({T, S}),
    Permission.MANAGE_USERS: frozenset({A}),
    Permission.MANAGE_SETTINGS: frozenset({A}),
    Permission.MANAGE_SITES: frozenset({A}),
}


def may(role: Role | str | None, permission: Permission) -> bool:
    """True when ``role`` holds ``permission``; unknown roles and permissions are refused."""
    if role is None:
        return False
    try:
        role = Role(role)
    except ValueError:
        return False
    return role in POLICY.get(permission, frozenset())


class ClientScope(enum.Enum):
    """Which client records a role can see at all."""

    OWN_CASELOAD = "own caseload"  # clients assigned to the user
    IN_TREATMENT = "in treatment"  # clients who need screening or medicine sessions
    ALL = "all clients"
    NONE = "no clinical records"


CLIENT_SCOPE: dict[Role, ClientScope] = {
    T: ClientScope.OWN_CASELOAD,
    M: ClientScope.IN_TREATMENT,
    S: ClientScope.ALL,
    A: ClientScope.NONE,
}


def client_scope(role: Role | str | None) -> ClientScope:
    try:
        return CLIENT_SCOPE[Role(role)]
    except (ValueError, KeyError):
        return ClientScope.NONE


def reaches_every_site(role: Role | str | None, *, network_lead: bool = False) -> bool:
    """Whether a role's scope is cut to the user's sites. A therapist's caseload is theirs wherever
    the client is seen; medical staff and supervisors work at (supervise) their sites; a network
    lead is a supervisor of every site."""
    if role == Role.THERAPIST:
        return True
    return role == Role.SUPERVISOR and network_lead


def audits_every_site(role: Role | str | None, *, network_lead: bool = False) -> bool:
    """Whose audit search is not cut to their sites: administrators, who work at no site and look
    after every account and the clinic's settings (they read the whole trail, without a client's
    name or record number), and a network lead. A site's supervisor reads the trail of the site's
    clients and of its staff (see :func:`kaptracker.scope.audit_clause`)."""
    if not may(role, Permission.VIEW_AUDIT):
        return False
    return role == Role.ADMIN or reaches_every_site(role, network_lead=network_lead)


def may_see_client(
    role: Role | str | None,
    *,
    user_id: int,
    therapist_id: int | None,
    in_treatment: bool,
    authored_sessions: bool = False,
    at_users_site: bool = True,
    network_lead: bool = False,
) -> bool:
    """The record-level rule that :func:`kaptracker.scope.client_scope_clause` applies in SQL.
    ``at_users_site``: the client's home site, or a site of one of their sessions, is one of the
    user's sites. What a member of staff wrote stays theirs to read wherever it was."""
    scope = client_scope(role)
    if scope is ClientScope.OWN_CASELOAD:
        return therapist_id is not None and therapist_id == user_id
    on_site = at_users_site or reaches_every_site(role, network_lead=network_lead)
    if scope is ClientScope.ALL:
        return on_site
    if scope is ClientScope.IN_TREATMENT:
        return (in_treatment and on_site) or authored_sessions
    return False


# Which permission writes (creates and edits the draft of) each kind of session.
SESSION_WRITE_PERMISSION = {
    "screening": Permission.DRAFT_SCREENING,
    "preparation": Permission.WRITE_THERAPY_SESSION,
    "dosing": Permission.WRITE_DOSING,
    "integration": Permission.WRITE_THERAPY_SESSION,
}


def may_write_session(role: Role | str | None, kind: str) -> bool:
    permission = SESSION_WRITE_PERMISSION.get(kind)
    return permission is not None and may(role, permission)


def may_write(
    role: Role | str | None,
    *,
    user_id: int,
    therapist_id: int | None,
    kind: str | None = None,
    permission: Permission | None = None,
) -> bool:
    """The one ownership rule of clinical writes: a therapist writes only in their own caseload
    (other roles by their permissions); with ``kind``, the role also writes that kind of session,
    with ``permission``, the role also holds it."""
    if role == Role.THERAPIST and (therapist_id is None or therapist_id != user_id):
        return False
    if kind is not None and not may_write_session(role, kind):
        return False
    return permission is None or may(role, permission)


def may_sign_session(role: Role | str | None, kind: str, *, is_author: bool) -> bool:
    """The author signs their own note; a screening is signed by medical staff with the decision."""
    if kind == "screening":
        return may(role, Permission.DECIDE_SCREENING)
    return is_author and may_write_session(role, kind)
