"""The dashboard and the executions list's filters and bulk actions, in a real headless Chromium
against a real server, used as a person does: the dashboard's counts, charts and failures (with
hostile text shown as text), every filter kept in the URL hash and restored from a shared link,
paging, selection, and each bulk action through its confirm dialog by keyboard (Tab, Enter, Esc).

The server and page fixtures are test_ui.py's, the browser conftest.py's; screenshots go to
tests/e2e/screenshots/.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e import test_ui as ui
from tests.integration.server.harness import Server

server, page = ui.server, ui.page  # test_ui.py's fixtures, found by pytest under these names
shot = ui.shot

LOG = "io.kestra.plugin.core.log.Log"
HOSTILE = '<img src=x onerror="window.pwned=1">'
HOSTILE_LABEL = "<img/src=x/onerror=window.pwned=1>"  # labels are typed without spaces
OK = f"id: fine\nnamespace: company.board\ntasks:\n  - {{id: say, type: {LOG}, message: hi}}\n"
BAD = f"""id: broken
namespace: company.board
tasks:
  - id: explode
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: '{HOSTILE}'
"""
MANY = f"id: many\nnamespace: company.pages\ntasks:\n  - {{id: say, type: {LOG}, message: hi}}\n"
NAP = """id: nap
namespace: company.bulk
tasks:
  - id: sleep
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
"""
FAILS = "id: fails\nnamespace: company.bulk\ntasks:\n  - {id: boom, type: io.kestra.plugin.core.execution.Fail}\n"
LABELLED = f"id: labelled\nnamespace: company.bulk\ntasks:\n  - {{id: say, type: {LOG}, message: hi}}\n"


def _create(server: Server, namespace: str, flow_id: str, labels: list[str] | None = None) -> str:
    r = server.client.post(f"/executions/{namespace}/{flow_id}", params={"labels": labels or []})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _ended(server: Server, ids: list[str]) -> list[dict[str, Any]]:
    return [server.wait_state(i, timeout=60) for i in ids]


@pytest.fixture(scope="module")
def board(server: Server) -> dict[str, list[str]]:
    for flow in (OK, BAD):
        server.deploy(flow)
    ok = [_create(server, "company.board", "fine") for _ in range(3)]
    bad = [_create(server, "company.board", "broken") for _ in range(2)]
    _ended(server, ok + bad)
    return {"ok": ok, "bad": bad}


def _histories(server: Server, execution_id: str) -> list[str]:
    return [h["state"] for h in server.client.get(f"/executions/{execution_id}").json()["state"]["histories"]]


def _hash_params(page: Any) -> dict[str, list[str]]:
    fragment = urlsplit(page.url).fragment
    return parse_qs(fragment.partition("?")[2])


def _rows(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("#executions-table tbody tr[data-execution]",
                                          "rows => rows.map((r) => r.dataset.execution)"))


def _wait_rows(page: Any, expected: set[str]) -> None:
    page.wait_for_function("""(ids) => {
        const rows = document.querySelectorAll('#executions-table tbody tr[data-execution]');
        const shown = [...rows].map((r) => r.dataset.execution);
        return shown.length === ids.length && ids.every((i) => shown.includes(i));
    }""", arg=sorted(expected))


def test_the_dashboard_is_home_with_counts_charts_and_failures(page: Any, server: Server,
                                                                board: dict[str, list[str]]) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url + "/ui/")
    page.wait_for_url("**/#/dashboard**")
    assert page.locator('nav a[data-nav="dashboard"]').get_attribute("class") == "active"
    page.fill("#dash-namespace", "company.board")
    page.wait_for_url("**namespace=company.board**")
    page.wait_for_selector('#dash-counts a[data-state="FAILED"]:has-text("2")')
    assert page.inner_text('#dash-counts a[data-state="SUCCESS"] strong') == "3"
    assert _hash_params(page)["namespace"] == ["company.board"] and _hash_params(page)["range"] == ["7d"]
    # both charts drew something: pixels that are not transparent on each canvas
    for canvas in ("#chart-executions", "#chart-durations"):
        painted = page.eval_on_selector(canvas, """c => {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < data.length; i += 4) if (data[i]) n++; return n; }""")
        assert painted > 500, canvas
    # failures: the hostile error message is shown as text, never as markup
    page.wait_for_selector("#dash-failures tbody tr[data-execution]")
    assert set(page.eval_on_selector_all("#dash-failures tbody tr[data-execution]",
                                         "rows => rows.map((r) => r.dataset.execution)")) == set(board["bad"])
    assert HOSTILE in page.inner_text("#dash-failures tbody")
    assert page.locator("#dash-failures img").count() == 0 and page.evaluate("window.pwned") is None
    assert page.inner_text("#dash-top-failing").startswith("company.board.broken")
    shot(page, "dash-1-dashboard")
    # no request leaves the server: the chart library is bundled, no CDN
    outside = [u for u in requests if not u.startswith(server.url)]
    assert requests and outside == [], outside
    # a count opens the executions list filtered the same way
    page.click('#dash-counts a[data-state="FAILED"]')
    page.wait_for_url("**/#/executions?**")
    _wait_rows(page, set(board["bad"]))
    assert page.input_value("#filter-state") == "FAILED" and page.input_value("#filter-namespace") == "company.board"


def test_the_dashboard_range_and_a_shared_link(page: Any, server: Server, board: dict[str, list[str]]) -> None:
    page.goto(server.url + "/ui/#/dashboard?range=24h&namespace=company.board&flowId=fine")
    page.wait_for_selector('#dash-counts a[data-state="SUCCESS"]:has-text("3")')
    assert page.input_value("#filter-range") == "24h" and page.input_value("#dash-flow") == "fine"
    assert page.locator('#dash-counts a[data-state="FAILED"]').count() == 0
    assert "by hour" in page.inner_text("#dash-note")
    page.select_option("#filter-range", "custom")
    page.fill("#filter-start", "2020-01-01T00:00")
    page.fill("#filter-end", "2020-01-03T00:00")
    page.dispatch_event("#filter-end", "change")
    page.wait_for_selector('#dash-counts:has-text("No execution in this range")')
    params = _hash_params(page)
    assert params["startDate"][0].startswith("2020-01-0") and "range" not in params
    # back to the last 24 hours; a new execution shows after Refresh
    page.select_option("#filter-range", "24h")
    page.wait_for_selector('#dash-counts a[data-state="SUCCESS"]:has-text("3")')
    _ended(server, [_create(server, "company.board", "fine")])
    page.click("#dash-refresh")
    page.wait_for_selector('#dash-counts a[data-state="SUCCESS"]:has-text("4")')


def test_the_dashboard_counts_in_the_browsers_time_zone(browser: Any, server: Server,
                                                        board: dict[str, list[str]]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="Asia/Kolkata")
    try:
        pg = context.new_page()
        asked: list[str] = []
        pg.on("request", lambda r: asked.append(r.url) if "/stats/" in r.url else None)
        pg.goto(server.url + "/ui/#/dashboard?range=7d&namespace=company.board")
        pg.wait_for_selector('#dash-counts a[data-state="FAILED"]')
        assert "by day (UTC+05:30)" in pg.inner_text("#dash-note")
        assert asked and all("utcOffset=330" in u for u in asked), asked
        today = pg.evaluate("new Date().toLocaleDateString('en-CA')")  # YYYY-MM-DD, the browser's day
        d = server.client.get("/stats/executions/dashboard", params={"namespace": "company.board", "utcOffset": 330,
                                                                      "groupBy": "day"}).json()
        assert d["results"][-1]["startDate"] == f"{today}T00:00:00+05:30"
    finally:
        context.close()


def test_every_filter_is_in_the_hash_and_a_shared_link_restores_it(page: Any, server: Server,
                                                                   board: dict[str, list[str]]) -> None:
    server.deploy(LABELLED)
    tagged = _create(server, "company.bulk", "labelled", ["team:data"])
    other = _create(server, "company.bulk", "labelled", ["team:ops"])
    _ended(server, [tagged, other])
    page.goto(server.url + "/ui/#/executions")
    page.fill("#filter-namespace", "company.bulk")
    page.fill("#filter-flow", "labelled")
    _wait_rows(page, {tagged, other})
    page.fill("#filter-labels", "team:data")
    _wait_rows(page, {tagged})
    page.select_option("#filter-state", "SUCCESS")
    page.select_option("#filter-range", "1h")
    page.fill("#filter-q", tagged[:8])
    page.wait_for_url(f"**q={tagged[:8]}**")  # written when the search is sent
    _wait_rows(page, {tagged})
    params = _hash_params(page)
    assert params == {"q": [tagged[:8]], "namespace": ["company.bulk"], "flowId": ["labelled"], "state": ["SUCCESS"],
                      "labels": ["team:data"], "range": ["1h"]}, params
    shared = page.url
    # the link, opened elsewhere, shows the same filtered view
    other_page = page.context.new_page()
    other_page.goto(shared)
    _wait_rows(other_page, {tagged})
    assert other_page.input_value("#filter-labels") == "team:data" and other_page.input_value("#filter-range") == "1h"
    assert other_page.input_value("#filter-state") == "SUCCESS" and other_page.input_value("#filter-flow") == "labelled"
    other_page.close()
    # a range that holds none of them, then a bad label filter is marked, not sent
    page.select_option("#filter-range", "custom")
    page.fill("#filter-start", "2020-01-01T00:00")
    page.fill("#filter-end", "2020-01-02T00:00")
    page.dispatch_event("#filter-end", "change")
    page.wait_for_selector("#executions-table td.empty")
    assert _hash_params(page)["endDate"][0].startswith("2020-01-0")
    page.select_option("#filter-range", "")
    page.fill("#filter-labels", "nocolon")
    page.wait_for_selector("#filter-labels.invalid")


def test_paging_and_selecting_all_matching_then_deleting_by_query(page: Any, server: Server) -> None:
    server.deploy(MANY)
    ids = _ended(server, [_create(server, "company.pages", "many") for _ in range(27)])
    page.goto(server.url + "/ui/#/executions?namespace=company.pages")
    page.wait_for_selector("#executions-total:has-text('27 execution(s)')")
    first = _rows(page)
    assert len(first) == 25 and page.inner_text("#page-info") == "page 1 of 2"
    page.click("#page-next")
    page.wait_for_selector("#page-info:has-text('page 2 of 2')")
    assert len(_rows(page)) == 2 and _hash_params(page)["page"] == ["2"]
    page.click("#page-prev")
    page.wait_for_selector("#page-info:has-text('page 1 of 2')")
    # a link to a page past the end shows the last page
    page.goto(server.url + "/ui/#/executions?namespace=company.pages&page=9")
    page.wait_for_selector("#page-info:has-text('page 2 of 2')")
    assert _hash_params(page)["page"] == ["2"]
    page.goto(server.url + "/ui/#/executions?namespace=company.pages")
    page.wait_for_selector("#page-info:has-text('page 1 of 2')")
    # select the page, then every matching execution
    page.check("#select-page")
    page.wait_for_selector("#selection-info:has-text('25 selected')")
    page.click("#select-all-matching")
    page.wait_for_selector("#selection-info:has-text('27 selected')")
    page.click("#bulk-delete")
    dialog = page.locator("#bulk-dialog")
    assert "Delete 27 executions?" in dialog.inner_text()
    assert page.evaluate("document.activeElement.id") == "bulk-confirm"
    ui.SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ui.SHOTS / "dash-2-bulk-confirm.png"))  # the viewport: the modal's backdrop covers it
    page.keyboard.press("Escape")  # cancelled: nothing deleted
    dialog.wait_for(state="detached")
    assert len(server.executions(namespace="company.pages")) == 27
    page.click("#bulk-delete")
    page.keyboard.press("Shift+Tab")  # to Cancel and back: the dialog keeps the focus
    assert page.evaluate("document.activeElement.id") == "bulk-cancel"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "bulk-confirm"
    page.keyboard.press("Enter")
    page.wait_for_selector("#toast:has-text('27 execution(s) deleted')")
    page.wait_for_selector("#executions-table td.empty")
    assert server.executions(namespace="company.pages") == [] and len(ids) == 27


def test_killing_two_running_executions_from_their_checkboxes(page: Any, server: Server) -> None:
    server.deploy(NAP)
    naps = [_create(server, "company.bulk", "nap") for _ in range(2)]
    for n in naps:
        server.wait_task_running(n, "sleep", timeout=60)
    page.goto(server.url + "/ui/#/executions?namespace=company.bulk&flowId=nap")
    _wait_rows(page, set(naps))
    for n in naps:
        page.check(f'tr[data-execution="{n}"] input[type=checkbox]')
    page.wait_for_selector("#selection-info:has-text('2 selected')")
    page.click("#bulk-kill")
    assert "Kill 2 executions?" in page.inner_text("#bulk-dialog")
    page.keyboard.press("Enter")
    page.wait_for_selector("#toast:has-text('2 execution(s) killed')")
    assert {server.wait_state(n, timeout=60)["state"]["current"] for n in naps} == {"KILLED"}


def test_restarting_and_labelling_the_selected_executions(page: Any, server: Server) -> None:
    server.deploy(FAILS)
    failed = [e["id"] for e in _ended(server, [_create(server, "company.bulk", "fails") for _ in range(2)])]
    page.goto(server.url + "/ui/#/executions?namespace=company.bulk&flowId=fails")
    _wait_rows(page, set(failed))
    page.check("#select-page")
    page.click("#bulk-restart")
    assert "Restart 2 executions?" in page.inner_text("#bulk-dialog")
    page.keyboard.press("Enter")
    page.wait_for_selector("#toast:has-text('2 execution(s) restarted')")
    for f in failed:
        deadline = time.monotonic() + 60
        while "RESTARTED" not in _histories(server, f):
            assert time.monotonic() < deadline
            time.sleep(0.1)  # poll interval of a deadline-bounded wait on a positive signal
        server.wait_state(f, timeout=60)
    # labels: the dialog asks for them, refuses a malformed one, and adds them on Enter
    page.wait_for_selector("#selection-info:has-text('No execution selected')")
    page.check("#select-page")
    page.click("#bulk-labels")
    assert "Add labels to 2 executions?" in page.inner_text("#bulk-dialog")
    assert page.evaluate("document.activeElement.id") == "bulk-labels-input"
    page.keyboard.type("nocolon")
    page.keyboard.press("Enter")
    page.wait_for_selector("#bulk-problem:has-text('key:value')")
    page.fill("#bulk-labels-input", f"team:data note:{HOSTILE_LABEL}")
    page.keyboard.press("Enter")
    page.wait_for_selector("#toast:has-text('2 execution(s) labelled')")
    for f in failed:
        labels = {lb["key"]: lb["value"] for lb in server.client.get(f"/executions/{f}").json()["labels"]}
        assert labels["team"] == "data" and labels["note"] == HOSTILE_LABEL
    page.wait_for_selector(f'#executions-table td:has-text("note:{HOSTILE_LABEL}")')
    assert page.locator("#executions-table img").count() == 0 and page.evaluate("window.pwned") is None
    shot(page, "dash-3-executions-filtered")
    assert re.search(r"flowId=fails", page.url)
