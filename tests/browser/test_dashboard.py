"""The organiser's dashboard in a real browser against the live demo (`conductor demo`)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Server, wait_until
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

DEMO_EVENT = "evt_de0000000001"
DEMO_SESSIONS = {f"ses_de00000000a{i}" for i in range(1, 6)}
SUGGESTION_WAIT_MS = 90_000
CARD = "article.suggestion[data-decision]"
LABELS = {
    "SUDDEN_DROP": "Sudden drop",
    "GRADUAL_DECLINE": "Gradual decline",
    "LOW_ENGAGEMENT": "Low engagement",
    "MASS_EXIT": "Mass exit",
}


def open_overview(page: Page, demo: Server, path: str = f"/#/event/{DEMO_EVENT}") -> None:
    page.goto(demo.base_url + path)
    expect(page.locator("#sessions-body tr")).to_have_count(len(DEMO_SESSIONS))


def first_card(page: Page) -> tuple[str, str, str]:
    """Waits for a suggestion on the page; its decision id, session id and type."""
    card = page.locator(CARD).first
    card.wait_for(timeout=SUGGESTION_WAIT_MS)
    decision_id = card.get_attribute("data-decision")
    session_id = card.get_attribute("data-session")
    kind = card.get_attribute("data-type")
    assert decision_id and session_id and kind
    return decision_id, session_id, kind


def open_session_of_first_card(page: Page, demo: Server) -> tuple[str, str, str]:
    open_overview(page, demo)
    decision_id, session_id, kind = first_card(page)
    page.locator(f'{CARD}[data-decision="{decision_id}"] a.card-session').click()
    expect(page).to_have_url(f"{demo.base_url}/#/session/{session_id}")
    expect(page.locator(f'{CARD}[data-decision="{decision_id}"]')).to_be_visible()
    return decision_id, session_id, kind


def decision(demo: Server, session_id: str, status: str, decision_id: str) -> dict[str, Any] | None:
    found = demo.api("GET", f"/decisions?session_id={session_id}&status={status}")["decisions"]
    return next((d for d in found if d["decision_id"] == decision_id), None)


def chart_points(page: Page, trace: str) -> int:
    count: int = page.evaluate(
        """name => {
            const chart = document.getElementById('score-chart');
            const found = chart && chart.data && chart.data.find(t => t.name === name);
            return found ? found.x.length : -1;
        }""",
        trace,
    )
    return count


def signed(value: float) -> str:
    minus = "\N{MINUS SIGN}"  # as the page writes it
    return f"{'+' if value >= 0 else minus}{abs(value):.2f}"


def test_overview_shows_every_session_worst_first_and_sorts(page: Page, demo: Server) -> None:
    open_overview(page, demo, "/")  # the first event is the default
    expect(page.locator("#event-select")).to_have_value(DEMO_EVENT)
    rows = page.locator("#sessions-body tr")
    shown = set(rows.evaluate_all("rows => rows.map(r => r.dataset.session)"))
    assert shown == DEMO_SESSIONS
    scores: list[float] = rows.evaluate_all(
        "rows => rows.map(r => parseFloat(r.querySelector('[data-score]').dataset.score))"
    )
    assert all(0.0 <= s <= 1.0 for s in scores), scores
    assert scores == sorted(scores), "worst score first by default"
    # Every row carries the score as text, a sparkline and the agent's status in words.
    for row in rows.all():
        assert row.locator(".score").inner_text().strip() not in ("", "—")
        expect(row.locator("svg.sparkline polyline")).to_have_count(1)
        assert row.locator(".status").inner_text().strip()
    api_ids = {
        s["session_id"] for s in demo.api("GET", f"/events/{DEMO_EVENT}/sessions")["sessions"]
    }
    assert shown == api_ids

    shown_names = (
        "rows => rows.map(r => r.querySelector('.session-link').textContent.toLowerCase())"
    )
    page.get_by_role("button", name="Sort by session").click()
    names = rows.evaluate_all(shown_names)
    assert names == sorted(names)
    assert "workshop: hardening your ci pipeline" in names  # organisers see titles, not ids
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Session")
    page.get_by_role("button", name="Sort by session").click()
    names = rows.evaluate_all(shown_names)
    assert names == sorted(names, reverse=True)
    expect(page.locator("th[aria-sort='descending']")).to_contain_text("Session")

    page.get_by_role("button", name="Sort by alerts").click()
    weights: list[int] = rows.evaluate_all(
        """rows => rows.map(r => r.querySelectorAll('.alerts .sev-critical').length * 2
                               + r.querySelectorAll('.alerts .sev-warning').length)"""
    )
    assert weights == sorted(weights, reverse=True)


def test_approving_executes_at_once_and_the_outcome_is_measured(page: Page, demo: Server) -> None:
    decision_id, session_id, kind = open_session_of_first_card(page, demo)
    card = page.locator(f'{CARD}[data-decision="{decision_id}"]')
    card.get_by_role("button", name="Approve").click()

    expect(card).to_have_count(0, timeout=3_000)  # optimistic: gone before the stream says so
    executed = wait_until(
        lambda: decision(demo, session_id, "EXECUTED", decision_id), 10, "decision executed"
    )
    intervention_id = executed["intervention_id"]
    assert intervention_id
    executed_note = page.locator("#feed li[data-kind='did']").filter(
        has_text=re.compile(re.escape(f"{kind} executed (approved)"))
    )
    expect(executed_note.first).to_be_visible()
    row = page.locator(f"#session-history tr[data-intervention='{intervention_id}']")
    expect(row).to_be_visible()
    page.wait_for_function(
        "() => { const c = document.getElementById('score-chart');"
        " const t = c && c.data && c.data.find(t => t.name === 'Intervention');"
        " return t && t.x.length >= 1; }"
    )
    assert chart_points(page, "Intervention") >= 1

    # The outcome is measured 60 s of event time later (15 s at speed 4), live on the page.
    expect(row.locator(".result-ok, .result-bad")).to_be_visible(timeout=60_000)
    measured_note = page.locator("#feed li[data-kind='measured']").filter(
        has_text=re.compile(f"{kind} (worked|did not help)")
    )
    expect(measured_note.first).to_be_visible()

    def stored_outcome() -> dict[str, Any] | None:
        path = f"/interventions/history/{session_id}?limit=200"
        history = demo.api("GET", path)["interventions"]
        found = next(i for i in history if i["intervention_id"] == intervention_id)
        outcome: dict[str, Any] | None = found["outcome"]
        return outcome

    outcome = wait_until(stored_outcome, 10, "the outcome is stored")
    cells = row.locator("td").all_inner_texts()
    assert fmt(outcome["score_before"]) in cells
    assert fmt(outcome["score_after"]) in cells
    assert any(signed(outcome["lift"]) in c for c in cells)
    expected = "Worked" if outcome["success"] else "Did not help"
    expect(row).to_contain_text(expected)

    # The history exports as CSV and JSON, built in the browser from what it shows.
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export session history as CSV").click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    exported = next(r for r in rows if r["intervention_id"] == intervention_id)
    assert exported["type"] == kind
    assert float(exported["lift"]) == pytest.approx(outcome["lift"])
    assert exported["success"] == str(outcome["success"]).lower()
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export session history as JSON").click()
    dumped = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    same = next(i for i in dumped["interventions"] if i["intervention_id"] == intervention_id)
    assert same["outcome"]["lift"] == outcome["lift"]


def fmt(value: float) -> str:
    assert math.isfinite(value)
    return f"{value:.2f}"


def test_dismissing_with_a_reason_is_recorded(page: Page, demo: Server) -> None:
    decision_id, session_id, kind = open_session_of_first_card(page, demo)
    card = page.locator(f'{CARD}[data-decision="{decision_id}"]')
    card.get_by_role("button", name="Dismiss").click()
    reason = "The speaker is about to take questions <b>anyway</b>"
    card.get_by_label("Why dismiss it?").fill(reason)
    card.get_by_role("button", name="Dismiss suggestion").click()

    expect(card).to_have_count(0, timeout=3_000)
    recorded = wait_until(
        lambda: decision(demo, session_id, "DISMISSED", decision_id), 10, "decision dismissed"
    )
    assert recorded["dismiss_reason"] == reason
    activity = demo.api("GET", f"/sessions/{session_id}")["activity"]
    assert any(a["kind"] == "dismissed" and reason in a["text"] for a in activity)
    # The service's own feed entry (it names the type as stored), reason shown as plain text.
    dismissed = page.locator("#feed li[data-kind='dismissed']").filter(
        has_text=re.compile(re.escape(f"{kind} dismissed"))
    )
    expect(dismissed.first).to_contain_text(reason)
    assert page.locator("#feed b").count() == 0


def test_mode_switch_is_persisted(page: Page, demo: Server) -> None:
    session_id = "ses_de00000000a4"
    page.goto(f"{demo.base_url}/#/session/{session_id}")
    manual = page.get_by_role("button", name="Manual", exact=True)
    semi = page.get_by_role("button", name="Semi-auto", exact=True)
    expect(manual).to_have_attribute("aria-pressed", "true")

    semi.click()
    expect(semi).to_have_attribute("aria-pressed", "true")
    expect(manual).to_have_attribute("aria-pressed", "false")
    wait_until(
        lambda: demo.api("GET", f"/sessions/{session_id}")["mode"] == "SEMI_AUTO",
        10,
        "mode SEMI_AUTO stored",
    )
    page.reload()
    expect(page.get_by_role("button", name="Semi-auto", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("#mode-help")).to_contain_text("confident")

    page.get_by_role("button", name="Manual", exact=True).click()
    wait_until(
        lambda: demo.api("GET", f"/sessions/{session_id}")["mode"] == "MANUAL",
        10,
        "mode MANUAL stored",
    )
    expect(page.get_by_role("button", name="Manual", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )


def test_approve_is_reachable_by_keyboard(page: Page, demo: Server) -> None:
    open_overview(page, demo)
    first_card(page)
    page.locator("#view-title").focus()
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('approve')"):
            break
    else:
        pytest.fail("no Approve button was reached with Tab")
    focused = page.locator(":focus")
    decision_id = focused.evaluate("el => el.closest('[data-decision]').dataset.decision")
    session_id = focused.evaluate("el => el.closest('[data-decision]').dataset.session")
    outline = focused.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid", "keyboard focus must be visible"

    page.keyboard.press("Enter")
    expect(page.locator(f'{CARD}[data-decision="{decision_id}"]')).to_have_count(0)
    wait_until(
        lambda: decision(demo, session_id, "EXECUTED", decision_id),
        10,
        "decision approved with Enter",
    )


def test_an_injected_name_is_shown_as_text(page: Page, demo: Server) -> None:
    """Text from the API never becomes markup, wherever it is shown."""
    event_id, session_id = "evt_f1b2c3d4e5f6", "ses_f1b2c3d4e5f6"
    markup = '<img src=x onerror="window.__owned=1">'
    demo.api("PUT", f"/events/{event_id}", json={"name": f"Event {markup}", "org_id": "org_x"})
    demo.api("PUT", f"/sessions/{session_id}", json={"event_id": event_id, "topic": markup})
    wait_until(
        lambda: demo.api("GET", f"/events/{event_id}/sessions")["sessions"],
        10,
        "the registered session is listed",
    )
    page.goto(f"{demo.base_url}/#/event/{event_id}")
    link = page.locator(f"#sessions-body tr[data-session='{session_id}'] a.session-link")
    expect(link).to_have_text(markup)
    expect(page.locator("#event-select option:checked")).to_contain_text(markup)
    link.click()
    expect(page.locator("#view-title")).to_have_text(markup)
    assert page.locator("img").count() == 0
    assert page.evaluate("() => window.__owned === undefined")


def test_screenshots(page: Page, demo: Server, screenshots: Path) -> None:
    open_overview(page, demo)
    first_card(page)
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "overview.png"))

    # What worked, per type, as the service counts it (an approval earlier measured one).
    def rates_match() -> bool:
        by_type = demo.api("GET", f"/events/{DEMO_EVENT}/outcomes")["by_type"]
        shown = page.locator("#event-rates tr[data-type]").evaluate_all(
            "rows => Object.fromEntries(rows.map(r => [r.dataset.type,"
            " r.querySelectorAll('td')[1].textContent.trim()]))"
        )
        wanted = {kind: str(rates["measured"]) for kind, rates in by_type.items()}
        return bool(by_type) and shown == wanted

    wait_until(rates_match, 20, "per-type outcomes on the page match the service's")

    # The session view of a session in trouble: chart, signals, components, alert banner.
    def troubled() -> str | None:
        sessions = demo.api("GET", f"/events/{DEMO_EVENT}/sessions")["sessions"]
        return next((s["session_id"] for s in sessions if s["open_alerts"]), None)

    session_id = wait_until(troubled, 60, "a session with an open alert")
    page.locator(f"#sessions-body tr[data-session='{session_id}'] a.session-link").click()
    expect(page).to_have_url(f"{demo.base_url}/#/session/{session_id}")
    page.locator("#score-chart .main-svg").first.wait_for()
    assert chart_points(page, "Engagement score") > 10
    expect(page.locator("#signals .signal")).to_have_count(5)
    expect(page.locator("#components tbody tr").first).to_be_visible()

    def banner_says_the_open_alerts() -> bool:
        alerts = demo.api("GET", f"/sessions/{session_id}")["open_alerts"]
        wanted = sorted(f"{a['severity']}: {LABELS[a['type']]}" for a in alerts)
        shown = page.locator("#banner .banner-item strong").all_inner_texts()
        return bool(wanted) and sorted(s.strip() for s in shown) == wanted

    # Severity is said in words (not only in colour), one line per open alert.
    wait_until(banner_says_the_open_alerts, 20, "the banner names each open alert's severity")
    for item in page.locator("#banner .banner-item").all():
        severity = item.get_attribute("data-severity")
        assert severity in ("WARNING", "CRITICAL")
        assert f"sev-{severity.lower()}" in (item.get_attribute("class") or "")
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "session.png"))
