"""The execution page in a real headless Chromium against a real server: a loop's runs counted by
state and grouped in the Gantt, every attempt of a retried and restarted task drawn, outputs with
file preview and download, the replay / change status / labels / delete dialogs used by keyboard,
and the links between parent and child executions.

The server and page fixtures are test_ui.py's, the browser conftest.py's; screenshots go to
tests/e2e/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e import test_ui as ui
from tests.integration.server.harness import Server

server, page = ui.server, ui.page  # test_ui.py's fixtures, found by pytest under these names
shot = ui.shot

LOOP = """id: loop
namespace: company.exec
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, 250) }}"
    tasks:
      - id: check
        type: io.kestra.plugin.core.execution.Fail
        condition: "{{ taskrun.value == '250' }}"
        errorMessage: "value {{ taskrun.value }} is refused"
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: one value failed
finally:
  - id: release
    type: io.kestra.plugin.core.log.Log
    message: released
afterExecution:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: after
"""

FLAKY = """id: flaky
namespace: company.exec
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: not yet
    retry: {type: constant, interval: PT0.3S, maxAttempts: 3}
"""

FILES = """id: files
namespace: company.exec
tasks:
  - id: csv
    type: io.kestra.plugin.core.storage.Write
    content: "city,people\\nLyon,522000\\n\\"Saint-Étienne, Loire\\",171000\\n"
    extension: .csv
  - id: json
    type: io.kestra.plugin.core.storage.Write
    content: '{"name": "<b>bold</b>", "tags": ["a", "b"]}'
    extension: .json
  - id: picture
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    outputFiles: [pixel.png]
    commands:
      - echo PIXEL | base64 -d > pixel.png
  - id: html
    type: io.kestra.plugin.core.debug.Return
    format: "<img src=x onerror=\\"document.title='owned'\\">"
""".replace("PIXEL", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"  # a 1×1 PNG
                     "hQGAhKmMIQAAAABJRU5ErkJggg==")

TWO_STEPS = """id: steps
namespace: company.exec
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.first.value }} and two"
"""

CHILD = """id: child
namespace: company.exec
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: child
"""

PARENT = """id: parent
namespace: company.exec
tasks:
  - id: lines
    type: io.kestra.plugin.core.storage.Write
    content: "one\\ntwo\\n"
    extension: .txt
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.exec
    flowId: child
    wait: true
  - id: split
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ outputs.lines.uri }}"
    batch: {rows: 1}
    namespace: company.exec
    flowId: child
    wait: true
"""


def open_execution(page: Any, server: Server, execution_id: str) -> None:
    page.goto(server.url + f"/ui/#/executions/{execution_id}")
    page.wait_for_selector("#execution-state[data-state]")


def open_succeeded(page: Any, server: Server, flow: str, flow_id: str, tab: str) -> dict[str, Any]:
    """Run `flow` (of namespace company.exec) to SUCCESS and open its execution's page on `tab`."""
    server.deploy(flow)
    exe = server.run("company.exec", flow_id)
    assert exe["state"]["current"] == "SUCCESS", exe
    open_execution(page, server, exe["id"])
    page.click(f"#tab-button-{tab}")
    return exe


def counts(page: Any, task_id: str) -> dict[str, int]:
    """The state counts written on a topology node: {state: runs}."""
    chips = page.locator(f'.node[data-task-id="{task_id}"] .count')
    return {c.get_attribute("data-state"): int(c.get_attribute("data-count")) for c in chips.all()}


def test_a_loop_of_250_runs_with_one_failure_is_counted_by_state_and_grouped_in_the_gantt(
        page: Any, server: Server) -> None:
    server.deploy(LOOP)
    exe = server.run("company.exec", "loop")
    assert exe["state"]["current"] == "FAILED"
    open_execution(page, server, exe["id"])

    node = page.wait_for_selector('.node[data-task-id="check"]')
    assert counts(page, "check") == {"FAILED": 1, "SUCCESS": 249}  # not "FAILED ×250"
    assert "×" not in node.inner_text()
    # edges from the tasks to the blocks run after them, marked where the block ran
    assert page.get_attribute('.block-edge[data-to="errors"]', "data-taken") == "true"
    assert page.get_attribute('.block-edge[data-to="finally"]', "data-taken") == "true"
    assert page.locator('.block-edge[data-to="afterExecution"]').count() == 1
    assert "on failure" in page.inner_text('.block-edge[data-to="errors"]')

    # each value's children, listed when asked for, 100 at a time
    page.focus('.iterations-toggle[data-task-id="each"]')
    assert page.inner_text('.iterations-toggle[data-task-id="each"]').startswith("250 values")
    page.keyboard.press("Enter")
    page.wait_for_selector('.iterations li[data-value="1"]')
    assert page.locator(".iterations li").count() == 100
    page.click(".iterations .more")
    page.click(".iterations .more")
    failed = page.wait_for_selector('.iterations li[data-value="250"]')
    assert failed.get_attribute("data-state") == "FAILED"
    assert page.locator('.iterations li[data-state="FAILED"]').count() == 1

    # the Gantt: the ForEach collapsed (250 children), its rows listed on Enter, drawn virtually
    each = page.wait_for_selector('#gantt .gantt-row[data-task-id="each"]')
    assert each.get_attribute("aria-expanded") == "false"
    assert page.locator('#gantt .gantt-row[data-task-id="check"]').count() == 0
    assert page.locator("#gantt .gantt-row").count() == 4  # each, alert, release, report
    assert "250" in page.inner_text('#gantt .gantt-row[data-task-id="each"] .count')
    shot(page, "exec-1-loop-topology-gantt")
    page.focus('#gantt .gantt-row[data-task-id="each"] button.toggle')
    page.keyboard.press("Enter")
    page.wait_for_selector('#gantt .gantt-row[data-task-id="check"]')
    drawn = page.locator("#gantt .gantt-row").count()
    assert 10 < drawn < 80, f"{drawn} rows in the DOM: only those in view are drawn, not 254"
    assert page.locator('#gantt button.toggle[data-group]').evaluate("b => b === document.activeElement")
    page.eval_on_selector("#gantt", "s => { s.scrollTop = s.scrollHeight; }")
    page.wait_for_selector('#gantt .gantt-row[data-task-id="report"]')
    last = page.wait_for_selector('#gantt .gantt-row[data-task-id="check"][data-state="FAILED"]')
    assert "check [250]" in last.inner_text()
    shot(page, "exec-2-loop-expanded")
    page.eval_on_selector("#gantt", "s => { s.scrollTop = 0; }")
    page.click('#gantt .gantt-row[data-task-id="each"] button.toggle')
    page.wait_for_selector('#gantt .gantt-row[data-task-id="check"]', state="detached")


def test_every_attempt_of_a_retried_then_restarted_task_is_its_own_segment(page: Any, server: Server) -> None:
    server.deploy(FLAKY)
    exe = server.run("company.exec", "flaky")
    assert exe["state"]["current"] == "FAILED"
    open_execution(page, server, exe["id"])
    row = '#gantt .gantt-row[data-task-id="flaky"]'
    page.wait_for_selector(row)
    assert page.locator(f"{row} .bar").count() == 3
    assert [b.get_attribute("data-attempt") for b in page.locator(f"{row} .bar").all()] == ["1", "2", "3"]
    assert page.locator(f"{row} .wait").count() == 1  # the retry delays between them
    assert "3 attempts" in page.inner_text(f"{row} .dur")
    assert page.locator(f"{row} .restart-mark").count() == 0
    widths = page.eval_on_selector_all(f"{row} .bar", "bars => bars.map((b) => parseFloat(b.style.width))")
    assert all(w < 60 for w in widths), f"each attempt is drawn over its own time, not the whole run: {widths}"

    page.click("#restart")  # the same task run gets new attempts: drawn after the first three
    page.wait_for_selector(f"{row} .bar[data-attempt='4']")
    done = server.wait_state(exe["id"])
    attempts = len(next(r for r in done["taskRunList"] if r["taskId"] == "flaky")["attempts"])
    assert attempts > 3
    page.wait_for_selector(f"{row} .bar[data-attempt='{attempts}']")
    page.wait_for_selector('#execution-state[data-state="FAILED"]')
    assert page.locator(f"{row} .bar").count() == attempts
    assert page.locator(f"{row} .restart-mark").count() == 1  # the restart marked, the retries not
    shot(page, "exec-3-attempts")


def test_output_files_are_previewed_and_downloaded_and_no_output_text_is_markup(
        page: Any, server: Server, tmp_path: Path) -> None:
    open_succeeded(page, server, FILES, "files", "outputs")
    csv = page.wait_for_selector('.out-block[data-task-id="csv"] .file-ref')
    assert csv.inner_text().startswith("csv.csv")

    page.focus('.out-block[data-task-id="csv"] button.preview-file')
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview-dialog[open] .preview-table")
    assert page.locator("#preview-close").evaluate("b => b === document.activeElement")
    cells = page.locator("#preview-dialog .preview-table td").all_inner_texts()
    assert cells == ["Lyon", "522000", "Saint-Étienne, Loire", "171000"]
    assert page.locator("#preview-dialog .preview-table th").all_text_contents() == ["city", "people"]
    page.wait_for_selector("#preview-size:not(:empty)")
    shot(page, "exec-4-file-preview")
    page.keyboard.press("Escape")
    page.wait_for_selector("#preview-dialog", state="detached")

    page.click('.out-block[data-task-id="json"] button.preview-file')
    text = page.wait_for_selector("#preview-dialog[open] pre.preview-text").inner_text()
    assert '"name": "<b>bold</b>"' in text and '"tags": [\n    "a"' in text  # indented, shown as text
    page.keyboard.press("Escape")

    page.click('.out-block[data-task-id="picture"] button.preview-file')
    image = page.wait_for_selector("#preview-dialog[open] img.preview-image")
    page.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=image)
    page.keyboard.press("Escape")
    page.wait_for_selector("#preview-dialog", state="detached")

    with page.expect_download() as download:
        page.click('.out-block[data-task-id="csv"] a.download-file')
    saved = tmp_path / "got.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "csv.csv"
    assert saved.read_text().startswith("city,people\nLyon,522000\n")

    # a task output that looks like HTML is shown as text, and nothing it carries runs
    html = page.inner_text('.out-block[data-task-id="html"] .out-scalar')
    assert "<img src=x onerror=" in html
    assert page.locator("#outputs img").count() == 0
    assert page.title() != "owned"


def test_labels_status_replay_and_delete_each_ask_first_and_work_by_keyboard(page: Any, server: Server) -> None:
    server.deploy(TWO_STEPS)
    exe = server.run("company.exec", "steps")
    open_execution(page, server, exe["id"])
    page.wait_for_selector('#execution-state[data-state="SUCCESS"]')

    # Labels: the first field has the focus; Esc closes with nothing saved
    page.focus("#edit-labels")
    page.keyboard.press("Enter")
    page.wait_for_selector("#labels-dialog[open]")
    page.keyboard.type("nothing")
    page.keyboard.press("Escape")
    page.wait_for_selector("#labels-dialog", state="detached")
    page.focus("#edit-labels")
    page.keyboard.press("Enter")
    page.wait_for_selector("#labels-dialog[open]")
    assert page.locator(".label-key").evaluate("el => el === document.activeElement")
    page.keyboard.type("team")
    page.keyboard.press("Tab")
    page.keyboard.type("<b>data</b>")
    shot(page, "exec-5-labels-dialog")
    page.keyboard.press("Enter")
    page.wait_for_selector("#labels-dialog", state="detached")
    page.wait_for_selector('#execution-labels .label-chip:text-is("team:<b>data</b>")')
    labels = server.client.get(f"/executions/{exe['id']}").json()["labels"]
    assert {"key": "team", "value": "<b>data</b>"} in labels
    assert any(lb["key"] == "system.correlationId" for lb in labels)  # Lanner's own label kept
    assert page.locator("#execution-labels b").count() == 0

    # a refused change shows the server's reason in the dialog, which stays open
    page.click("#edit-labels")
    page.fill(".label-row:last-child .label-key", "system.mine")
    page.keyboard.press("Enter")
    assert "system label" in page.wait_for_selector("#labels-dialog-error:not(:empty)").inner_text()
    page.keyboard.press("Escape")

    # Change status
    page.focus("#change-status")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status-dialog[open]")
    assert page.locator("#status-to").evaluate("el => el === document.activeElement")
    page.select_option("#status-to", "WARNING")
    page.keyboard.press("Enter")
    page.wait_for_selector('#execution-state[data-state="WARNING"]')
    assert server.client.get(f"/executions/{exe['id']}").json()["state"]["current"] == "WARNING"

    # Replay from the second task: a new execution, the first task's run copied
    page.focus("#replay")
    page.keyboard.press("Enter")
    page.wait_for_selector("#replay-dialog[open]")
    options = page.locator("#replay-from option").all_inner_texts()
    assert options == ["The whole execution", "From first (SUCCESS)", "From second (SUCCESS)"]
    page.select_option("#replay-from", label="From second (SUCCESS)")
    page.keyboard.press("Enter")
    page.wait_for_function("id => !location.hash.endsWith(id)", arg=exe["id"])
    fresh_id = page.evaluate("() => location.hash.split('/').pop()")
    page.wait_for_selector('#execution-state[data-state="SUCCESS"]')
    assert page.inner_text('.meta [data-meta="original"] a') == exe["id"]
    fresh = server.client.get(f"/executions/{fresh_id}").json()
    assert {r["taskId"]: r["outputs"]["value"] for r in fresh["taskRunList"]} == {"first": "one",
                                                                                  "second": "one and two"}

    # Delete: Cancel has the focus (Enter on it deletes nothing), Tab to Delete, Enter deletes
    page.focus("#delete-execution")
    page.keyboard.press("Enter")
    page.wait_for_selector("#delete-dialog[open]")
    assert fresh_id in page.inner_text("#delete-dialog")
    assert page.locator("#delete-dialog-cancel").evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    page.wait_for_selector("#delete-dialog", state="detached")
    assert server.client.get(f"/executions/{fresh_id}").status_code == 200
    page.focus("#delete-execution")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    shot(page, "exec-6-delete-dialog")
    page.keyboard.press("Enter")
    page.wait_for_url("**/#/executions")
    assert server.client.get(f"/executions/{fresh_id}").status_code == 404
    assert server.client.get(f"/executions/{exe['id']}").status_code == 200  # only the one asked for


def test_the_actions_on_an_ended_execution_are_disabled_while_it_runs(page: Any, server: Server) -> None:
    server.deploy(ui.SLOW)
    exe = server.run("company.ui", "slow", wait=False)
    open_execution(page, server, exe["id"])
    page.wait_for_selector('.node[data-task-id="nap"][data-state="RUNNING"]')
    for button in ("#replay", "#change-status", "#edit-labels", "#delete-execution"):
        assert page.is_disabled(button), button
    assert page.inner_text('.meta [data-meta="ended"]').endswith("—")
    page.click("#kill")
    page.wait_for_selector('#execution-state[data-state="KILLED"]')
    assert not page.is_disabled("#delete-execution")


def test_a_parent_lists_its_subflow_and_for_each_item_children_and_each_child_links_back(
        page: Any, server: Server) -> None:
    server.deploy(CHILD)
    server.deploy(PARENT)
    exe = server.run("company.exec", "parent")
    assert exe["state"]["current"] == "SUCCESS", exe
    open_execution(page, server, exe["id"])
    table = page.wait_for_selector("#child-executions")
    rows = page.locator("#child-executions tbody tr")
    assert rows.count() == 3, table.inner_text()  # one Subflow child, two ForEachItem batches
    assert "null" not in page.inner_text("#children")
    started_by = sorted(page.locator("#child-executions tbody td:nth-child(3)").all_inner_texts())
    assert started_by[0] == "call" and all(s.startswith("split") for s in started_by[1:]), started_by
    shot(page, "exec-7-children")
    child_id = page.locator("#child-executions tbody tr").first.get_attribute("data-execution")
    page.click(f'#child-executions a:text-is("{child_id}")')
    page.wait_for_selector(f'#parent-execution a:text-is("{exe["id"]}")')
    assert "company.exec.parent" in page.inner_text("#parent-execution")
    assert page.locator("#child-executions").count() == 0
    page.click("#parent-execution a")
    page.wait_for_selector("#child-executions")
    assert page.evaluate("() => location.hash") == f"#/executions/{exe['id']}"

    # the Subflow's output `executionId` leads to the child too
    page.click("#tab-button-outputs")
    called = next(r for r in exe["taskRunList"] if r["taskId"] == "call")["outputs"]["executionId"]
    page.click(f'.out-block[data-task-id="call"] a.execution-link:text-is("{called}")')
    page.wait_for_selector(f'#parent-execution a:text-is("{exe["id"]}")')
    assert page.evaluate("() => location.hash") == f"#/executions/{called}"


NESTED = """id: nested
namespace: company.exec
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.ForEach
        values: [x, y]
        tasks:
          - id: say
            type: io.kestra.plugin.core.log.Log
            message: "{{ parent.taskrun.value }} {{ taskrun.value }}"
"""


def test_the_values_of_a_loop_in_a_loop_are_told_apart_by_the_outer_value(page: Any, server: Server) -> None:
    server.deploy(NESTED)
    exe = server.run("company.exec", "nested")
    open_execution(page, server, exe["id"])
    assert counts(page, "inner") == {"SUCCESS": 2}
    page.click('.iterations-toggle[data-task-id="inner"]')
    values = page.locator('.group[data-group-id="inner"] .iterations li .value').all_inner_texts()
    assert values == ["a › x", "a › y", "b › x", "b › y"]
    page.click('.iterations-toggle[data-task-id="outer"]')
    assert page.locator('.group[data-group-id="outer"] > .iterations-box li .value').all_inner_texts() == ["a", "b"]
    # the Gantt nests each run under its own parent run: outer > inner [a] > say [x]
    levels = page.eval_on_selector_all("#gantt .gantt-row", "rows => rows.map((r) => r.getAttribute('aria-level'))")
    names = page.locator("#gantt .gantt-row .name").all_inner_texts()
    assert list(zip(names, levels, strict=True))[:4] == [("outer", "1"), ("inner [a]", "2"), ("say [x]", "3"),
                                                         ("say [y]", "3")]


SLOW_CHILD = """id: slow_child
namespace: company.exec
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT4S
"""
WAITING_PARENT = """id: waiting_parent
namespace: company.exec
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.exec
    flowId: slow_child
    wait: true
"""


def test_a_running_parent_lists_its_child_as_soon_as_it_starts(page: Any, server: Server) -> None:
    server.deploy(SLOW_CHILD)
    server.deploy(WAITING_PARENT)
    exe = server.run("company.exec", "waiting_parent", wait=False)
    open_execution(page, server, exe["id"])
    page.wait_for_selector("#child-executions tbody tr")
    assert page.get_attribute("#execution-state", "data-state") == "RUNNING"  # listed while it waits
    assert page.inner_text("#child-executions tbody td:nth-child(3)") == "call"
    page.wait_for_selector('#execution-state[data-state="SUCCESS"]', timeout=30_000)
    page.wait_for_selector('#child-executions tbody tr .badge.SUCCESS')


def test_the_logs_tab_links_the_file_of_an_attempt_that_logs_to_a_file(page: Any, server: Server,
                                                                       tmp_path: Path) -> None:
    """`logToFile: true` keeps the lines out of the log store: the Logs tab says where they are."""
    open_succeeded(page, server, "id: to_file\nnamespace: company.exec\ntasks:\n  - {id: hello, type: "
                   "io.kestra.plugin.core.log.Log, message: Hello World!, logToFile: true}\n", "to_file", "logs")
    row = page.wait_for_selector("#log-files .log-file")
    assert row.inner_text().startswith("hello, attempt 1: its logs are kept in a file")
    with page.expect_download() as download:
        page.click("#log-files .log-file a")
    saved = tmp_path / "got.log"
    download.value.save_as(saved)
    assert saved.read_text().rstrip("\n").endswith(" INFO Hello World!")
