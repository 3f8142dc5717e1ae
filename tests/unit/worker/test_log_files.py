"""An attempt's log file (`logToFile: true`): one line per log line, with its level and message, read
back as the lines it was written from; lines after the file was written are not lost."""

from __future__ import annotations

from pathlib import Path

from lanner.model.log_file_lines import read_lines
from lanner.model.results import LogEntry
from lanner.storage.files import LocalFiles
from lanner.worker.log_files import LogFile


def _entry(level: str, message: str) -> LogEntry:
    return LogEntry("exe1", "run1", "hello", level, message, attempt=1)


def _log_file(root: Path, store: list[LogEntry]) -> LogFile:
    return LogFile.for_attempt(LocalFiles(root), store.append, "company.team", "flow", "exe1", "hello", "run1", 1)


def test_the_file_holds_one_line_per_log_line_with_its_level_and_message(tmp_path: Path) -> None:
    store: list[LogEntry] = []
    log_file = _log_file(tmp_path, store)
    log_file.sink(_entry("INFO", "Hello World!"))
    log_file.sink(_entry("WARN", "careful"))
    uri = log_file.close()
    assert uri == "kestra:///company/team/flow/executions/exe1/tasks/hello/run1/attempt-1.log"
    lines = LocalFiles(tmp_path).get(uri).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["INFO Hello World!", "WARN careful"]
    assert store == []  # none of them reached the log store
    assert [p.name for p in LocalFiles(tmp_path).path(uri).parent.iterdir()] == ["attempt-1.log"]  # no part left


def test_a_line_logged_after_the_file_was_made_goes_to_the_log_store_and_a_silent_attempt_has_an_empty_file(
        tmp_path: Path) -> None:
    store: list[LogEntry] = []
    log_file = _log_file(tmp_path, store)
    uri = log_file.close()
    assert uri is not None and LocalFiles(tmp_path).get(uri) == b""
    late = _entry("ERROR", "abandoned, still talking")
    log_file.sink(late)
    assert store == [late]


def test_when_the_storage_refuses_the_file_its_lines_go_to_the_log_store_after_a_warning(tmp_path: Path) -> None:
    (tmp_path / "company").write_text("a file where the namespace's folder would go")
    store: list[LogEntry] = []
    log_file = _log_file(tmp_path, store)
    log_file.sink(_entry("INFO", "kept anyway"))
    assert log_file.close() is None
    assert [(e.level, e.message.split(" (")[0]) for e in store] == [
        ("WARN", "`logToFile`: the storage refused the attempt's log file"), ("INFO", "kept anyway")]


def test_lines_read_back_keep_levels_and_a_message_spanning_several_lines() -> None:
    text = "2026-01-01T00:00:00Z INFO first\n2026-01-01T00:00:01Z ERROR two\nlines\n"
    read = read_lines(text)
    assert [(x.level, x.message) for x in read] == [("INFO", "first"), ("ERROR", "two\nlines")]
    assert read[1].timestamp == "2026-01-01T00:00:01Z"


def test_the_file_is_written_before_the_result_that_names_it_is_reported(tmp_path: Path) -> None:
    """What keeps a crash from leaving a `logFile` that names nothing: whoever stores the result
    (the attempt's end) finds the file already there."""
    import threading

    from lanner.loading.flows import load_flow
    from lanner.model.results import WorkerResult
    from lanner.plugins.api import RunnableTask
    from lanner.worker.worker import Job, Worker

    task = load_flow("id: f\nnamespace: ns\ntasks:\n"
                     "  - {id: hello, type: io.kestra.plugin.core.log.Log, message: hi, logToFile: true}\n").tasks[0]
    assert isinstance(task, RunnableTask)
    files = LocalFiles(tmp_path)
    seen: list[tuple[str | None, bytes]] = []
    reported = threading.Event()

    def report(result: WorkerResult) -> None:
        seen.append((result.log_file, files.get(result.log_file) if result.log_file else b""))
        reported.set()

    worker = Worker(report, lambda _entry: None, files, threads=1)
    try:
        worker.submit(Job("exe1", "run1", 1, task, {}, "ns", "f"))
        assert reported.wait(30)
    finally:
        worker.shutdown()
    [(uri, content)] = seen
    assert uri is not None and content.decode().rstrip("\n").endswith(" INFO hi")
