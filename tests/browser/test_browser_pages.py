"""Every page as a browser shows it: narrow screens, console errors, Content-Security-Policy."""

from __future__ import annotations

import pytest

NO_HORIZONTAL_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def test_client_pages_fit_a_768px_wide_screen(page, live_server, sign_in, shot):
    """At tablet width (768 px) the client list, a client page and the registration form need
    no horizontal scrolling, even for a supervisor (the widest list, with therapist filter and
    reassignment form)."""
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, "supervisor")
    client_id = live_server.ids["own_client"]
    for step, url in (
        ("1-client-list", "/clients/"),
        ("2-client-page", f"/clients/{client_id}"),
        ("3-register-form", "/clients/new"),
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        shot(page, step)
        assert page.evaluate(NO_HORIZONTAL_SCROLL), (url, page.evaluate(WIDTHS))
        if step == "1-client-list":
            # A tablet has room for the table: it stays a table (its header row shown), as on a
            # laptop; it used to be stacked into phone cards below 800 px. Its status badges
            # keep their own size.
            assert page.locator("table thead").is_visible()
            badge = page.locator("table tbody .badge").first.bounding_box()
            row = page.locator("table tbody tr").first.bounding_box()
            assert badge["width"] < row["width"] / 3, (badge, row)

    # The therapist's list too (their own caseload, no therapist filter).
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    sign_in(page, "therapist")
    page.goto("/clients/")
    shot(page, "4-therapist-list")
    assert page.evaluate(NO_HORIZONTAL_SCROLL), page.evaluate(WIDTHS)


PAGES_BY_ROLE = {
    "therapist": ["/clients/", "/clients/new", "/clients/{own_client}",
                  "/clients/{own_client}/edit", "/account"],
    "medical": ["/clients/", "/account"],
    "supervisor": ["/clients/", "/clients/{own_client}", "/clients/new", "/audit/", "/account"],
    "admin": ["/admin/users", "/admin/users/new", "/admin/settings", "/audit/", "/account"],
}


@pytest.mark.parametrize("account", list(PAGES_BY_ROLE))
def test_pages_log_no_console_errors_or_csp_violations(page, live_server, sign_in, watch, account):
    """Each role's pages load their CSS and script under the strict CSP without a console error,
    an uncaught script error or a CSP violation (the page fixture fails the test on any)."""
    page.goto("/login")
    sign_in(page, account)
    for url in PAGES_BY_ROLE[account]:
        url = url.format(**live_server.ids)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        # The stylesheet really applied (a CSP block of it would leave the default styles).
        header_colour = page.locator(".site-header").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert header_colour == "rgb(11, 85, 99)", url
    assert watch.unexpected() == []


def test_the_console_watch_catches_a_csp_violation(page, watch):
    """The watch behind the previous test is not blind: an inline script injected into a page is
    blocked by the CSP, and both the violation and the console error are caught."""
    page.goto("/login")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    page.wait_for_function("() => true")
    assert page.evaluate("() => window.__ran === undefined")  # the script did not run
    assert any("script-src" in v for v in watch.csp_violations), watch.csp_violations
    assert any("Content Security Policy" in e for e in watch.errors), watch.errors
    watch.allow("Content Security Policy|CSP violation")
