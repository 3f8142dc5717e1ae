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


def test_the_file_holds_one_line_per_log_line_with_its_level_and_message(tmp_path: Path) -> None:
    store: list[LogEntry] = []
    log_file = LogFile(store.append)
    log_file.sink(_entry("INFO", "Hello World!"))
    log_file.sink(_entry("WARN", "careful"))
    files = LocalFiles(tmp_path)
    uri = log_file.write(files, "company.team", "flow", "exe1", "hello", "run1", 1)
    assert uri == "kestra:///company/team/flow/executions/exe1/tasks/hello/run1/attempt-1.log"
    lines = files.get(uri).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["INFO Hello World!", "WARN careful"]
    assert store == []  # none of them reached the log store


def test_a_line_logged_after_the_file_was_written_goes_to_the_log_store(tmp_path: Path) -> None:
    store: list[LogEntry] = []
    log_file = LogFile(store.append)
    log_file.write(LocalFiles(tmp_path), "ns", "flow", "exe1", "hello", "run1", 1)
    late = _entry("ERROR", "abandoned, still talking")
    log_file.sink(late)
    assert store == [late]


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
