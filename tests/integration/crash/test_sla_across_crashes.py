"""A MAX_DURATION SLA still holds when the process running the execution dies (embedded runtime).

The timer lives in the process that armed it; the process that continues the execution arms it
again from the stored start, so the SLA is not forgotten by a crash.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.forkserver import ForkServer
from tests.integration.crash.harness import Home, continue_to_end, wait_for

pytestmark = pytest.mark.slow

FLOW = """
id: sla_crash
namespace: company.team
sla:
  - {id: too_long, type: MAX_DURATION, duration: PT2S, behavior: FAIL, labels: {sla: missed}}
tasks:
  - {id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT20S}
finally:
  - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: cleaned}
"""


def test_a_max_duration_sla_fires_in_the_process_that_continues_a_crashed_run(tmp_path: Path,
                                                                              forks: ForkServer) -> None:
    home = Home(tmp_path / "home", forks=forks)
    flow_file = home.root / "sla.yaml"
    flow_file.write_text(FLOW)
    proc = home.popen("run", str(flow_file), "-q")
    eid = wait_for(lambda: next(iter(home.execution_ids()), None), 30, "the execution to be stored")
    wait_for(lambda: home.state(eid) == "RUNNING", 30, "the execution to run")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert continue_to_end(home, eid) == "FAILED"  # without the timer, the Sleep would end SUCCESS
    shown = json.loads(home.run("execution", "show", eid, "--json").stdout)
    assert {"key": "sla", "value": "missed"} in shown["labels"]
    states = {r["taskId"]: r["state"]["current"] for r in shown["taskRunList"]}
    assert states["cleanup"] == "SUCCESS" and states["slow"] != "SUCCESS"
