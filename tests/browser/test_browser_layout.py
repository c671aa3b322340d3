"""Every role's main pages at a phone (390 px), a tablet (768 px) and a laptop (1366 px).

What a clinician meets on a small screen, measured in Chromium rather than read off the CSS:

* no page scrolls sideways (a table too wide for its place scrolls inside its own box);
* tables stay tables on a tablet and a laptop (their header row is shown), and where a table
  does become cards on a phone, no cell's text runs into the column of its label;
* the supervisor's dashboard and the audit log are not several times taller on a tablet than on
  a laptop (they were 2.9 and 3-4.4 times: the phone's card layout began at 800 px);
* chart text is at least 12 px as rendered, and no two chart labels overlap;
* the vitals form's inputs and buttons are at least 44 px in both directions on a phone.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .main_pages import MAIN_PAGES

WIDTHS = (390, 768, 1366)
MIN_CHART_TEXT_PX = 12
MIN_TOUCH_PX = 44
# At 768 px these long lists may grow (the columns are narrower, cells wrap) but not balloon.
MAX_TABLET_GROWTH = 1.6

LAYOUT = """() => {
  const tables = [...document.querySelectorAll('main table')].filter(t => t.querySelector('thead'));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    height: document.documentElement.scrollHeight,
    stackedTables: tables.filter(t => t.querySelector('thead').getBoundingClientRect().height === 0)
      .map(t => (t.className || 'table') + ' under ' + (t.closest('section, main').querySelector('h1, h2') || {}).textContent),
  };
}"""

# In a stacked (card) table every cell shows its label (::before) in a column of its own: no
# text or element of the cell may start inside that column.
CARD_OVERLAPS = """() => {
  const found = [];
  for (const td of document.querySelectorAll('main td[data-label]')) {
    const before = getComputedStyle(td, '::before');
    if (before.content === 'none' || before.content === 'normal' || td.getBoundingClientRect().height === 0) continue;
    // A label on a line of its own above a block cell's content cannot be run into.
    const tdDisplay = getComputedStyle(td).display;
    if (before.display === 'block' && before.float === 'none' && (tdDisplay === 'block' || tdDisplay === 'flow-root')) continue;
    // The label starts the cell's first line: at the content box's left edge plus its margin.
    const labelRight = td.getBoundingClientRect().left + parseFloat(getComputedStyle(td).paddingLeft)
      + parseFloat(before.marginLeft) + parseFloat(before.width);
    const range = document.createRange();
    range.selectNodeContents(td);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0 && r.left < labelRight - 1) {
        found.push(`${td.dataset.label}: "${td.textContent.trim().slice(0, 40)}" at x=${Math.round(r.left)} < ${Math.round(labelRight)}`);
        break;
      }
    }
    if (found.length > 5) break;
  }
  return found;
}"""

# Every shown <text> of the page's charts: its rendered font size and its box.
CHART_TEXT = """(selector) => [...document.querySelectorAll(selector + ' text')]
  .filter(t => t.getBoundingClientRect().width > 0)
  .map(t => { const b = t.getBoundingClientRect(); return {
    text: t.textContent.trim(), px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
    chart: t.closest('svg').getAttribute('aria-labelledby'),
    left: b.left, right: b.right, top: b.top, bottom: b.bottom}; })"""

TOUCH_TARGETS = """() => [...document.querySelectorAll('form:has(#systolic) input:not([type=hidden]), form:has(#systolic) select, form:has(#systolic) textarea, form:has(#systolic) button')]
  .map(e => { const b = e.getBoundingClientRect(); return {name: e.name || e.textContent.trim(), w: b.width, h: b.height}; })"""


@pytest.fixture(scope="module")
def ids(live_server) -> dict[str, int]:
    """The pages the chart and form checks look at: an open course of the therapist's own client
    with the most outcome scores, and a draft medicine session of theirs with readings."""
    from kaptracker.extensions import db
    from kaptracker.models import Client, Course, DosingSession, OutcomeScore, User, VitalSign

    with live_server.app.app_context():
        therapist = db.session.scalar(sa.select(User.id).where(User.email.like("therapist@%")))
        own = sa.select(Course.id).join(Client).where(Client.therapist_id == therapist, Course.end_reason.is_(None))
        course = db.session.scalar(
            sa.select(OutcomeScore.course_id).where(OutcomeScore.course_id.in_(own))
            .group_by(OutcomeScore.course_id).order_by(sa.func.count().desc(), OutcomeScore.course_id)
        )
        session = db.session.scalar(
            sa.select(VitalSign.session_id).join(DosingSession, DosingSession.id == VitalSign.session_id)
            .where(DosingSession.course_id.in_(own), DosingSession.signed_at.is_(None))
            .group_by(VitalSign.session_id).order_by(sa.func.count().desc(), VitalSign.session_id)
        )
        db.session.remove()
    assert course and session, "the demo seed has no open course with scores and a draft medicine session"
    return {**live_server.ids, "course": course, "session": session}


def _visit(page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)


@pytest.mark.parametrize("account", list(MAIN_PAGES))
def test_main_pages_fit_phone_tablet_and_laptop(page, sign_in, live_server, shot, account):
    """No sideways scroll at any width; tables keep their header row at 768 and 1366 px; in the
    phone's card layout no cell's content slips into its label's column."""
    sign_in(page, account)
    problems = []
    for template in MAIN_PAGES[account]:
        url = template.format(**live_server.ids)
        # One load a page, then the viewport is resized: the layout (media queries included)
        # follows the width, and the crawl makes a third of the requests it made.
        _visit(page, url, WIDTHS[0])
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            shot(page, f"{url.strip('/').replace('/', '_')}-{width}")
            m = page.evaluate(LAYOUT)
            if m["scrollWidth"] > m["innerWidth"]:
                problems.append(f"{url} at {width}: scrolls sideways ({m['scrollWidth']} > {m['innerWidth']})")
            if width >= 768 and m["stackedTables"]:
                problems.append(f"{url} at {width}: stacked as cards: {m['stackedTables']}")
            for overlap in page.evaluate(CARD_OVERLAPS):
                problems.append(f"{url} at {width}: cell over its label: {overlap}")
    assert not problems, "\n".join(problems)


def test_long_lists_are_not_much_taller_on_a_tablet(page, sign_in, shot):
    """The supervisor's dashboard and the audit log at 768 px stay within 1.6 times their
    height at 1366 px (as cards they were 2.9 and 3 times as tall)."""
    sign_in(page, "supervisor")
    heights = {}
    for url in ("/dashboard/", "/audit/"):
        for width in (768, 1366):
            _visit(page, url, width)
            heights[url, width] = page.evaluate(LAYOUT)["height"]
            shot(page, f"{url.strip('/').replace('/', '_')}-{width}")
    for url in ("/dashboard/", "/audit/"):
        assert heights[url, 768] <= MAX_TABLET_GROWTH * heights[url, 1366], heights


def _overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if a["chart"] != b["chart"]:
                continue
            if min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5 and \
                    min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5:
                pairs.append((a["text"], b["text"]))
    return pairs


@pytest.mark.parametrize("url, selector", [
    ("/sessions/{session}/vitals", ".vitals-chart"),
    ("/courses/{course}", ".scale-chart"),
])
def test_chart_text_is_readable_and_never_overlaps(page, sign_in, ids, shot, url, selector):
    """Every label of the vitals chart and of the outcome charts renders at 12 px or more at
    390, 768 and 1366 px, and no two labels of one chart overlap."""
    sign_in(page, "therapist")
    url = url.format(**ids)
    for width in WIDTHS:
        _visit(page, url, width)
        shot(page, f"chart-{width}")
        texts = page.evaluate(CHART_TEXT, selector)
        assert texts, f"no chart text on {url} at {width}"
        small = sorted({(round(t["px"], 1), t["text"]) for t in texts if t["px"] < MIN_CHART_TEXT_PX})
        assert small == [], f"{url} at {width}: text under {MIN_CHART_TEXT_PX} px: {small[:8]}"
        assert _overlapping(texts) == [], f"{url} at {width}: labels overlap"


def test_vitals_form_has_touch_sized_targets_on_a_phone(page, sign_in, ids, shot):
    """At 390 px every input, select and button of the vitals form is at least 44 x 44 px."""
    sign_in(page, "medical")
    _visit(page, f"/sessions/{ids['session']}/vitals", 390)
    shot(page, "vitals-form-390")
    targets = page.evaluate(TOUCH_TARGETS)
    assert len(targets) >= 7, targets  # systolic, diastolic, pulse, SpO2, timepoint, time, note, save
    small = [t for t in targets if t["w"] < MIN_TOUCH_PX or t["h"] < MIN_TOUCH_PX]
    assert small == [], small
