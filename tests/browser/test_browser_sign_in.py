"""Signing in and out in a real browser: navigation per role, keyboard use, wrong passwords."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

DOMAIN = "demo.example.org"
BAD_CREDENTIALS = "The email or password is not right"


def nav_labels(page) -> list[str]:
    return [text.strip() for text in page.locator('nav[aria-label="Main"] a').all_inner_texts()]


def path_of(page) -> str:
    return urlsplit(page.url).path


@pytest.mark.parametrize(
    ("account", "navigation", "landing", "landing_heading"),
    [
        ("therapist", ["Caseload", "Clients", "My account"], "/dashboard/", "Caseload"),
        ("medical", ["Today", "Clients", "My account"], "/today", "Today's medicine sessions"),
        ("supervisor", ["Caseload", "Clients", "Co-signing", "Audit log", "My account"], "/dashboard/",
         "Caseload"),
        (
            "admin",
            ["Staff accounts", "Sites", "Settings", "Audit log", "My account"],
            "/admin/users",
            "Staff accounts",
        ),
    ],
    ids=["therapist", "medical", "supervisor", "admin"],
)
def test_each_role_signs_in_sees_its_navigation_and_signs_out(
    page, sign_in, shot, account, navigation, landing, landing_heading
):
    """Each role lands where its work is and sees exactly the navigation its permissions give
    (no link to a page it would be refused); signing out really ends the session."""
    page.goto("/")
    assert path_of(page) == "/login"  # not signed in yet
    shot(page, "1-sign-in-page")
    sign_in(page, account)

    assert path_of(page) == landing
    assert page.locator("h1").inner_text().strip() == landing_heading
    assert nav_labels(page) == navigation
    current = page.locator('nav[aria-label="Main"] a[aria-current="page"]')
    assert landing_heading.startswith(current.inner_text().strip())  # "Today" names "Today's medicine sessions"
    shot(page, "2-landing")

    # Every link in the navigation opens (none leads to a 403 or 404).
    hrefs = page.locator('nav[aria-label="Main"] a').evaluate_all("links => links.map(a => a.href)")
    for href in hrefs:
        response = page.goto(href)
        assert response is not None and response.status == 200, href
        assert nav_labels(page) == navigation

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You have signed out.").is_visible()
    shot(page, "3-signed-out")

    page.goto("/clients/")
    assert path_of(page) == "/login"
    assert parse_qs(urlsplit(page.url).query).get("next") == ["/clients/"]
    assert page.locator("h1").inner_text().strip() == "Sign in"
    assert page.get_by_text("Please sign in to continue.").is_visible()
    assert page.locator('nav[aria-label="Main"]').count() == 0


def test_sign_in_with_the_keyboard_only(page, shot, password):
    """The login form works without a mouse: the email field has focus on arrival, Tab goes
    email -> password -> Sign in, and Enter in the password field submits."""
    page.goto("/login")

    def focused() -> str:
        return page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.id || e.name || e.tagName) + ':' + (e.value || '') : ''; }"
        )

    assert focused().startswith("email:")
    page.keyboard.press("Tab")
    assert focused().startswith("password:")
    page.keyboard.press("Tab")
    assert focused() == "submit:Sign in"
    shot(page, "1-focus-on-sign-in-button")

    # Back to the email field (Shift+Tab twice) and type everything from the keyboard.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused().startswith("email:")
    page.keyboard.type(f"therapist@{DOMAIN}")
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text().strip() == "Caseload"
    assert page.get_by_text("Robin Ashby").first.is_visible()  # the signed-in therapist
    shot(page, "2-signed-in")


def test_wrong_password_is_explained_beside_the_password_field(page, shot):
    """A wrong password keeps the user on the form with the message beside the password field,
    keeps the typed email (but never echoes the password back)."""
    page.goto("/login")
    page.get_by_label("Email").fill(f"therapist@{DOMAIN}")
    page.get_by_label("Password").fill("not the right password at all")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    assert path_of(page) == "/login"
    password_field = page.locator(".field", has=page.locator("#password"))
    assert password_field.locator(".error-message").count() == 1
    assert BAD_CREDENTIALS in password_field.locator(".error-message").inner_text()
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    assert "password-error" in (page.locator("#password").get_attribute("aria-describedby") or "")
    assert page.locator("#email").input_value() == f"therapist@{DOMAIN}"
    assert page.locator("#password").input_value() == ""
    # The message is not beside the email field: the page does not tell which one was wrong.
    assert page.locator(".field", has=page.locator("#email")).locator(".error-message").count() == 0
    assert page.locator('nav[aria-label="Main"]').count() == 0
    shot(page, "wrong-password")
