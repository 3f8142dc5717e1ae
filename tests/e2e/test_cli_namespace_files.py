"""`lanner namespace files update` (Kestra's CLI command) through the real command line, then a
`lanner run` of a flow that uses what it uploaded."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli

FLOW = """id: uses_ns_files
namespace: company.team
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read('etl/query.sql') }}"
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      include: [etl/**]
    commands: ["sh etl/run.sh", "test ! -e etl/debug.log"]
"""


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "project"
    (src / "node_modules").mkdir(parents=True)
    (src / "query.sql").write_text("select 42")
    (src / "run.sh").write_text("echo uploaded-script-ran\n")
    (src / "debug.log").write_text("noise")
    (src / "node_modules" / "big.js").write_text("x")
    (src / ".kestraignore").write_text("# local noise\n*.log\nnode_modules/\n")
    return src


def test_update_uploads_a_folder_that_a_flow_then_reads_and_runs(tmp_path: Path, cli: Cli) -> None:
    src = _folder(tmp_path)
    done = cli("namespace", "files", "update", "company.team", str(src), "etl")
    assert done.returncode == 0, done.stderr
    assert "Successfully uploaded" in done.stdout and "/etl/query.sql" in done.stdout
    stored = cli.home / "storage" / "company" / "team" / "_files" / "etl"
    assert sorted(p.name for p in stored.rglob("*") if p.is_file()) == ["query.sql", "run.sh"]
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW)
    code, exe = cli.run_json(str(flow))
    assert code == 0 and exe["state"]["current"] == "SUCCESS", exe
    read = next(t for t in exe["taskRunList"] if t["taskId"] == "read")
    assert read["outputs"]["value"] == "select 42"


def test_delete_removes_what_the_folder_no_longer_has(tmp_path: Path, cli: Cli) -> None:
    src = _folder(tmp_path)
    assert cli("namespace", "files", "update", "company.team", str(src), "--to", "/etl").returncode == 0
    (src / "run.sh").unlink()
    assert cli("namespace", "files", "update", "company.team", str(src), "/etl", "--delete").returncode == 0
    stored = cli.home / "storage" / "company" / "team" / "_files" / "etl"
    assert sorted(p.name for p in stored.rglob("*") if p.is_file()) == ["query.sql"]


def test_a_target_that_climbs_out_is_refused_with_a_located_message_and_nothing_written(
        tmp_path: Path, cli: Cli) -> None:
    src = _folder(tmp_path)
    done = cli("namespace", "files", "update", "company.team", str(src), "../../outside")
    assert done.returncode == 2
    assert "cannot climb out of the namespace" in done.stderr and "Traceback" not in done.stderr
    assert not (cli.home / "storage").exists() or not any((cli.home / "storage").rglob("*.sql"))
    missing = cli("namespace", "files", "update", "company.team", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
