"""The triggers page and the logs page in a real headless Chromium against a real server: each
trigger with its state, next fire and Webhook URL (copied), enabled and disabled one at a time and
in bulk, a Schedule backfilled from the dialog by keyboard then paused and deleted; log lines
searched across executions by level, text, flow and dates, each linked to its execution. Text
from flows and logs is shown as text, never run as HTML.

The server and page fixtures are test_ui.py's, the browser conftest.py's; screenshots go to
tests/e2e/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.e2e import test_ui as ui
from tests.integration.server.harness import Server, wait_for

server, page = ui.server, ui.page  # test_ui.py's fixtures, found by pytest under these names
shot = ui.shot

HOSTILE = '<img src=x onerror="window.__pwned=1">'
TRIGGERED = f"""id: triggered
namespace: company.tl
inputs:
  - {{id: region, type: STRING, defaults: none}}
tasks:
  - {{id: t, type: io.kestra.plugin.core.log.Log, message: "{{{{ inputs.region }}}}"}}
triggers:
  - {{id: every_minute, type: io.kestra.plugin.core.trigger.Schedule, cron: "* * * * *"}}
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: 'k"{HOSTILE}'
"""
OTHER = """id: other
namespace: company.tl
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: hi}
triggers:
  - {id: hourly, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 * * * *"}
"""


EVERY_MINUTE = 'tr[data-trigger="company.tl.triggered.every_minute"]'


def every_text(selector: str, test: str, at_least: int = 1) -> str:
    """A page function: true once `selector` matches at least `at_least` elements and the text `t`
    of each passes `test` (a JavaScript expression)."""
    return (f"() => {{ const all = [...document.querySelectorAll({selector!r})]; return all.length >= {at_least} "
            f"&& all.every((e) => {{ const t = e.textContent; return {test}; }}); }}")


def deployed(server: Server, *flows: str) -> None:
    """Deploy each flow once: the server (and so its flows) is shared by this module's tests."""
    for text in flows:
        r = server.client.post("/flows", content=text, headers={"Content-Type": "application/x-yaml"})
        assert r.status_code in (200, 409), r.text


def row(page: Any, trigger: str) -> Any:
    return page.locator(f'tr[data-trigger="{trigger}"]')


def local_input_value(page: Any, instant: dt.datetime) -> str:
    """The `datetime-local` value the browser shows for an instant (its own time zone)."""
    return str(page.evaluate("""iso => { const d = new Date(iso); const p = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
          + `T${p(d.getHours())}:${p(d.getMinutes())}`; }""", instant.isoformat()))


def tab_to(page: Any, element_id: str, most: int = 12) -> None:
    """Press Tab until `element_id` has the focus (a date input holds several fields to Tab through)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def trigger_context(server: Server, flow_id: str, trigger_id: str) -> dict[str, Any]:
    rows = server.client.get("/triggers/search", params={"flowId": flow_id}).json()["results"]
    return next(r["triggerContext"] for r in rows if r["triggerContext"]["triggerId"] == trigger_id)


def test_the_triggers_page_shows_state_next_fire_and_a_copyable_webhook_url(page: Any, server: Server) -> None:
    deployed(server, TRIGGERED, OTHER)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(server.url + "/ui/#/triggers")
    schedule = row(page, "company.tl.triggered.every_minute")
    schedule.wait_for()
    assert schedule.locator(".trigger-state").inner_text() == "enabled"
    assert "Schedule" in schedule.inner_text()
    wait_for(lambda: trigger_context(server, "triggered", "every_minute")["nextExecutionDate"])
    page.wait_for_function(every_text(f'{EVERY_MINUTE} td:nth-child(6)', "t.trim() !== ''"))  # the next fire, once set
    hook = row(page, "company.tl.triggered.hook")
    url = hook.locator(".webhook-url").input_value()
    assert url.startswith(server.url + "/api/v1/executions/webhook/company.tl/triggered/k%22%3Cimg")
    hook.locator(".webhook-copy").click()
    page.wait_for_selector("#toast:not([hidden])")
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert page.evaluate("window.__pwned") is None and page.locator("#view img").count() == 0
    shot(page, "tl-1-triggers")


def test_triggers_are_disabled_and_enabled_one_at_a_time_and_in_bulk(page: Any, server: Server) -> None:
    deployed(server, TRIGGERED, OTHER)
    page.goto(server.url + "/ui/#/triggers")
    other = row(page, "company.tl.other.hourly")
    other.locator(".trigger-toggle").click()
    page.wait_for_function("""() => document.querySelector('tr[data-trigger="company.tl.other.hourly"] .trigger-state')
        .textContent === 'disabled'""")
    assert trigger_context(server, "other", "hourly")["disabled"] is True
    page.check("#trigger-select-all")
    assert page.locator(".trigger-select:checked").count() == page.locator(".trigger-select").count() >= 3
    page.click("#triggers-disable")
    page.wait_for_function(every_text(".trigger-state", "t === 'disabled'"))
    assert all(trigger_context(server, f, t)["disabled"] for f, t in
               (("other", "hourly"), ("triggered", "every_minute"), ("triggered", "hook")))
    page.uncheck("#trigger-select-all")
    row(page, "company.tl.other.hourly").locator(".trigger-select").check()
    page.click("#triggers-enable")
    page.wait_for_function("""() => document.querySelector('tr[data-trigger="company.tl.other.hourly"] .trigger-state')
        .textContent === 'enabled'""")
    assert trigger_context(server, "other", "hourly")["disabled"] is False
    assert trigger_context(server, "triggered", "every_minute")["disabled"] is True  # not selected: unchanged
    page.check("#trigger-select-all")
    page.click("#triggers-enable")
    page.wait_for_function(every_text(".trigger-state", "t === 'enabled'"))


def test_a_schedule_is_backfilled_from_the_dialog_by_keyboard_then_paused_and_deleted(page: Any,
                                                                                   server: Server) -> None:
    deployed(server, TRIGGERED)
    page.goto(server.url + "/ui/#/triggers")
    schedule = row(page, "company.tl.triggered.every_minute")
    opener = schedule.locator(".backfill-open")
    opener.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#backfill-dialog[open]")
    assert page.evaluate("document.activeElement.id") == "backfill-start"
    page.keyboard.press("Escape")  # Esc closes without starting anything
    page.wait_for_selector("#backfill-dialog", state="detached")
    assert trigger_context(server, "triggered", "every_minute")["backfill"] is None

    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=3)
    opener.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#backfill-dialog[open]")
    page.fill("#backfill-start", local_input_value(page, start))
    page.fill("#backfill-end", local_input_value(page, start + dt.timedelta(minutes=59)))
    page.focus("#backfill-end")
    tab_to(page, "input-region")  # the flow's input `region`, after the end date's fields
    page.keyboard.press("Control+a")
    page.keyboard.type("eu-west")
    page.keyboard.press("Tab")
    page.keyboard.type("reason:outage")
    page.keyboard.press("Enter")  # Enter starts it
    page.wait_for_selector("#backfill-dialog", state="detached")
    progress = schedule.locator(".backfill-count")
    progress.wait_for()
    page.wait_for_function(every_text(f"{EVERY_MINUTE} .backfill-count", "Number(t.trim().split(' ')[0]) >= 2"),
                           timeout=30_000)
    assert "/ 60" in progress.inner_text()
    shot(page, "tl-2-backfill-progress")
    schedule.locator(".backfill-pause").focus()
    before = progress.inner_text()
    page.wait_for_function(every_text(f"{EVERY_MINUTE} .backfill-count", f"t !== {before!r}"))  # a refresh
    assert "backfill-pause" in page.evaluate("document.activeElement.className")  # the focus survived it
    page.keyboard.press("Enter")
    page.wait_for_function(every_text(f"{EVERY_MINUTE} .backfill-count", "t.includes('paused')"))
    assert trigger_context(server, "triggered", "every_minute")["backfill"]["paused"] is True
    schedule.locator(".backfill-delete").click()
    schedule.locator(".backfill-last").wait_for()
    assert "deleted" in schedule.locator(".backfill-last").inner_text()
    context = trigger_context(server, "triggered", "every_minute")
    assert context["backfill"] is None and context["lastBackfill"]["outcome"] == "deleted"
    exes = [e for e in server.executions(flowId="triggered")  # the live schedule runs beside the backfill
            if {"key": "reason", "value": "outage"} in e["labels"]]
    assert exes and len(exes) in (context["lastBackfill"]["fired"], context["lastBackfill"]["fired"] + 1)
    for exe in exes:
        assert exe["inputs"] == {"region": "eu-west"}


def test_a_refused_backfill_shows_why_in_the_dialog(page: Any, server: Server) -> None:
    deployed(server, OTHER)
    page.goto(server.url + "/ui/#/triggers")
    row(page, "company.tl.other.hourly").locator(".backfill-open").click()
    page.wait_for_selector("#backfill-dialog[open]")
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    page.fill("#backfill-start", local_input_value(page, future))
    page.click("#backfill-submit")
    page.wait_for_selector("#backfill-error:has-text('is in the future')")
    assert page.locator("#backfill-dialog[open]").count() == 1  # still open, to correct it
    page.keyboard.press("Escape")
    assert trigger_context(server, "other", "hourly")["backfill"] is None


LOGGING = f"""id: chatty
namespace: company.logs
tasks:
  - {{id: hello, type: io.kestra.plugin.core.log.Log, message: "hello from chatty"}}
  - {{id: careful, type: io.kestra.plugin.core.log.Log, level: WARN, message: "disk almost full"}}
  - {{id: hostile, type: io.kestra.plugin.core.log.Log, message: '{HOSTILE}'}}
"""
QUIET = """id: quiet
namespace: company.elsewhere
tasks:
  - {id: hello, type: io.kestra.plugin.core.log.Log, message: "hello from quiet"}
"""


def test_the_logs_page_searches_lines_across_executions_and_links_each_to_its_execution(page: Any,
                                                                                        server: Server) -> None:
    server.deploy(LOGGING)
    server.deploy(QUIET)
    chatty = server.run("company.logs", "chatty")
    server.run("company.elsewhere", "quiet")
    page.goto(server.url + "/ui/#/logs")
    page.fill("#logs-namespace", "company")  # this test's two namespaces, not the other tests' flows
    page.wait_for_function("""want => { const got = [...document.querySelectorAll('#logs-table .log-message')]
        .map((m) => m.textContent); return want.every((w) => got.includes(w)); }""",
                           arg=["hello from chatty", "disk almost full", HOSTILE, "hello from quiet"])
    assert page.evaluate("window.__pwned") is None and page.locator("#logs-table img").count() == 0
    shot(page, "tl-3-logs-search")

    page.select_option("#logs-level", "WARN")
    page.wait_for_function(every_text("#logs-table .log-message", "t === 'disk almost full'"))
    page.select_option("#logs-level", "")
    page.fill("#logs-q", "hello from")
    page.wait_for_function(every_text("#logs-table .log-message", "t.startsWith('hello from')", at_least=2))
    page.fill("#logs-namespace", "company.logs")
    page.wait_for_function(every_text("#logs-table .log-message", "t === 'hello from chatty'"))
    assert "namespace=company.logs" in page.url and "q=hello" in page.url  # the search is in the URL
    page.fill("#logs-from", local_input_value(page, dt.datetime.now(dt.UTC) + dt.timedelta(days=1)))
    page.locator("#logs-from").dispatch_event("change")
    page.wait_for_selector("#logs-table .empty:has-text('No log line matches.')")
    page.fill("#logs-from", "")
    page.locator("#logs-from").dispatch_event("change")
    link = page.locator(f'#logs-table tr[data-execution="{chatty["id"]}"] .log-execution').first
    link.click()
    page.wait_for_url(f"**/ui/#/executions/{chatty['id']}")


def test_an_unknown_level_in_the_address_is_said_not_silently_dropped(page: Any, server: Server) -> None:
    page.goto(server.url + "/ui/#/logs?minLevel=LOUD")
    page.wait_for_selector("#logs-note:has-text('unknown log level `LOUD`')")
    assert page.locator("#logs-level").input_value() == ""
    page.goto(server.url + "/ui/#/logs?minLevel=warn")
    page.wait_for_function("() => (document.querySelector('#logs-level') || {}).value === 'WARN'")
    assert page.locator("#logs-note").count() == 0
