"""With auth on, the dashboard asks for a token and shows only what that token may see."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_harness import Server, wait_until
from playwright.sync_api import Page, expect

from conductor.tokens import issue_token

pytestmark = pytest.mark.browser

SECRET = "browser-test-secret-0123456789abcdef"
OURS, THEIRS = "evt_aaaa00000001", "evt_bbbb00000001"
OUR_SESSION, THEIR_SESSION = "ses_aaaa00000001", "ses_bbbb00000001"


@pytest.fixture(scope="module")
def secured(chromium: str) -> Iterator[Server]:
    """`conductor serve` with auth on: two organisations, one event and one session each."""
    server = Server(["serve"])
    server.env = {
        "CONDUCTOR_AUTH_ENABLED": "true",
        "CONDUCTOR_JWT_SECRET": SECRET,
        "CONDUCTOR_DATABASE_URL": f"sqlite:///{server.folder}/auth.db",
        "CONDUCTOR_LOG_LEVEL": "WARNING",
    }
    server.token = issue_token(SECRET, sub="platform", permissions=["conductor:service"])
    server.start()
    try:
        for event_id, session_id, org, name in (
            (OURS, OUR_SESSION, "org_a", "Org A summit"),
            (THEIRS, THEIR_SESSION, "org_b", "Org B private board"),
        ):
            server.api("PUT", f"/events/{event_id}", json={"org_id": org, "name": name})
            server.api("PUT", f"/sessions/{session_id}", json={"event_id": event_id})
            wait_until(
                lambda e=event_id: server.api("GET", f"/events/{e}/sessions")["sessions"],
                10,
                f"session of {event_id} listed",
            )
        yield server
    finally:
        server.stop()


def organiser_token() -> str:
    return issue_token(
        SECRET, sub="alice", org_id="org_a", permissions=["dashboard:read:live", "event:manage"]
    )


def test_asks_for_a_token_and_shows_only_its_organisation(page: Page, secured: Server) -> None:
    page.goto(secured.base_url + "/")
    login = page.locator("#login")
    expect(login).to_be_visible()
    field = page.get_by_role("textbox", name="Access token")
    expect(field).to_be_focused()

    field.fill("not-a-token")
    page.get_by_role("button", name="Open the dashboard").click()
    expect(login).to_be_visible()
    expect(page.locator("#login-reason")).to_contain_text("not accepted")

    token = organiser_token()
    page.get_by_role("textbox", name="Access token").fill(token)
    page.get_by_role("button", name="Open the dashboard").click()
    expect(login).to_be_hidden()
    options = page.locator("#event-select option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", OURS)
    expect(page.locator(f"#sessions-body tr[data-session='{OUR_SESSION}']")).to_be_visible()
    expect(page.locator(f"#sessions-body tr[data-session='{THEIR_SESSION}']")).to_have_count(0)
    # The live stream authenticates with ?token= (EventSource cannot send headers).
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert page.evaluate("() => sessionStorage.getItem('conductor.token')") == token

    page.reload()
    expect(login).to_be_hidden()
    expect(page.locator(f"#sessions-body tr[data-session='{OUR_SESSION}']")).to_be_visible()

    page.goto(f"{secured.base_url}/#/session/{THEIR_SESSION}")
    expect(page.locator("#view-title")).to_have_text("This session cannot be shown")

    page.get_by_role("button", name="Forget token").click()
    expect(login).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('conductor.token')") is None
    expect(page.locator("#view")).not_to_contain_text(re.compile("Org A summit"))
