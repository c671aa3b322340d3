"""Site rules: the site code, the DEA registration number, the crisis line. Pure functions."""

from __future__ import annotations

import re

from .clients import dialable_problem
from .settings import is_timezone

CODE = re.compile(r"^[A-Z0-9]{2,8}$")
DEA = re.compile(r"^[A-Z]{2}[0-9]{7}$")
# The first letter of a DEA registration names the registrant type (DEA Diversion Control Division):
# A/B/F/G practitioners, M mid-level practitioners, P-U distributors and manufacturers, X
# suboxone/subutex prescribing practitioners, and so on. I, N, O, Q, V, W, Y, Z are not used.
DEA_REGISTRANT_TYPES = frozenset("ABCDEFGHJKLMPRSTUX")
DEFAULT_CRISIS_LINE = "988"  # the US Suicide & Crisis Lifeline (CLINICAL.md)


def code_problem(code: str) -> str | None:
    if not CODE.match(code):
        return "Use 2 to 8 capital letters or digits, for example NYC."
    return None


def dea_checksum_ok(number: str) -> bool:
    """The DEA check: (d1 + d3 + d5) + 2 * (d2 + d4 + d6) ends in d7. ``number`` is 2 letters + 7 digits."""
    d = [int(ch) for ch in number[2:]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def dea_problem(number: str) -> str | None:
    """Why ``number`` (already upper-cased) is not a DEA registration number, or None."""
    if not DEA.match(number):
        return "A DEA registration number is 2 letters and 7 digits, for example AB1234563."
    if number[0] not in DEA_REGISTRANT_TYPES:
        return (f"A DEA registration number cannot start with {number[0]}: the first letter is the "
                "registrant type (A, B, F, G for practitioners, M for mid-level practitioners...).")
    if not dea_checksum_ok(number):
        return "This DEA registration number's check digit (the last one) is wrong: check it was typed as issued."
    return None


def time_zone_problem(name: str) -> str | None:
    if not is_timezone(name):
        return "Enter an IANA time zone such as America/New_York or America/Denver."
    return None


def crisis_line_problem(number: str) -> str | None:
    return dialable_problem(number, example="988", digits=range(3, 16),
                            wrong_count="A crisis line has 3 to 15 digits (988 in the US).")


def deactivation_problem(*, open_clients: int, other_active_sites: int) -> str | None:
    """Why a site cannot be deactivated: clients not yet discharged call it home, or it is the
    last active site (a new client needs a home site)."""
    if open_clients:
        many = open_clients != 1
        return (f"{open_clients} client{'s' if many else ''} not yet discharged (referred, in treatment or "
                f"on hold) {'have' if many else 'has'} this home site: move them "
                "to another site first, or keep the site active.")
    if not other_active_sites:
        return "This is the only active site: every new client needs a home site. Keep it active."
    return None


NO_SITE = "Choose at least one site this person works at."
ADMIN_AT_NO_SITE = "Administrators work at no site: they open no clinical record."
LEAD_IS_A_SUPERVISOR = "Only a supervisor can be the network medical lead."


def staff_site_problems(role: str, *, sites: int, network_lead: bool) -> dict[str, str]:
    """Problems, by field, of where a member of staff works: everyone but an administrator works
    at a site at least (a network lead supervises every site, so needs none chosen); the network
    lead is a supervisor; an administrator works at none."""
    problems = {}
    if role == "admin" and sites:
        problems["sites"] = ADMIN_AT_NO_SITE
    if network_lead and role != "supervisor":
        problems["network_lead"] = LEAD_IS_A_SUPERVISOR
    if role != "admin" and not sites and not (network_lead and role == "supervisor"):
        problems["sites"] = NO_SITE
    return problems
