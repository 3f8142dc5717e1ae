"""The `…core.storage.*` tasks on internal storage, run through whole flows, with the outcomes
Kestra's own tests and docs give (file contents, URIs' extensions, counts, missing files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.model.execution import Execution, TaskRun
from lanner.model.state import StateType
from tests.conftest import files_of, logs_of, run_flow
from tests.integration.declared_plugins import register_mine
from tests.integration.refusals import refusal

S = "io.kestra.plugin.core.storage"
SH = "io.kestra.plugin.scripts.shell.Commands"


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def _runs(exe: Execution) -> dict[str, TaskRun]:
    return {r.task_id: r for r in exe.task_runs}


def test_write_stores_the_content_with_its_extension_and_concat_joins_files_with_the_separator(
        tmp_path: Path) -> None:
    exe = run_flow(f"""
id: concat
namespace: company.team
tasks:
  - id: first
    type: {S}.Write
    content: "Hello John"
    extension: .txt
  - id: second
    type: {S}.Write
    content: "Hello {{{{ flow.id }}}}"
  - id: joined
    type: {S}.Concat
    separator: "\\n"
    files:
      - "{{{{ outputs.first.uri }}}}"
      - "{{{{ outputs.second.uri }}}}"
  - id: from_json
    type: io.kestra.core.tasks.storages.Concat
    files: '["{{{{ outputs.second.uri }}}}", "{{{{ outputs.first.uri }}}}"]'
    extension: csv
""", tmp_path)
    runs = _runs(exe)
    files = files_of(tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert runs["first"].outputs["uri"].endswith(".txt")
    assert runs["second"].outputs["uri"].endswith(".tmp")
    assert files.get(runs["joined"].outputs["uri"]) == b"Hello John\nHello concat\n"
    assert runs["joined"].outputs["uri"].endswith(".tmp")
    assert files.get(runs["from_json"].outputs["uri"]) == b"Hello concatHello John"
    assert runs["from_json"].outputs["uri"].endswith(".csv")


def test_size_gives_the_byte_count_and_delete_removes_the_file_saying_whether_it_was_there(
        tmp_path: Path) -> None:
    exe = run_flow(f"""
id: sizes
namespace: company.team
tasks:
  - id: write
    type: {S}.Write
    content: "héllo"
  - id: size
    type: {S}.Size
    uri: "{{{{ outputs.write.uri }}}}"
  - id: delete
    type: {S}.Delete
    uri: "{{{{ outputs.write.uri }}}}"
  - id: again
    type: {S}.Delete
    uri: "{{{{ outputs.write.uri }}}}"
""", tmp_path)
    runs = _runs(exe)
    uri = runs["write"].outputs["uri"]
    assert exe.state.current is StateType.SUCCESS
    assert runs["size"].outputs == {"size": 6}
    assert runs["delete"].outputs == {"uri": uri, "deleted": True}
    assert runs["again"].outputs == {"uri": uri, "deleted": False}
    with pytest.raises(LannerError):
        files_of(tmp_path).get(uri)


def test_delete_of_a_missing_file_fails_with_error_on_missing_and_size_of_one_fails_saying_which(
        tmp_path: Path) -> None:
    exe = run_flow(f"""
id: missing
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: delete
        type: {S}.Delete
        uri: kestra:///company/team/missing/nothing.txt
        errorOnMissing: true
      - id: size
        type: {S}.Size
        uri: kestra:///company/team/missing/nothing.txt
""", tmp_path)
    assert exe.state.current is StateType.FAILED
    delete_errors = [e["message"] for e in logs_of(tmp_path, exe.id, "delete") if e["level"] == "ERROR"]
    size_errors = [e["message"] for e in logs_of(tmp_path, exe.id, "size") if e["level"] == "ERROR"]
    assert any("Unable to find file 'kestra:///company/team/missing/nothing.txt'" in m for m in delete_errors)
    assert any("no file at `kestra:///company/team/missing/nothing.txt`" in m for m in size_errors)


def test_split_by_bytes_rows_and_partitions_gives_kestra_s_file_counts_and_keeps_every_line(
        tmp_path: Path) -> None:
    # Kestra's SplitTest: 12288 lines of 20 characters split at 1KB give 251 files; 1000 lines by
    # 10 rows give 100; 1000 lines in 8 partitions give 8; the extension is the source file's.
    exe = run_flow(f"""
id: split
namespace: company.team
tasks:
  - id: lines
    type: {SH}
    commands:
      - "seq 0 12287 | awk '{{printf \\"%20s\\\\n\\", $1}}' > big.yml"
      - "seq 0 999 | awk '{{printf \\"%20s\\\\n\\", $1}}' > small.yml"
    outputFiles: ["*.yml"]
  - id: by_bytes
    type: {S}.Split
    from: "{{{{ outputs.lines.outputFiles['big.yml'] }}}}"
    bytes: 1KB
  - id: by_rows
    type: {S}.Split
    from: "{{{{ outputs.lines.outputFiles['small.yml'] }}}}"
    rows: 10
  - id: by_partitions
    type: {S}.Split
    from: "{{{{ outputs.lines.outputFiles['small.yml'] }}}}"
    partitions: "{{{{ 4 * 2 }}}}"
""", tmp_path)
    runs = _runs(exe)
    files = files_of(tmp_path)
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    big = files.get(runs["lines"].outputs["outputFiles"]["big.yml"])
    small = files.get(runs["lines"].outputs["outputFiles"]["small.yml"])
    by_bytes = runs["by_bytes"].outputs["uris"]
    assert len(by_bytes) == 251
    assert b"".join(files.get(u) for u in by_bytes) == big
    by_rows = runs["by_rows"].outputs["uris"]
    assert len(by_rows) == 100
    assert b"".join(files.get(u) for u in by_rows) == small
    parts = runs["by_partitions"].outputs["uris"]
    assert len(parts) == 8
    assert all(u.endswith(".yml") for u in by_bytes + by_rows + parts)
    assert sum(files.get(u).count(b"\n") for u in parts) == 1000
    assert files.get(parts[0]).splitlines()[:2] == small.splitlines()[0:9:8]


def test_split_by_regex_groups_lines_by_the_first_group_and_leaves_unmatched_lines_out(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: split_regex
namespace: company.team
tasks:
  - id: logs
    type: {S}.Write
    extension: .log
    content: "[INFO] a\\n[ERROR] b\\nno level\\n[INFO] c\\r\\n[WARN] d"
  - id: split
    type: {S}.Split
    from: "{{{{ outputs.logs.uri }}}}"
    regexPattern: "\\\\[(\\\\w+)\\\\]"
""", tmp_path)
    files = files_of(tmp_path)
    uris = _runs(exe)["split"].outputs["uris"]
    assert exe.state.current is StateType.SUCCESS
    assert [files.get(u) for u in uris] == [b"[INFO] a\n[INFO] c\n", b"[ERROR] b\n", b"[WARN] d\n"]


def test_split_takes_bytes_written_as_a_plain_number_of_bytes(tmp_path: Path) -> None:
    # Kestra reads `bytes: 4` as four bytes, as it reads `bytes: 4B`.
    exe = run_flow(f"""
id: split_number
namespace: company.team
tasks:
  - id: text
    type: {S}.Write
    content: "ab\\ncd\\nef\\n"
  - id: split
    type: {S}.Split
    from: "{{{{ outputs.text.uri }}}}"
    bytes: 4
""", tmp_path)
    files = files_of(tmp_path)
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    assert [files.get(u) for u in _runs(exe)["split"].outputs["uris"]] == [b"ab\ncd\n", b"ef\n"]


def test_split_is_refused_unless_exactly_one_way_to_split_is_given() -> None:
    split = "    type: io.kestra.plugin.core.storage.Split\n    from: kestra:///x.txt"
    both = refusal(split + "\n    rows: 10\n    bytes: 1KB")
    assert "f.yaml:" in both and "set exactly one of `bytes`, `partitions`, `rows` or `regexPattern`" in both
    assert "got `bytes`, `rows`" in both
    assert "(got none)" in refusal(split)


def test_reverse_writes_the_lines_last_first_with_the_source_extension(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: reverse
namespace: company.team
tasks:
  - id: numbers
    type: {S}.Write
    content: "1\\n2\\n3\\n"
    extension: .yml
  - id: reverse
    type: {S}.Reverse
    from: "{{{{ outputs.numbers.uri }}}}"
  - id: windows
    type: io.kestra.core.tasks.storages.Reverse
    from: "{{{{ outputs.numbers.uri }}}}"
    separator: "\\r\\n"
    charset: ISO-8859-1
""", tmp_path)
    runs = _runs(exe)
    files = files_of(tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert runs["reverse"].outputs["uri"].endswith(".yml")
    assert files.get(runs["reverse"].outputs["uri"]) == b"3\n2\n1\n"
    assert files.get(runs["windows"].outputs["uri"]) == b"3\r\n2\r\n1\r\n"


def test_purge_current_execution_files_deletes_every_file_of_the_execution_and_lists_them(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: purge
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - id: write
        type: {S}.Write
        content: "{{{{ taskrun.value }}}}"
  - id: state
    type: io.kestra.plugin.core.state.Set
    data: {{kept: yes}}
finally:
  - id: purge
    type: io.kestra.core.tasks.storages.PurgeExecution
  - id: nothing_left
    type: {S}.PurgeCurrentExecutionFiles
  - id: state_kept
    type: io.kestra.plugin.core.state.Get
""", tmp_path)
    runs = _runs(exe)
    written = sorted(r.outputs["uri"] for r in exe.task_runs if r.task_id == "write")
    assert exe.state.current is StateType.SUCCESS
    assert sorted(runs["purge"].outputs["uris"]) == written
    assert runs["nothing_left"].outputs == {"uris": []}
    assert runs["state_kept"].outputs["data"] == {"kept": "yes"}
    for uri in written:
        with pytest.raises(LannerError):
            files_of(tmp_path).get(uri)


def test_purge_options_kestra_documents_but_does_not_apply_are_refused() -> None:
    message = refusal("    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles\n    includeStates: true")
    assert "f.yaml:6:" in message and "includeStates" in message and "not supported by Lanner" in message


def test_local_files_writes_inputs_into_the_working_directory_and_stores_outputs_by_path(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: local_files
namespace: company.team
tasks:
  - id: source
    type: {S}.Write
    content: '{{"a": 1}}'
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: inputs
        type: io.kestra.core.tasks.storages.LocalFiles
        inputs:
          hello.txt: "Hello World"
          address.json: "{{{{ outputs.source.uri }}}}"
      - id: bash
        type: {SH}
        commands:
          - mkdir -p sub/dir
          - cat hello.txt address.json > sub/dir/both.txt
          - echo other > sub/other.txt
      - id: outputs
        type: {S}.LocalFiles
        outputs:
          - sub/**
""", tmp_path)
    runs = _runs(exe)
    uris = runs["outputs"].outputs["uris"]
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    assert sorted(uris) == ["sub/dir/both.txt", "sub/other.txt"]
    assert files_of(tmp_path).get(uris["sub/dir/both.txt"]) == b'Hello World{"a": 1}'
    assert runs["inputs"].outputs == {"uris": {}}
