"""The embedded runtime stores a log line its store refuses as a stand-in, as a cluster does,
instead of stopping `lanner run` with a traceback and leaving the execution where it was.

The refused line is real: `--input text=$'a\\xffb'` reaches Lanner as a lone surrogate, which
SQLite's driver cannot encode.
"""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow

FLOW = """
id: refused_line
namespace: company.team
inputs:
  - {id: text, type: STRING}
tasks:
  - {id: say, type: io.kestra.plugin.core.log.Log, message: "said {{ inputs.text }}"}
  - {id: after, type: io.kestra.plugin.core.log.Log, message: "after"}
finally:
  - {id: bye, type: io.kestra.plugin.core.log.Log, message: "bye"}
"""


def test_a_log_line_the_store_refuses_is_stored_escaped_and_the_execution_goes_on(tmp_path: Path) -> None:
    exe = run_flow(FLOW, tmp_path, inputs={"text": "a\udcffb"})
    assert exe.state.current is StateType.SUCCESS
    said = [e["message"] for e in logs_of(tmp_path, exe.id, task_id="say")]
    assert len(said) == 1
    assert said[0].startswith("[this log line could not be stored as written (UnicodeEncodeError: ")
    assert said[0].endswith("shown escaped] said a\\udcffb")
    assert [e["message"] for e in logs_of(tmp_path, exe.id, task_id="after")] == ["after"]
    assert [e["message"] for e in logs_of(tmp_path, exe.id, task_id="bye")] == ["bye"]
