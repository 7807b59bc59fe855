"""The page over plain HTTP: the token, the same-origin check on changes, escaping of hostile payloads, 404s."""

from __future__ import annotations

import http.client
import logging
import re
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from monitor import daemon
from monitor.store import SqliteStore
from monitor.ui.server import COOKIE, UiServer, cookie_value, start_ui
from monitor.ui.settings import UiError, resolve_token
from tests.ui.conftest import HOSTILE_BUCKET, HOSTILE_KEY, NO_TOKEN_ENV, OTHER_ACCOUNT, Seeded, cloudtrail

TOKEN = "s3cret-token-for-the-page"
Answer = tuple[int, dict[str, str], str]


def get(server: UiServer, path: str, headers: dict[str, str] | None = None,
        method: str = "GET", body: str | None = None) -> Answer:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def post(server: UiServer, path: str, fields: dict[str, str], origin: str | None = "same") -> Answer:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin is not None:
        headers["Origin"] = server.url.rstrip("/") if origin == "same" else origin
    return get(server, path, headers, "POST", urlencode(fields))


def csrf(server: UiServer) -> str:
    return server.app.csrf_token


@pytest.fixture
def token_ui(seeded: Seeded) -> Iterator[UiServer]:
    store = SqliteStore(str(seeded.folder / "monitor.db"))
    server = start_ui(seeded.config, store, "127.0.0.1:0", "UI_TOKEN", environ={"UI_TOKEN": TOKEN})
    yield server
    server.stop()
    store.close()


def test_an_address_off_the_loopback_is_refused_without_a_token(seeded: Seeded) -> None:
    store = SqliteStore(str(seeded.folder / "monitor.db"))
    with pytest.raises(UiError, match=r"serving on 0\.0\.0\.0 requires a token: set the environment variable UI_TOKEN"):
        start_ui(seeded.config, store, "0.0.0.0:0", "UI_TOKEN", environ={})
    store.close()
    assert resolve_token("10.1.2.3", "UI_TOKEN", {"UI_TOKEN": TOKEN}) == TOKEN
    assert resolve_token("::1", "UI_TOKEN", {}) is None
    assert resolve_token("localhost", "UI_TOKEN", {}) is None


def test_with_a_token_every_request_carries_it(token_ui: UiServer) -> None:
    for path in ("/alerts", "/events", "/static/style.css", "/nope"):
        assert get(token_ui, path)[0] == 401
    assert get(token_ui, "/alerts", {"Authorization": "Bearer wrong"})[0] == 401
    assert get(token_ui, "/alerts?token=wrong")[0] == 401
    status, _, body = get(token_ui, "/alerts", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and "S3 bucket deleted" in body


def test_the_token_in_the_url_becomes_a_cookie_and_leaves_the_url(token_ui: UiServer,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="monitor.ui"):
        status, headers, _ = get(token_ui, f"/events?operation=DeleteBucket&token={TOKEN}")
    assert status == 303
    assert headers["location"] == "/events?operation=DeleteBucket"
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={cookie_value(TOKEN)};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie and TOKEN not in caplog.text
    status, _, body = get(token_ui, "/events?operation=DeleteBucket", {"Cookie": f"{COOKIE}={cookie_value(TOKEN)}"})
    assert status == 200 and "logs-old" in body
    assert get(token_ui, "/events", {"Cookie": f"{COOKIE}={TOKEN}"})[0] == 401  # the digest, not the token
    assert get(token_ui, "/events", {"Cookie": 'x="\\'})[0] == 401  # a cookie header that does not parse


def test_without_a_token_only_loopback_host_names_are_answered(ui: UiServer) -> None:
    """A page of another site reaching 127.0.0.1 through DNS rebinding sends its own host name."""
    assert get(ui, "/alerts", {"Host": "evil.example:8080"})[0] == 403
    assert get(ui, "/alerts", {"Host": "localhost:8080"})[0] == 200
    assert get(ui, "/alerts")[0] == 200


def test_a_hostile_payload_is_shown_escaped(ui: UiServer, seeded: Seeded) -> None:
    offset = next(s.offset for s in SqliteStore(str(seeded.folder / "monitor.db")).read_events()
                  if s.event.id == "acl-1")
    status, headers, body = get(ui, f"/events/{offset}")
    assert status == 200
    assert "<script>" not in body and "<img" not in body
    assert "&lt;script&gt;alert(&#39;key&#39;)&lt;/script&gt;" in body  # the object key, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "script-src" not in headers["content-security-policy"]  # no script may run at all
    assert headers["content-security-policy"].startswith("default-src 'none'")
    status, _, listing = get(ui, "/events")
    assert status == 200 and "<img" not in listing and "&lt;img src=x" in listing
    assert HOSTILE_KEY not in listing and HOSTILE_BUCKET not in listing


def test_a_hostile_resource_in_an_alert_is_shown_escaped(ui: UiServer, seeded: Seeded) -> None:
    seeded.run([cloudtrail("log-1", "PutBucketLogging", HOSTILE_BUCKET)])
    status, _, alerts = get(ui, "/alerts")
    assert status == 200 and "S3 bucket logging turned off" in alerts
    assert "<img" not in alerts and "arn:aws:s3:::&lt;img src=x onerror=alert(1)&gt;" in alerts
    assert "resource.id%3Darn%3Aaws%3As3%3A%3A%3A%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E" in alerts  # the link
    status, _, preview = get(ui, "/silences?" + urlencode({"matchers": f"resource.name={HOSTILE_BUCKET}"}))
    assert status == 200 and "It would match 1 current alert." in preview
    assert "<img" not in preview and 'value="resource.name=&lt;img src=x onerror=alert(1)&gt;"' in preview


def test_unknown_pages_events_and_silences_are_404(ui: UiServer) -> None:
    for path in ("/nope", "/events/999", "/events/0", "/events/abc", "/static/missing.css", "/static/../app.py",
                 "/alerts/x"):
        status, _, body = get(ui, path)
        assert status == 404, path
        assert "no such page" in body
    assert post(ui, "/silences/999/expire", {"csrf": csrf(ui)})[0] == 404
    assert get(ui, "/silences/1/expire")[0] == 404
    assert post(ui, "/rules", {"csrf": csrf(ui)})[0] == 405


def test_events_are_filtered_by_every_field(ui: UiServer) -> None:
    def rows(query: str) -> list[str]:
        status, _, body = get(ui, f"/events?{query}")
        assert status == 200, body
        return re.findall(r'<code class="resource">arn:aws:s3:::([^<]*)</code>', body)

    assert rows("") == ["&lt;img src=x onerror=alert(1)&gt;", "elsewhere", "public-site", "backups-2019", "logs-old"]
    assert rows("operation=deletebucket") == ["elsewhere", "backups-2019", "logs-old"]
    assert rows(f"account={OTHER_ACCOUNT}") == ["elsewhere"]
    assert rows("actor=user/bob") == ["public-site", "backups-2019"]
    assert rows("resource=LOGS") == ["logs-old"]
    assert rows("provider=gcp") == []
    assert rows("since=25m") == ["&lt;img src=x onerror=alert(1)&gt;", "elsewhere", "public-site", "backups-2019"]
    assert rows("until=15m&operation=DeleteBucket") == ["backups-2019", "logs-old"]
    for since, message in (("yesterday-ish", "is neither a time"), ("99999999999w", "reaches back before the year 1"),
                           ("%00%ff", "is neither a time")):
        status, _, body = get(ui, f"/events?since={since}")
        assert status == 400 and message in body, since


def test_a_change_must_come_from_this_page(ui: UiServer, seeded: Seeded) -> None:
    fields = {"matchers": "rule=bucket-public", "duration": "1h", "reason": "maintenance", "csrf": csrf(ui)}
    assert post(ui, "/silences", fields, origin=None)[0] == 403
    assert post(ui, "/silences", fields, origin="http://evil.example")[0] == 403
    assert post(ui, "/silences", {**fields, "csrf": "forged"})[0] == 403
    store = SqliteStore(str(seeded.folder / "monitor.db"))
    assert store.silences() == []
    status, headers, _ = post(ui, "/silences", fields)
    assert status == 303 and headers["location"] == "/silences?created=1"
    [silence] = store.silences()
    assert (silence.matchers, silence.reason, silence.created_by) == ({"rule": ["bucket-public"]}, "maintenance", "ui")
    assert (silence.ends_at - silence.starts_at).total_seconds() == 3600
    assert post(ui, "/silences/1/expire", {"csrf": "forged"})[0] == 403
    assert post(ui, "/silences/1/expire", {"csrf": csrf(ui)}, origin="http://evil.example")[0] == 403
    assert store.silences(active_at=silence.starts_at) == [silence]
    status, headers, _ = post(ui, "/silences/1/expire", {"csrf": csrf(ui)})
    assert status == 303 and store.silences(active_at=silence.starts_at.replace(year=2100)) == []


def test_a_silence_form_with_mistakes_is_answered_400_with_the_reason(ui: UiServer) -> None:
    cases = {
        "rule": "is not a matcher (use label=value or label!=value)",
        "rul=bucket-public": "unknown label &#39;rul&#39; (did you mean &#39;rule&#39;?)",
    }
    for matchers, message in cases.items():
        status, _, body = post(ui, "/silences", {"matchers": matchers, "duration": "1h", "reason": "r",
                                                 "csrf": csrf(ui)})
        assert status == 400 and message in body, body
    status, _, body = post(ui, "/silences", {"matchers": "rule=x", "duration": "forever", "reason": "r",
                                             "csrf": csrf(ui)})
    assert status == 400 and "is not a duration" in body
    status, _, body = post(ui, "/silences", {"matchers": "rule=x", "duration": "1h", "reason": "", "csrf": csrf(ui)})
    assert status == 400 and "a reason is required" in body
    assert get(ui, "/silences?matchers=nope")[0] == 400
    status, _, _ = get(ui, "/silences", {"Content-Type": "text/plain", "Origin": ui.url.rstrip("/")}, "POST", "x")
    assert status == 415


def test_the_preview_lists_the_current_alerts_a_silence_would_match(ui: UiServer) -> None:
    status, _, body = get(ui, "/silences?" + urlencode({"matchers": "rule=bucket-deleted\naccount!=" + OTHER_ACCOUNT}))
    assert status == 200
    assert "It would match 2 current alerts." in body
    assert "arn:aws:s3:::logs-old" in body and "arn:aws:s3:::backups-2019" in body
    assert "arn:aws:s3:::elsewhere" not in body.split('id="preview"')[1].split("</table>")[0]
    assert f'name="csrf" value="{csrf(ui)}"' in body


def test_health_and_rules_read_the_state(ui: UiServer) -> None:
    status, _, health = get(ui, "/health")
    assert status == 200
    assert re.search(r'id="log-size">5<', health)
    assert re.search(r'id="undelivered">0', health) and re.search(r'id="dead-letters">0<', health)
    assert "<code>file</code> incoming.jsonl" in health and "(2m ago)" in health
    status, _, rules = get(ui, "/rules")
    assert status == 200
    counts = dict(re.findall(r'data-rule="([^"]+)">.*?class="matches">(\d+)<', rules, re.DOTALL))
    assert counts == {"bucket-deleted": "3", "bucket-public": "1", "bucket-logging-off": "0"}
    assert re.search(r'data-rule="bucket-logging-off">.*?class="last-fired">never<', rules, re.DOTALL)


def test_health_counts_dead_letters_and_messages_not_delivered(ui: UiServer, seeded: Seeded) -> None:
    seeded.chat.script(400)  # a client error: given up at once
    with pytest.raises(daemon.Undelivered):
        seeded.run([cloudtrail("del-9", "DeleteBucket", "gone-bucket")], unreadable=("{not json",))
    status, _, health = get(ui, "/health")
    assert status == 200
    assert re.search(r'id="dead-letters">1<', health)
    undelivered = health.split('id="undelivered">')[1].split("</td>")[0]
    assert undelivered.startswith("1 (1 given up: <code>monitor alerts retry</code>)"), undelivered
    assert "oldest queued" in undelivered and "to chat" in undelivered and "400" in undelivered
    row = get(ui, "/alerts")[2].split("arn:aws:s3:::gone-bucket")[1].split("</tr>")[0]
    assert "chat: <strong>undelivered</strong>" in row


def test_alerts_show_each_destination_s_delivery_state(ui: UiServer) -> None:
    status, _, body = get(ui, "/alerts")
    assert status == 200
    assert body.count('class="alert status-firing"') == 4
    assert body.count("chat: <strong>delivered</strong>") == 4
    assert get(ui, "/alerts?view=resolved")[2].count('class="alert ') == 0
    assert get(ui, "/alerts?view=bogus")[0] == 200


def test_a_missing_token_variable_named_on_the_command_line_is_an_error(seeded: Seeded) -> None:
    from click.testing import CliRunner

    from monitor.cli import main

    result = CliRunner().invoke(main, ["ui", "--config", str(seeded.config_path), "--listen", "0.0.0.0:0",
                                       "--token-env", NO_TOKEN_ENV])
    assert result.exit_code == 1
    assert f"serving on 0.0.0.0 requires a token: set the environment variable {NO_TOKEN_ENV}" in result.output
