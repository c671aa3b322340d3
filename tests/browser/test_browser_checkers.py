"""Real checkers on every main page of every role: axe-core in Chromium, the Nu HTML Checker on the HTML.

The checkers are the npm packages pinned in ``checkers/package-lock.json`` (``npm ci
--ignore-scripts --prefix checkers``; .ci/run does it): axe-core, and vnu-jar, whose ``vnu.jar``
runs on the machine's Java (Debian's ``default-jre-headless``; vnu-jar's own install script, which
would download a JDK, is not run). Without them these tests skip, unless
KAPTRACKER_REQUIRE_BROWSER=1, as CI sets, when they fail.

axe goes into each page through ``page.evaluate`` of its source: DevTools evaluation is not
subject to the page's Content-Security-Policy, so the strict policy stays on (``bypass_csp`` would
also hide the CSP violations the page watch reports) and no inline script is needed.

The Nu checker reads the HTML exactly as the server sent it (the response body, not the DOM
after scripts), saved under test-artifacts/html/, all pages in one run of one JVM. The counts per
page go to test-artifacts/checkers.txt.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from .conftest import SCREENSHOTS, _unavailable, _watched_page
from .main_pages import MAIN_PAGES, PUBLIC_PAGES

CHECKERS = Path(__file__).resolve().parents[2] / "checkers" / "node_modules"
AXE = CHECKERS / "axe-core" / "axe.min.js"
VNU = CHECKERS / "vnu-jar" / "build" / "dist" / "vnu.jar"
ARTIFACTS = SCREENSHOTS.parent
BLOCKING = ("serious", "critical")  # axe impacts that fail the test

AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it stands (injected once per document)."""
    if not AXE.is_file():
        _unavailable(f"{AXE} is missing (npm ci --ignore-scripts --prefix checkers)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(AXE_RUN)


def nu_errors(folder: Path) -> dict[str, list[str]]:
    """The Nu HTML Checker's errors in every .html file of ``folder`` (one JVM), by file name."""
    java = shutil.which("java")
    if java is None:
        _unavailable("Java is not installed (apt-get install default-jre-headless)")
    if not VNU.is_file():
        _unavailable(f"{VNU} is missing (npm ci --ignore-scripts --prefix checkers)")
    files = sorted(folder.glob("*.html"))
    run = subprocess.run(
        [java, "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    messages = json.loads(run.stderr)["messages"]  # vnu writes its report to stderr
    found: dict[str, list[str]] = {f.name: [] for f in files}
    for m in messages:
        name = Path(m.get("url", "?")).name
        found.setdefault(name, []).append(
            f"line {m.get('lastLine', '?')}: {m['message']} [{m.get('extract', '').strip()}]"
        )
    assert run.returncode == (1 if messages else 0), (run.returncode, run.stderr[-2000:])
    return found


def _file_name(account: str, template: str) -> str:
    return f"{account}--{re.sub(r'[^A-Za-z0-9]+', '-', template).strip('-') or 'home'}.html"


def _visit(page, account: str, url: str, template: str, folder: Path) -> tuple[str, list[dict]]:
    response = page.goto(url)
    assert response is not None and response.status == 200, (account, url)
    assert page.url.endswith(url), f"{account}: {url} went to {page.url}"
    name = _file_name(account, template)
    (folder / name).write_text(response.text(), encoding="utf-8")
    return name, axe_violations(page)


def test_every_main_page_passes_axe_and_the_nu_html_checker(browser, live_server, sign_in, watch):
    """Every main page of every role (tests/browser/main_pages.py) has no serious or critical
    axe-core violation, and its HTML no Nu HTML Checker error."""
    folder = ARTIFACTS / "html"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    visits = []  # (account, template, file name, axe violations)
    for account, templates in [("anonymous", PUBLIC_PAGES), *MAIN_PAGES.items()]:
        context, page = _watched_page(browser, live_server, watch)
        try:
            if account != "anonymous":
                sign_in(page, account)
            for template in templates:
                url = template.format(**live_server.ids)
                visits.append((account, template, *_visit(page, account, url, template, folder)))
        finally:
            context.close()
    nu = nu_errors(folder)

    lines, failures = [], []
    for account, template, name, violations in visits:
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        lines.append(f"{account:10} {template:48} axe {len(blocking)} serious/critical,"
                     f" {len(violations) - len(blocking)} other; Nu {len(nu[name])} errors")
        failures += [f"axe {account} {template}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                     for v in blocking]
        failures += [f"Nu {account} {template}: {e}" for e in nu[name]]
    report = "\n".join(lines)
    (ARTIFACTS / "checkers.txt").write_text(report + "\n", encoding="utf-8")
    print(report)
    assert len(visits) >= 40, report
    assert not failures, f"{len(failures)} findings:\n  " + "\n  ".join(failures)
    assert watch.unexpected() == []


def test_axe_finds_an_unlabelled_field(page, live_server):
    """The axe check is not blind: a field without a label is a critical violation."""
    page.goto("/login")
    page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found.get("label") == "critical", found


def test_the_nu_checker_finds_a_duplicate_id(tmp_path):
    """The Nu check is not blind: an id used twice is an error, and a clean page has none."""
    head = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
    (tmp_path / "twice.html").write_text(head + '<body><p id="a">1</p><p id="a">2</p></body></html>')
    (tmp_path / "clean.html").write_text(head + '<body><p id="a">1</p></body></html>')
    found = nu_errors(tmp_path)
    assert found["clean.html"] == []
    assert any("Duplicate ID" in e for e in found["twice.html"]), found
