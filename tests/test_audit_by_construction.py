"""Every response that shows a client's data is audited (issue 17): a crawl of every route of the
access table (tests/test_access.py), as every role, with every method the route accepts — a POST
with an empty, invalid form for every route that takes one. Whenever a response's body names a
client (family name or record number), an audit event for that client, written by that request,
must exist. A route added to the app and not to the access table fails here too.

The figures of the crawl (requests, responses that named a client, events found) are written to
test-artifacts/audit-crawl/ (one file per route)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, Client

from test_access import ROLES, ROUTES, M, S, T, world  # noqa: F401  (world: the fixture)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "audit-crawl"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# The requests of issue 17's table that the plain crawl does not make as such: a request with a
# query, a dose preview. (endpoint, role, method, url template, form data)
ISSUE_ROWS = [
    ("audit.index", S, "GET", "/audit/?client={own}", {}),
    ("courses.add_administration", M, "POST", "/sessions/{dosing}/administrations",
     {"calculate": "y", "weight_kg": "70", "dose_mg_per_kg": "0.5"}),
    ("courses.add_addendum", T, "POST", "/sessions/{session}/addenda", {"reason": "", "text": ""}),
    ("outcomes.acknowledge", T, "POST", "/scores/{score}/acknowledge", {"action": ""}),
    ("outcomes.mark_in_error", T, "POST", "/scores/{score}/error", {"reason": ""}),
    ("supervision.add_comment", S, "POST", "/courses/{course}/reviews", {"body": ""}),
    ("vitals.record_vitals", M, "POST", "/sessions/{dosing}/vitals", {"systolic": "abc"}),
    ("vitals.add_override", M, "POST", "/sessions/{dosing}/overrides", {"reason": ""}),
]


def test_every_route_of_the_app_is_crawled(app: Flask):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints <= set(ROUTES), (
        f"routes the audit crawl does not know (add them to tests/test_access.py): {sorted(endpoints - set(ROUTES))}")


def _methods(app: Flask, endpoint: str) -> list[str]:
    methods = set()
    for rule in app.url_map.iter_rules(endpoint):
        methods |= rule.methods - IGNORED_METHODS
    return sorted(methods)


def _markers(clients: list[Client]) -> dict[int, re.Pattern]:
    """What names a client in a response: their family name or record number, as a whole word."""
    return {c.id: re.compile(rf"\b({re.escape(c.family_name)}|{re.escape(c.record_number)})\b") for c in clients}


def _last_event_id() -> int:
    return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def _check(app, world, login, endpoint, role, method, url, data, markers, figures):
    """One request; the failures it shows (empty when every named client was audited)."""
    http = app.test_client()
    user = None
    if role is not None:
        user = world["users"][role]
        login(user, http=http)
    before = _last_event_id()
    response = http.open(url, method=method, data=data)
    body = response.get_data().decode("utf-8", "replace")
    response.close()
    figures["requests"] += 1
    named = [cid for cid, pattern in markers.items() if pattern.search(body)]
    if not named:
        return []
    figures["named"] += 1
    db.session.rollback()  # see the request's committed rows
    events = db.session.execute(
        select(AuditEvent.client_id, AuditEvent.action, AuditEvent.route, AuditEvent.status)
        .where(AuditEvent.id > before, AuditEvent.client_id.in_(named))
    ).all()
    failures = []
    for cid in named:
        mine = [e for e in events if e.client_id == cid]
        if not mine:
            failures.append(f"{role} {method} {url} -> {response.status_code} names client {cid}: no audit event")
            continue
        figures["events"] += 1
        views = [e for e in mine if e.action is AuditAction.VIEW]
        for e in views:  # a view says where and how it ended
            if e.route != endpoint or e.status != response.status_code:
                failures.append(f"{role} {method} {url}: view event route/status {e.route}/{e.status}, "
                                f"expected {endpoint}/{response.status_code}")
        if len(views) > 1:
            failures.append(f"{role} {method} {url}: {len(views)} view events for client {cid}, not one")
    return failures


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_every_response_that_names_a_client_is_audited(endpoint, app, world, login):
    _, template, _ = ROUTES[endpoint]
    ids = {**world["own"], "target": world["target"]}
    url = template.format(**ids)
    clients = list(db.session.scalars(select(Client).where(
        Client.id.in_([world["own"]["own"], world["other"]["own"]]))))
    markers = _markers(clients)
    figures = {"endpoint": endpoint, "requests": 0, "named": 0, "events": 0, "methods": _methods(app, endpoint)}
    failures = []
    for role in ROLES:
        for method in figures["methods"]:
            # A POST is the deliberately invalid one: an empty form.
            failures += _check(app, world, login, endpoint, role, method, url, {}, markers, figures)
    for row_endpoint, role, method, row_template, data in ISSUE_ROWS:
        if row_endpoint == endpoint:
            failures += _check(app, world, login, endpoint, role, method, row_template.format(**ids), data,
                               markers, figures)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{endpoint}.json").write_text(json.dumps(figures))
    assert not failures, "\n".join(failures)


def test_the_crawl_sees_client_pages(app, world, login):
    """The check above must not pass by never finding a name: the client's page names them."""
    clients = list(db.session.scalars(select(Client).where(Client.id == world["own"]["own"])))
    figures = {"requests": 0, "named": 0, "events": 0}
    assert _check(app, world, login, "clients.show", T, "GET", f"/clients/{world['own']['own']}", {},
                  _markers(clients), figures) == []
    assert figures == {"requests": 1, "named": 1, "events": 1}


def test_a_refused_post_leaves_its_view_event_though_the_request_rolled_back(app, world, login):
    http = app.test_client()
    login(world["users"][M], http=http)
    before = _last_event_id()
    response = http.post(f"/sessions/{world['own']['dosing']}/vitals", data={"systolic": "abc"})
    assert 400 <= response.status_code < 500
    db.session.rollback()
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.id > before, AuditEvent.action == AuditAction.VIEW)).all()
    assert (event.client_id, event.route, event.status, event.outcome) == (
        world["own"]["own"], "vitals.record_vitals", response.status_code, f"refused ({response.status_code})")
    assert event.record_type == "vitals" and event.user_id == world["users"][M].id
