"""The flow editor in a real headless Chromium against a real server: CodeMirror completion from the
plugin schemas, Ctrl+S, the question before unsaved edits are lost, and no request leaving the server.

The server and page fixtures are test_ui.py's (imported, so both files share one way of starting a
server), the browser the session's (conftest.py); screenshots go to tests/e2e/screenshots/.
"""

from __future__ import annotations

from typing import Any

from tests.e2e import test_ui as ui
from tests.integration.server.harness import Server

server, page = ui.server, ui.page  # test_ui.py's fixtures, found by pytest under these names
shot = ui.shot

FLOW = """id: edited
namespace: company.editor
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def editor_text(page: Any) -> str:
    """The text in the editor, without the validation notes shown after faulty lines."""
    return str(page.eval_on_selector_all(".cm-line", """lines => lines.map((l) => {
        const copy = l.cloneNode(true);
        copy.querySelectorAll(".editor-error").forEach((n) => n.remove());
        return copy.textContent;
    }).join("\\n")"""))


def completions(page: Any) -> list[str]:
    """The labels of the open completion list, once it is open and accepts a choice.

    CodeMirror ignores Enter for 75 ms after the list opens (so that fast typing does not pick an
    option by accident): the wait after seeing the list is that delay, not a guess at speed.
    """
    page.wait_for_selector(".cm-tooltip-autocomplete .cm-completionLabel")
    page.wait_for_timeout(150)
    return list(page.locator(".cm-completionLabel").all_inner_texts())


def replace_text(page: Any, text: str) -> None:
    """Select everything in the editor and type `text` over it (no auto-indent: inserted as typed)."""
    page.click("#flow-editor")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def test_completion_offers_a_task_type_then_the_properties_of_that_type(page: Any, server: Server) -> None:
    server.client.get("/plugins", timeout=120)  # the server loads every plugin once: seconds on a busy host
    page.goto(server.url + "/ui/#/flows/new")
    page.wait_for_selector("#flow-editor")
    replace_text(page, "id: completed\nnamespace: company.editor\ntasks:\n"
                       "  - id: hello\n    type: io.kestra.plugin.core.log.")
    page.keyboard.type("Lo")
    assert completions(page)[0] == "io.kestra.plugin.core.log.Log"
    shot(page, "11-editor-complete-type")
    page.keyboard.press("Escape")  # Esc closes the list, the text stays as typed
    page.wait_for_selector(".cm-tooltip-autocomplete", state="detached")
    page.keyboard.press("Control+Space")
    assert completions(page)[0] == "io.kestra.plugin.core.log.Log"
    page.keyboard.press("Enter")
    assert "type: io.kestra.plugin.core.log.Log\n" in editor_text(page) + "\n"

    page.keyboard.insert_text("\n    mes")
    page.keyboard.press("Control+Space")
    labels = completions(page)
    assert labels[0] == "message"
    assert "id" not in labels and "type" not in labels, "keys already written are not offered again"
    shot(page, "12-editor-complete-property")
    page.keyboard.press("Enter")
    assert "    message: " in editor_text(page)


def open_deployed(page: Any, server: Server, flow: str, *changes: str) -> None:
    """Deploy `flow`, each of `changes` as a later revision, and open the editor on the latest."""
    saved = server.deploy(flow)
    for change in changes:
        server.client.put(f"/flows/{saved['namespace']}/{saved['id']}", content=change,
                          headers={"Content-Type": "application/x-yaml"}).raise_for_status()
    page.goto(server.url + f"/ui/#/flows/edit/{saved['namespace']}/{saved['id']}")
    page.wait_for_selector("#flow-revision")
    page.wait_for_selector("#valid-note")


def test_ctrl_s_saves_a_new_revision_from_inside_the_editor(page: Any, server: Server) -> None:
    open_deployed(page, server, FLOW.replace("id: edited", "id: saved_by_keys"))
    before = page.inner_text("#flow-revision")
    page.click(".cm-line >> nth=-1")
    page.keyboard.press("End")
    page.keyboard.insert_text("\n# saved with the keyboard")
    page.keyboard.press("Control+s")
    page.wait_for_selector(f'#flow-revision:not(:text-is("{before}"))')
    stored = server.client.get("/flows/company.editor/saved_by_keys").json()
    assert "# saved with the keyboard" in stored["source"]
    assert page.inner_text("#flow-revision") == f"revision {stored['revision']}"


def test_leaving_with_unsaved_edits_asks_and_staying_keeps_them(page: Any, server: Server) -> None:
    open_deployed(page, server, FLOW.replace("id: edited", "id: guarded"))
    page.click(".cm-line >> nth=-1")
    page.keyboard.press("End")
    page.keyboard.insert_text("\n# not saved yet")
    answers = [False, True]
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    page.focus('a[data-nav="flows"]')
    with page.expect_event("dialog"):
        page.keyboard.press("Enter")  # by keyboard: the question is the browser's confirm, Enter/Esc answer it
    page.wait_for_url("**/#/flows/edit/company.editor/guarded")
    assert asked == ["confirm"]
    assert "# not saved yet" in editor_text(page)

    page.click('a[data-nav="flows"]')
    page.wait_for_selector("#flows-table")
    assert asked == ["confirm", "confirm"]


def test_saved_edits_leave_without_a_question_but_closing_with_unsaved_ones_asks(page: Any, server: Server) -> None:
    open_deployed(page, server, FLOW.replace("id: edited", "id: closing"))
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.type), d.accept()))
    page.click(".cm-line >> nth=-1")
    page.keyboard.press("End")
    page.keyboard.insert_text("\n# saved")
    page.keyboard.press("Control+s")
    page.wait_for_selector('#flow-revision:text-is("revision 2")')
    page.click('a[data-nav="executions"]')
    page.wait_for_selector("#executions-table")
    assert asked == []

    page.go_back()
    page.wait_for_selector("#valid-note")
    page.click(".cm-line >> nth=-1")
    page.keyboard.insert_text("# unsaved")
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    assert asked == ["beforeunload"]


def test_the_editor_loads_nothing_from_outside_the_server(page: Any, server: Server) -> None:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    server.client.get("/plugins", timeout=120)
    page.goto(server.url + "/ui/#/flows/new")
    page.wait_for_selector("#valid-note")
    page.click(".cm-line >> nth=-1")
    page.keyboard.insert_text("  - ")
    page.keyboard.press("Control+Space")
    page.keyboard.press("Escape")
    shot(page, "13-editor-new-flow")
    outside = [u for u in urls if not u.startswith(server.url) and not u.startswith("data:")]
    assert any(u.endswith("/js/vendor/codemirror.bundle.js") for u in urls)
    assert outside == []


def test_a_revision_is_compared_with_the_editor_and_restored_by_keyboard(page: Any, server: Server) -> None:
    first = FLOW.replace("id: edited", "id: revised")
    open_deployed(page, server, first, first.replace("message: hi", "message: bye"))
    page.focus("#revisions-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#revisions-dialog[open]")
    assert page.locator("#revision-select").evaluate("el => el === document.activeElement")
    assert page.input_value("#revision-select") == "1"
    assert page.locator(".diff-removed").all_inner_texts() == ["-     message: hi"]
    assert page.locator(".diff-added").all_inner_texts() == ["+     message: bye"]
    shot(page, "14-editor-revision-diff")
    page.keyboard.press("Escape")
    page.wait_for_selector("#revisions-dialog", state="detached")

    page.click("#revisions-button")
    page.wait_for_selector("#revisions-dialog[open]")
    page.keyboard.press("Tab")  # the diff, then Close, then Restore
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.locator("#restore-revision").evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    page.wait_for_selector("#revisions-dialog", state="detached")
    assert "message: hi" in editor_text(page)
    page.keyboard.press("Control+s")
    page.wait_for_selector('#flow-revision:text-is("revision 3")')
    assert server.client.get("/flows/company.editor/revised").json()["source"] == first


def test_the_task_under_the_cursor_links_to_its_generated_documentation_page(page: Any, server: Server) -> None:
    server.client.get("/plugins", timeout=120)
    open_deployed(page, server, FLOW.replace("id: edited", "id: documented"))
    page.click(".cm-line >> nth=5")  # `message: hi` of the Log task
    link = page.wait_for_selector("#type-doc-link:not([hidden])")
    assert link.inner_text() == "Docs: Log"
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#plugin-properties")
    assert page.inner_text("#plugin-type") == "io.kestra.plugin.core.log.Log"
    message = page.locator('#plugin-properties tr[data-property="message"] td').all_inner_texts()
    assert message[0] == "message" and message[2] == "yes"
    assert "type: io.kestra.plugin.core.log.Log" in page.inner_text("#plugin-example")
    shot(page, "15-plugin-doc-page")
    assert page.inner_text("#plugin-outputs") == "This task records no outputs of its own."
    page.click('a[href="#/plugins"]')
    page.wait_for_selector('#plugin-list a[href="#/plugins/io.kestra.plugin.core.log.Log"]')
    page.click('#plugin-list a[href="#/plugins/io.kestra.plugin.core.debug.Return"]')
    page.wait_for_selector('#plugin-outputs tr[data-output="value"]')
    value = page.locator('#plugin-outputs tr[data-output="value"] td').all_inner_texts()
    assert value[:2] == ["value", "string"] and "format" in value[2]


def test_hovering_a_property_shows_its_documentation_with_a_link_to_the_type_page(page: Any, server: Server) -> None:
    server.client.get("/plugins", timeout=120)
    open_deployed(page, server, FLOW.replace("id: edited", "id: hovered"))
    page.hover('.cm-line >> nth=5 >> text="message"')
    doc = page.wait_for_selector(".cm-tooltip-hover .hover-doc")
    assert "message" in doc.inner_text() and "required" in doc.inner_text()
    shot(page, "16-editor-hover-doc")
    page.click('.hover-doc a[href="#/plugins/io.kestra.plugin.core.log.Log"]')
    page.wait_for_selector("#plugin-properties")


def test_hovering_a_task_type_lists_the_outputs_its_runs_record(page: Any, server: Server) -> None:
    server.client.get("/plugins", timeout=120)
    flow = FLOW.replace("id: edited", "id: hovered_type").replace("log.Log\n    message: hi",
                                                                  "debug.Return\n    format: hi")
    open_deployed(page, server, flow)
    line = page.locator(".cm-line").nth(4)  # `    type: io.kestra.plugin.core.debug.Return`
    line.wait_for()
    width = line.evaluate("l => l.getBoundingClientRect().width")
    text_end = line.evaluate("l => { const r = document.createRange(); r.selectNodeContents(l); "
                             "return r.getBoundingClientRect().right - l.getBoundingClientRect().left; }")
    line.hover(position={"x": min(width, text_end) - 20, "y": 5})  # over the value, not the key
    outputs = page.wait_for_selector(".cm-tooltip-hover .hover-doc .hover-outputs")
    assert outputs.inner_text() == "Outputs: value"


def test_the_topology_beside_the_editor_follows_the_text_being_typed(page: Any, server: Server) -> None:
    open_deployed(page, server, FLOW.replace("id: edited", "id: drawn"))
    page.wait_for_selector('#editor-topology .lane[data-block="tasks"] .node[data-task-id="hello"]')
    page.click(".cm-line >> nth=-1")
    page.keyboard.insert_text("finally:\n  - id: release\n    type: io.kestra.plugin.core.log.Log\n    message: bye\n")
    page.wait_for_selector('#editor-topology .lane[data-block="finally"] .node[data-task-id="release"]')
    shot(page, "17-editor-topology")
