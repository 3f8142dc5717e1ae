"""The namespaces pages in a real headless Chromium against a real server: the list nested by
parent with counts, a namespace's flows, its files (tree, new folder and file, the editor with
Ctrl+S and the unsaved-edits question, rename, upload, download, delete with a question), its KV
store (add and edit with a type and a TTL, delete with a question), path tricks refused with the
server's message in the page, every dialog used with Tab, Enter and Esc, and user data shown as
text, never as markup.

The server and page fixtures are test_ui.py's, the browser conftest.py's; screenshots go to
tests/e2e/screenshots/.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.e2e import test_ui as ui
from tests.integration.server.harness import Server

server, page = ui.server, ui.page  # test_ui.py's fixtures, found by pytest under these names
shot = ui.shot
LOG = "io.kestra.plugin.core.log.Log"
JSON = {"Content-Type": "application/json"}


def _ns(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def _flow(namespace: str, flow_id: str) -> str:
    return f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - {{id: t, type: {LOG}, message: hi}}\n"


def _upload(server: Server, namespace: str, path: str, data: bytes) -> None:
    r = server.client.post(f"/main/namespaces/{namespace}/files", params={"path": path},
                           files={"fileContent": ("f", data)})
    assert r.status_code == 200, r.text


def _file(server: Server, namespace: str, path: str) -> bytes | None:
    r = server.client.get(f"/main/namespaces/{namespace}/files", params={"path": path})
    return r.content if r.status_code == 200 else None


def _focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def _editor_text(page: Any) -> str:
    return str(page.eval_on_selector_all("#file-editor .cm-line", "ls => ls.map((l) => l.textContent).join('\\n')"))


def test_the_list_nests_namespaces_under_their_parents_with_what_each_holds(page: Any, server: Server) -> None:
    root = _ns("nslist")
    server.deploy(_flow(f"{root}.team", "alpha"))
    server.deploy(_flow(f"{root}.team", "beta"))
    _upload(server, f"{root}.scripts", "/a/run.py", b"print(1)\n")
    assert server.client.put(f"/main/namespaces/{root}.team.data/kv/k", content="1", headers=JSON).status_code == 200

    page.goto(server.url + "/ui/#/namespaces")
    page.fill("#namespace-search", root)
    rows = page.locator("#namespaces-table tbody tr")
    rows.first.wait_for()
    assert rows.evaluate_all("rs => rs.map((r) => r.dataset.namespace)") == [
        root, f"{root}.scripts", f"{root}.team", f"{root}.team.data"]
    cells = page.locator(f'tr[data-namespace="{root}.team"] td').all_inner_texts()
    assert cells[1:] == ["2", "0", "0"] and cells[0].strip().endswith("team")
    assert page.locator(f'tr[data-namespace="{root}.scripts"] td').all_inner_texts()[1:] == ["0", "1", "0"]
    assert page.locator(f'tr[data-namespace="{root}.team.data"] td').all_inner_texts()[1:] == ["0", "0", "1"]
    indents = [page.locator(f'tr[data-namespace="{ns}"] td').first.evaluate("td => parseInt(td.style.paddingLeft)")
               for ns in (root, f"{root}.team", f"{root}.team.data")]
    assert indents[0] < indents[1] < indents[2], "each child is indented under its parent"
    shot(page, "ns-1-list")

    page.fill("#namespace-search", "zz-no-such-namespace")
    page.wait_for_selector("#namespaces-empty")
    page.fill("#namespace-search", root)
    page.click(f'tr[data-namespace="{root}.team"] a[title="{root}.team"]')
    page.wait_for_selector('#namespace-flows tr[data-flow="alpha"]')
    assert page.inner_text("#tab-flows") == "Flows (2)"
    page.click('#namespace-flows tr[data-flow="beta"] a')
    page.wait_for_url(f"**/#/flows/edit/{root}.team/beta")
    page.wait_for_selector("#flow-editor")


def test_files_are_created_edited_saved_renamed_downloaded_and_deleted(page: Any, server: Server,
                                                                       tmp_path: Path) -> None:
    ns = _ns("nsfiles")
    page.goto(server.url + f"/ui/#/namespaces/{ns}/files")
    page.wait_for_selector("#files-empty")

    # New folder, by keyboard: the path field has the focus, Enter creates.
    page.click("#new-folder")
    page.wait_for_selector("#new-folder-dialog[open]")
    assert _focused_id(page) == "new-folder-path"
    page.keyboard.type("scripts")
    shot(page, "ns-files-new-folder-dialog")
    page.keyboard.press("Enter")
    page.wait_for_selector('#file-tree [data-path="/scripts"]')
    assert server.client.get(f"/main/namespaces/{ns}/files/stats", params={"path": "/scripts"}).json()["type"] \
        == "Directory"

    # New file in the chosen folder: the path starts with it; Tab reaches Cancel then Create.
    page.click("#new-file")
    page.wait_for_selector("#new-file-dialog[open]")
    assert page.input_value("#new-file-path") == "/scripts/"
    page.keyboard.press("End")
    page.keyboard.type("main.py")
    page.keyboard.press("Tab")
    assert _focused_id(page) == "new-file-dialog-cancel"
    page.keyboard.press("Tab")
    assert _focused_id(page) == "new-file-dialog-submit"
    page.keyboard.press("Enter")
    page.wait_for_selector("#file-editor")
    assert _file(server, ns, "/scripts/main.py") == b""
    page.wait_for_selector('#tab-files:text-is("Files (1)")')  # the counts on the tabs follow the changes

    # Edit, Ctrl+S saves.
    page.click("#file-editor")
    page.keyboard.type("print('hello')")
    page.wait_for_selector('#file-state[data-dirty="true"]')
    page.keyboard.press("Control+s")
    page.wait_for_selector('#file-state[data-dirty="false"]')
    assert _file(server, ns, "/scripts/main.py") == b"print('hello')"
    shot(page, "ns-2-files-editor")

    # Unsaved edits: leaving for the KV tab asks; Esc (dismiss) stays with the edits kept.
    page.keyboard.type("\nx = 1")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("#tab-kv")
    page.wait_for_function("() => location.hash.endsWith('/files')")
    assert asked and "unsaved changes" in asked[0]
    assert "x = 1" in _editor_text(page)
    page.keyboard.press("Control+s")
    page.wait_for_selector('#file-state[data-dirty="false"]')
    assert _file(server, ns, "/scripts/main.py") == b"print('hello')\nx = 1"

    # Download the open file.
    with page.expect_download() as got:
        page.click("#download-file")
    saved = tmp_path / "main.py"
    got.value.save_as(saved)
    assert saved.read_bytes() == b"print('hello')\nx = 1"

    # Rename/move: Esc first leaves it where it is, then Enter moves it.
    page.click("#move-entry")
    page.wait_for_selector("#move-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#move-dialog", state="detached")
    assert _file(server, ns, "/scripts/main.py") is not None
    page.click("#move-entry")
    page.fill("#move-path", "/lib/tool.py")
    shot(page, "ns-files-move-dialog")
    page.keyboard.press("Enter")
    page.wait_for_selector('#file-tree [data-path="/lib/tool.py"]')
    assert _file(server, ns, "/scripts/main.py") is None
    assert _file(server, ns, "/lib/tool.py") == b"print('hello')\nx = 1"
    assert page.inner_text("#selected-path") == "/lib/tool.py"

    # Upload into the chosen folder.
    page.click('#file-tree [data-path="/scripts"]')
    local = tmp_path / "query.sql"
    local.write_text("select 1;\n")
    page.click("#upload-file")
    page.wait_for_selector("#upload-dialog[open]")
    assert page.input_value("#upload-folder") == "/scripts"
    page.set_input_files("#upload-input", str(local))
    shot(page, "ns-files-upload-dialog")
    page.click("#upload-dialog-submit")
    page.wait_for_selector('#file-tree [data-path="/scripts/query.sql"]')
    assert _file(server, ns, "/scripts/query.sql") == b"select 1;\n"

    # Opening another file with unsaved edits asks: Esc stays (edits kept), OK opens the other one.
    page.click('#file-tree [data-path="/lib/tool.py"]')
    page.wait_for_selector("#file-editor")
    page.click("#file-editor")
    page.keyboard.press("Control+End")
    page.keyboard.type("  # unsaved")
    answers = iter([False, True])
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    page.click('#file-tree [data-path="/scripts/query.sql"]')
    page.wait_for_function("() => document.querySelector('#selected-path')?.textContent === '/lib/tool.py'")
    assert "# unsaved" in _editor_text(page) and len(questions) == 1
    page.click('#file-tree [data-path="/scripts/query.sql"]')
    page.wait_for_selector("#selected-path:text-is('/scripts/query.sql')")
    page.wait_for_function("() => document.querySelector('#file-editor')?.textContent?.includes('select 1;')")
    page.remove_listener("dialog", answer)
    assert len(questions) == 2 and "unsaved changes" in questions[0]
    assert _file(server, ns, "/lib/tool.py") == b"print('hello')\nx = 1", "the dropped edits were never saved"

    # Delete with a question: Esc keeps the file, Enter (Delete has the focus) deletes it.
    page.click('#file-tree [data-path="/lib/tool.py"]')
    page.wait_for_selector("#selected-path:text-is('/lib/tool.py')")
    page.wait_for_selector("#file-editor")
    page.click("#delete-entry")
    page.wait_for_selector("#delete-dialog[open]")
    assert _focused_id(page) == "delete-dialog-submit"
    page.keyboard.press("Escape")
    page.wait_for_selector("#delete-dialog", state="detached")
    assert _file(server, ns, "/lib/tool.py") is not None
    page.click("#delete-entry")
    page.wait_for_selector("#delete-dialog[open]")
    shot(page, "ns-3-files-delete-question")
    page.keyboard.press("Enter")
    page.wait_for_selector('#file-tree [data-path="/lib/tool.py"]', state="detached")
    assert _file(server, ns, "/lib/tool.py") is None
    assert page.locator("#file-editor").count() == 0


def test_path_tricks_are_refused_with_the_servers_message_in_the_dialog(page: Any, server: Server) -> None:
    ns = _ns("nstrick")
    _upload(server, ns, "/keep.txt", b"keep")
    page.goto(server.url + f"/ui/#/namespaces/{ns}/files")
    page.wait_for_selector('#file-tree [data-path="/keep.txt"]')
    tricks = {"/../../evil.txt": "climb out", "a/../../evil.txt": "climb out", "/a\\b.txt": "backslash",
              "/" + "x" * 300 + ".txt": "longer than 255", "/_flows/f.yml": "reserved", "/tab\there.txt": "control"}
    for path, said in tricks.items():
        page.click("#new-file")
        page.wait_for_selector("#new-file-dialog[open]")
        page.fill("#new-file-path", path)
        page.keyboard.press("Enter")
        error = page.wait_for_selector("#new-file-dialog-error:not(:empty)")
        assert said in error.inner_text(), (path, error.inner_text())
        if said == "climb out":
            shot(page, "ns-4-files-path-refused")
        page.keyboard.press("Escape")
        page.wait_for_selector("#new-file-dialog", state="detached")
    page.click('#file-tree [data-path="/keep.txt"]')
    page.click("#move-entry")
    page.fill("#move-path", "/../outside.txt")
    page.keyboard.press("Enter")
    assert "climb out" in page.wait_for_selector("#move-dialog-error:not(:empty)").inner_text()
    page.keyboard.press("Escape")
    listed = [e["fileName"] for e in server.client.get(f"/main/namespaces/{ns}/files/directory").json()]
    assert listed == ["keep.txt"]
    assert not (server.home / "storage" / "evil.txt").exists()


def test_kv_keys_are_added_edited_and_deleted_with_types_and_ttl(page: Any, server: Server) -> None:
    ns = _ns("nskv")
    kv = f"/main/namespaces/{ns}/kv"
    page.goto(server.url + f"/ui/#/namespaces/{ns}/kv")
    page.wait_for_selector("#kv-empty")

    # Add by keyboard: key, Tab to the type, choose NUMBER, Tab to the value, then TTL, Enter saves.
    page.click("#add-kv")
    page.wait_for_selector("#kv-dialog[open]")
    assert _focused_id(page) == "kv-key"
    page.keyboard.type("retries")
    page.keyboard.press("Tab")
    assert _focused_id(page) == "kv-type"
    page.select_option("#kv-type", "NUMBER")
    page.keyboard.press("Tab")
    assert _focused_id(page) == "kv-value"
    page.keyboard.type("abc")
    page.keyboard.press("Tab")
    assert _focused_id(page) == "kv-ttl"
    page.keyboard.type("PT1H")
    shot(page, "ns-kv-add-dialog")
    page.keyboard.press("Enter")
    assert "not a number" in page.wait_for_selector("#kv-dialog-error:not(:empty)").inner_text()
    page.fill("#kv-value", "42")
    page.focus("#kv-ttl")
    page.keyboard.press("Enter")
    page.wait_for_selector('#kv-table tr[data-key="retries"]')
    assert server.client.get(f"{kv}/retries").json() == {"type": "NUMBER", "value": 42}
    page.wait_for_selector('#tab-kv:text-is("KV store (1)")')
    row = page.locator('#kv-table tr[data-key="retries"] td').all_inner_texts()
    assert row[1:3] == ["NUMBER", "42"] and row[4] != "never"

    # A date-like text chosen as a STRING stays a STRING; a JSON object is previewed on one line.
    for key, kv_type, value in (("day", "STRING", "2024-05-01"), ("conf", "JSON", '{"a": [1, 2]}'),
                                ("when", "DATE", "2024-05-01"), ("span", "DURATION", "PT5M"),
                                ("flag", "BOOLEAN", "true")):
        page.click("#add-kv")
        page.fill("#kv-key", key)
        page.select_option("#kv-type", kv_type)
        page.fill("#kv-value", value)
        page.fill("#kv-description", f"the {key}")
        page.click("#kv-dialog-submit")
        page.wait_for_selector(f'#kv-table tr[data-key="{key}"]')
        assert server.client.get(f"{kv}/{key}").json()["type"] == kv_type, key
    assert server.client.get(f"{kv}/day").json() == {"type": "STRING", "value": "2024-05-01"}
    conf = page.locator('#kv-table tr[data-key="conf"] td').all_inner_texts()
    assert conf[2] == '{ "a": [ 1, 2 ] }' and conf[3] == "the conf" and conf[4] == "never"
    shot(page, "ns-5-kv")

    # A key the server refuses: its rule shown in the dialog; Esc closes it, nothing stored.
    page.click("#add-kv")
    page.fill("#kv-value", "x")
    page.fill("#kv-key", "../escape")
    page.keyboard.press("Enter")
    assert "Key must start with an alphanumeric" in page.wait_for_selector("#kv-dialog-error:not(:empty)").inner_text()
    page.fill("#kv-key", "later")
    page.fill("#kv-ttl", "soon")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#kv-dialog-error')?.textContent?.includes('soon')")
    said = page.inner_text("#kv-dialog-error")
    assert "soon" in said and "duration" in said.lower(), said  # the server's refusal of the ttl header
    page.keyboard.press("Escape")
    page.wait_for_selector("#kv-dialog", state="detached")
    assert server.client.get(f"{kv}/later").status_code == 404

    # Edit: the form holds the stored type and value; the key cannot be renamed.
    page.click('#kv-table tr[data-key="retries"] .kv-edit')
    page.wait_for_selector("#kv-dialog[open]")
    assert page.input_value("#kv-type") == "NUMBER" and page.input_value("#kv-value") == "42"
    assert page.get_attribute("#kv-key", "readonly") is not None
    shot(page, "ns-kv-edit-dialog")
    page.fill("#kv-value", "7")
    page.focus("#kv-description")
    page.keyboard.press("Enter")
    page.wait_for_selector('#kv-table tr[data-key="retries"] td.kv-value:text-is("7")')
    assert server.client.get(f"{kv}/retries").json() == {"type": "NUMBER", "value": 7}

    # Delete with a question: Esc keeps it, Enter deletes it.
    page.click('#kv-table tr[data-key="flag"] .kv-delete')
    page.wait_for_selector("#kv-delete-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#kv-delete-dialog", state="detached")
    assert server.client.get(f"{kv}/flag").status_code == 200
    page.click('#kv-table tr[data-key="flag"] .kv-delete')
    page.wait_for_selector("#kv-delete-dialog[open]")
    shot(page, "ns-kv-delete-question")
    page.keyboard.press("Enter")
    page.wait_for_selector('#kv-table tr[data-key="flag"]', state="detached")
    assert server.client.get(f"{kv}/flag").status_code == 404


def test_file_names_kv_values_and_descriptions_are_shown_as_text_not_markup(page: Any, server: Server) -> None:
    ns = _ns("nsxss")
    evil = "<img src=x onerror=window.__pwned=1>"
    _upload(server, ns, f"/{evil}.txt", b"x")
    r = server.client.put(f"/main/namespaces/{ns}/kv/k", content=f'"{evil}"',
                          headers={**JSON, "description": "<script>window.__pwned=2</script>"})
    assert r.status_code == 200, r.text
    page.goto(server.url + f"/ui/#/namespaces/{ns}/files")
    entry = page.wait_for_selector("#file-tree .entry.file")
    assert evil in entry.inner_text()
    page.goto(server.url + f"/ui/#/namespaces/{ns}/kv")
    page.wait_for_selector('#kv-table tr[data-key="k"]')
    cells = page.locator('#kv-table tr[data-key="k"] td').all_inner_texts()
    assert cells[2] == evil and cells[3] == "<script>window.__pwned=2</script>"
    assert page.locator("#view img, #view script").count() == 0
    assert page.evaluate("window.__pwned") is None
