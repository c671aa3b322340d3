"""A live server for tests that need real concurrent HTTP requests (threads, sockets), and a
tiny cookie-keeping HTTP client for it (no extra dependency).

The server is Werkzeug's threaded one (as in tests/browser/conftest.py), serving the test's own
app on its own database, so the factories of conftest.py fill it.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest


@dataclass
class Reply:
    status: int
    headers: dict
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test looks at the 302 itself


class Browser:
    """One person's browser: keeps its cookies, never follows redirects."""

    def __init__(self, base: str, *, address: str | None = None):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method: str, path: str, data=None) -> Reply:
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(req, timeout=60) as response:
                return Reply(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read().decode())

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data=None) -> Reply:
        return self.request("POST", path, data or {})

    def sign_in(self, email: str, password: str) -> Reply:
        reply = self.post("/login", {"email": email, "password": password})
        assert reply.status == 302, reply.text[:300]
        return reply


def form_fields(html: str, containing: str = "version") -> list[tuple[str, str]]:
    """(name, value) pairs a browser would send for the form on the page with this field."""
    from html_support import parse

    form = next(f for f in parse(html).find_all("form")
                if any(n.attrs.get("name") == containing for n in f.iter()))
    pairs = []
    for node in form.iter():
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input":
            kind = node.attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in node.attrs:
                    pairs.append((name, node.attrs.get("value", "y")))
            elif kind != "submit":
                pairs.append((name, node.attrs.get("value", "")))
        elif node.tag == "textarea":
            pairs.append((name, node.raw_text.removeprefix("\r\n").removeprefix("\n")))
        elif node.tag == "select":
            options = node.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            pairs.extend((name, o.attrs.get("value", o.text)) for o in chosen)
    return pairs


def race(*calls, timeout: float = 60):
    """Run the calls at the same moment on their own threads; their results, in order."""
    results: list = [None] * len(calls)
    errors: list = []
    start = threading.Barrier(len(calls))

    def run(i, call):
        try:
            start.wait(timeout=timeout)
            results[i] = call()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def live(app):
    """The test's app served on a free loopback port; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kap-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else ""
