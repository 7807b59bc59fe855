"""The page in a real headless browser (Debian's chromium through Playwright), over a state the daemon wrote:
load every page, filter events, and create a silence from its preview that mutes the next alert."""

from __future__ import annotations

from typing import Any

from monitor.ui.server import UiServer
from tests.ui.conftest import HOSTILE_BUCKET, HOSTILE_KEY, OTHER_ACCOUNT, Seeded, cloudtrail, screenshot


def test_every_page_loads(page: Any, ui: UiServer) -> None:
    page.goto(ui.url)
    assert page.url == ui.url + "alerts"  # / leads to the firing alerts
    assert page.locator("#alerts tr.alert").count() == 4
    assert page.locator(".delivery-delivered").count() == 4
    screenshot(page, "alerts")
    page.click("#alerts tr.alert >> text=arn:aws:s3:::backups-2019")  # a resource leads to its events
    assert page.locator("h1").inner_text() == "Events"
    assert page.locator("#events code.resource").all_inner_texts() == ["arn:aws:s3:::backups-2019"]
    page.go_back()
    for name, text in (("Events", "logs-old"), ("Silences", "No active silence."), ("Rules", "bucket-logging-off"),
                       ("Health", "incoming.jsonl")):
        page.click(f"nav >> text={name}")
        assert page.locator("h1").inner_text() == name
        assert text in page.locator("main").inner_text()
        assert page.locator("nav a.current").inner_text() == name
        screenshot(page, name.lower())


def test_filtering_events_and_opening_one(page: Any, ui: UiServer) -> None:
    page.goto(ui.url + "events")
    assert page.locator("#events tr.event").count() == 5
    page.fill("input[name=operation]", "DeleteBucket")
    page.fill("input[name=account]", OTHER_ACCOUNT)
    page.click("#event-filters button[type=submit]")
    assert page.locator("#events tr.event").count() == 1
    assert page.locator("#events code.resource").inner_text() == "arn:aws:s3:::elsewhere"
    assert page.input_value("input[name=account]") == OTHER_ACCOUNT  # the filter stays in the form
    screenshot(page, "events-filtered")

    page.fill("input[name=account]", "")
    page.fill("input[name=operation]", "acl")
    page.fill("input[name=actor]", "bob")
    page.click("#event-filters button[type=submit]")
    assert page.locator("#events tr.event").count() == 1
    page.click("#events tr.event a")
    assert page.locator("#matched-rules li").inner_text().startswith("bucket-public S3 bucket made public")
    raw = page.locator("#raw").inner_text()
    assert HOSTILE_KEY in raw and HOSTILE_BUCKET in raw  # shown as text, run as nothing (the page fixture checks)
    assert page.locator("main img").count() == 0
    screenshot(page, "event-hostile-payload")


def test_a_silence_created_from_its_preview_mutes_the_next_alert(page: Any, ui: UiServer, seeded: Seeded) -> None:
    page.goto(ui.url + "silences")
    page.fill("textarea[name=matchers]", f"rule=bucket-deleted\naccount!={OTHER_ACCOUNT}")
    page.fill("input[name=duration]", "1h")
    page.click("#preview-button")
    assert page.locator("#preview-count").inner_text() == "It would match 2 current alerts."
    previewed = page.locator("#preview").inner_text()
    assert "logs-old" in previewed and "backups-2019" in previewed and "elsewhere" not in previewed
    screenshot(page, "silence-preview")

    page.fill("#create-form input[name=reason]", "decommissioning old buckets")
    page.click("#create-button")
    assert page.locator("#created").inner_text() == "Silence 1 created."
    row = page.locator("#silences tr.silence").inner_text()
    assert "rule=bucket-deleted account!=210987654321" in row and "decommissioning old buckets" in row
    screenshot(page, "silence-created")

    delivered = len(seeded.chat.received)
    seeded.run([cloudtrail("del-3", "DeleteBucket", "logs-new", minutes_ago=1),
                cloudtrail("del-4", "DeleteBucket", "still-watched", account=OTHER_ACCOUNT, minutes_ago=1)])
    assert seeded.chat.wait_for(delivered + 1)
    [unmuted] = seeded.chat.received[delivered:]  # the other account's deletion only
    assert "still-watched" in unmuted.body.decode() and "logs-new" not in unmuted.body.decode()

    page.goto(ui.url + "alerts?view=muted")
    muted = page.locator("#alerts tr.alert", has_text="logs-new")
    assert muted.locator("td.status").inner_text() == "silenced"
    assert muted.locator("td.deliveries").inner_text() == "not notified"
    screenshot(page, "alerts-muted")
    page.goto(ui.url + "alerts")  # an alert firing before the silence is marked until its next message
    assert page.locator("#alerts tr.alert", has_text="logs-old").locator(".silenced-by").inner_text() == \
        "silenced by #1"
    assert page.locator("#alerts tr.alert", has_text="elsewhere").locator(".silenced-by").count() == 0

    page.goto(ui.url + "silences")
    page.click("#silences button.expire")
    assert page.locator("#silences").count() == 0
    assert "decommissioning old buckets" in page.locator("#expired").inner_text()
