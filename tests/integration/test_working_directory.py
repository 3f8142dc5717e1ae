"""WorkingDirectory: children share one folder; inputFiles before, outputFiles after, folder removed."""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import files_of, logs_of, run_flow

SH = "io.kestra.plugin.scripts.shell.Commands"


def test_children_share_one_folder_that_is_removed_afterwards(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: wd
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      greeting.txt: "hello {{{{ flow.id }}}}"
    outputFiles: ["*.out"]
    tasks:
      - id: write
        type: {SH}
        commands: ["cat greeting.txt > result.out", "echo first > first.txt", "pwd"]
      - id: read
        type: {SH}
        commands: ["cat first.txt", "echo '::{{\\"outputs\\": {{\\"dir\\": \\"'$(pwd)'\\"}}}}::'"]
      - id: where
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ workingDir }}}}"
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.wd.outputFiles['result.out'] }}}}"
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    shared = runs["where"].outputs["value"]
    assert runs["read"].outputs["vars"]["dir"] == shared
    assert [line["message"] for line in logs_of(tmp_path, exe.id, "read")][:1] == ["first"]
    uri = runs["after"].outputs["value"]
    assert files_of(tmp_path).get(uri) == b"hello wd"
    assert not Path(shared).exists()


def test_a_failing_child_stops_the_folder_s_later_children_and_the_folder_still_goes(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: wd
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - {{id: where, type: io.kestra.plugin.core.debug.Return, format: "{{{{ workingDir }}}}"}}
      - {{id: boom, type: {SH}, commands: ["exit 3"]}}
      - {{id: never, type: {SH}, commands: ["true"]}}
    finally:
      - {{id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}}
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.FAILED
    assert "never" not in runs and runs["fin"].current is StateType.SUCCESS
    assert not Path(runs["where"].outputs["value"]).exists()


def test_children_of_a_folder_in_a_foreach_see_the_loop_value_and_the_folder_s_run(tmp_path: Path) -> None:
    """Kestra gives a WorkingDirectory's children its run as `workerTaskrun` and its loop value as
    their own `taskrun.value`: a folder per ForEach value names its files after that value."""
    exe = run_flow(f"""
id: wd_each
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: wd
        type: io.kestra.plugin.core.flow.WorkingDirectory
        tasks:
          - id: write
            type: {SH}
            commands: ["echo '{{{{ taskrun.value }}}}' > '{{{{ taskrun.value }}}}.txt'", "cat *.txt"]
          - id: who
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ taskrun.value }}}} {{{{ workerTaskrun.value }}}} {{{{ workerTaskrun.id }}}}"
  - id: outside
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ workerTaskrun ?? 'none' }}}} {{{{ taskrun.value ?? 'none' }}}}"
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    folders = {r.value: r.id for r in exe.task_runs if r.task_id == "wd"}
    assert sorted(folders) == ["a", "b"]
    seen = sorted(r.outputs["value"] for r in exe.task_runs if r.task_id == "who")
    assert seen == sorted(f"{v} {v} {folders[v]}" for v in folders)
    assert sorted(line["message"] for line in logs_of(tmp_path, exe.id, "write")) == ["a", "b"]
    assert [r.outputs["value"] for r in exe.task_runs if r.task_id == "outside"] == ["none none"]


BUILD = "mkdir -p deps/sub; echo v1 > deps/lib.txt; echo x > deps/sub/more.txt; echo other > skip.txt; echo built"
CACHED = f"""
id: cached
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    cache:
      patterns: ["deps/**"]
      {{ttl}}
    tasks:
      - id: build
        type: {SH}
        commands:
          - "if [ -f deps/lib.txt ]; then echo kept $(cat deps/lib.txt); else {BUILD}; fi"
          - "{{extra}}"
"""


def _said(tmp_path: Path, exe_id: str) -> list[str]:
    return [line["message"] for line in logs_of(tmp_path, exe_id)]


def test_a_cache_keeps_matching_files_for_the_next_execution_of_the_flow(tmp_path: Path) -> None:
    first = run_flow(CACHED.format(ttl="ttl: PT1H", extra="true"), tmp_path)
    assert first.state.current is StateType.SUCCESS
    assert "built" in _said(tmp_path, first.id) and "Cache saved: 2 file(s)" in _said(tmp_path, first.id)
    second = run_flow(CACHED.format(ttl="ttl: PT1H", extra="ls skip.txt || echo no-skip"), tmp_path)
    said = _said(tmp_path, second.id)
    assert "Cache restored: 2 file(s)" in said and "kept v1" in said
    assert "no-skip" in said  # only what the patterns match is kept
    assert "Cache unchanged: the kept archive stays" in said


def test_a_changed_cached_file_is_archived_again_and_a_failed_run_keeps_the_old_archive(tmp_path: Path) -> None:
    run_flow(CACHED.format(ttl="", extra="true"), tmp_path)
    changed = run_flow(CACHED.format(ttl="", extra="echo v2 > deps/lib.txt"), tmp_path)
    assert "Cache saved: 2 file(s)" in _said(tmp_path, changed.id)
    failed = run_flow(CACHED.format(ttl="", extra="echo v3 > deps/lib.txt; exit 1"), tmp_path)
    assert failed.state.current is StateType.FAILED
    after = run_flow(CACHED.format(ttl="", extra="true"), tmp_path)
    assert "kept v2" in _said(tmp_path, after.id)  # the failed run's v3 was not kept


def test_a_cache_older_than_its_ttl_is_deleted_and_the_folder_starts_empty(tmp_path: Path) -> None:
    import os

    run_flow(CACHED.format(ttl="ttl: PT1H", extra="true"), tmp_path)
    [archive] = (tmp_path / "storage" / "_caches").rglob("*.zip")
    os.utime(archive, (archive.stat().st_atime, archive.stat().st_mtime - 2 * 3600))
    again = run_flow(CACHED.format(ttl="ttl: PT1H", extra="true"), tmp_path)
    said = _said(tmp_path, again.id)
    assert any(m.startswith("Cache older than its ttl (1:00:00): deleted") for m in said) and "built" in said


def test_a_cache_archive_entry_pointing_outside_the_folder_is_never_written(tmp_path: Path) -> None:
    import zipfile

    run_flow(CACHED.format(ttl="", extra="true"), tmp_path)
    [archive] = (tmp_path / "storage" / "_caches").rglob("*.zip")
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escaped.txt", "bad")
        z.writestr("deps/lib.txt", "hostile")
    again = run_flow(CACHED.format(ttl="", extra="true"), tmp_path)
    assert "kept hostile" in _said(tmp_path, again.id)
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_cache_with_a_pattern_leaving_the_folder_or_a_bad_ttl_is_refused_at_validation() -> None:
    import pytest

    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    for cache, said in (("patterns: [\"../up/**\"]", "`../up/**` must be relative to the working directory"),
                        ("patterns: [\"deps/**\"]\n      ttl: soon", "`soon` is not an ISO-8601 duration")):
        text = CACHED.replace("patterns: [\"deps/**\"]\n      {ttl}", cache).format(extra="true")
        with pytest.raises(ValidationErrors) as err:
            load_flow(text)
        assert said in err.value.render()
