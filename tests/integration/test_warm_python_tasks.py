"""Python tasks forked from the warm interpreter behave as the fresh `python script.py` they replace.

Every test runs on both routes: `warm` (the fork server of `lanner.worker.warm_python`, the
default) and `fresh` (`LANNER_PYTHON_FORKSERVER=0`: a new interpreter under the shell). Each
script checks which route it is on from its parent process (the shell, or the server's keeper),
so a test cannot pass by silently taking the other route. Real processes and signals throughout:
crashes, timeouts, kills, and a SIGKILLed `lanner run`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner import process_identity
from lanner.testing import logs_of, run_flow
from lanner.worker import process_groups, warm_python
from tests.integration.crash.harness import Home
from tests.integration.crash.harness import wait_for as harness_wait

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "io.kestra.plugin.scripts.python.Script"
COMMANDS = "io.kestra.plugin.scripts.python.Commands"


@pytest.fixture(params=["warm", "fresh"])
def route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(warm_python.SWITCH, "1" if request.param == "warm" else "0")
    yield request.param
    warm_python.stop_all()


def route_check(route: str) -> str:
    """Python lines failing the script unless it runs on `route` (its parent: a shell, or a Python keeper)."""
    wanted = "sh" if route == "fresh" else "python"
    return ("parent = open('/proc/%d/comm' % __import__('os').getppid()).read().strip()\n"
            f"assert parent.startswith({wanted!r}), parent\n")


def task(task_id: str, route: str, body: str, kind: str = SCRIPT, extra: str = "") -> str:
    """One Python task running `body` (after the route check): a Script, or Commands running `python main.py`."""
    source = route_check(route) + body
    indented = "".join(f"      {line}\n" for line in source.splitlines())
    if kind == SCRIPT:
        return f"  - id: {task_id}\n    type: {SCRIPT}\n{extra}    script: |\n{indented}"
    files = "".join(f"  {line}\n" for line in indented.splitlines())
    return (f"  - id: {task_id}\n    type: {COMMANDS}\n{extra}    inputFiles:\n      main.py: |\n{files}"
            f"    commands:\n      - python main.py first 'second arg'\n")


def flow(*tasks: str) -> str:
    return "id: warm\nnamespace: lanner.warm\ntasks:\n" + "".join(tasks)


def messages(home: Path, execution_id: str, task_id: str) -> list[tuple[str, str]]:
    return [(log["level"], log["message"]) for log in logs_of(home, execution_id, task_id)]


def run_of(execution: Any, task_id: str) -> Any:
    return execution.by_task[task_id][-1]


def gone(pid: int) -> bool:
    fields = process_identity.stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def wait_for(what: str, check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError(f"timed out waiting for {what}")


def test_outputs_logs_and_arguments_are_those_of_python_script_py(route: str, tmp_path: Path) -> None:
    body = """import os, sys
print("argv", sys.argv[1:], __name__, __file__ == os.path.abspath(sys.argv[0]))
print("orig_argv", sys.orig_argv[1:] == sys.argv, os.path.basename(sys.orig_argv[0]).startswith("python"))
print("path0", sys.path[0] == os.path.dirname(os.path.realpath(sys.argv[0])))
print("cwd", os.getcwd() == os.environ["WORKING_DIR"] == os.environ["PWD"])
print("stdin", repr(sys.stdin.read()))
print('::{"outputs": {"answer": 42}}::')
print("careful", file=sys.stderr)
"""
    home = tmp_path / "home"
    exe = run_flow(flow(task("script", route, body), task("commands", route, body, COMMANDS)), home)
    assert exe.state.current.value == "SUCCESS"
    assert messages(home, exe.id, "script") == [
        ("INFO", "argv [] __main__ True"), ("INFO", "orig_argv True True"), ("INFO", "path0 True"),
        ("INFO", "cwd True"), ("INFO", "stdin ''"),
        ("WARN", "careful")]
    assert messages(home, exe.id, "commands")[0] == ("INFO", "argv ['first', 'second arg'] __main__ True")
    for task_id in ("script", "commands"):
        outputs = run_of(exe, task_id).outputs
        assert outputs["vars"] == {"answer": 42} and outputs["exitCode"] == 0


def test_threads_and_atexit_functions_finish_before_the_task_ends(route: str, tmp_path: Path) -> None:
    body = """import atexit, sys, threading, time
atexit.register(lambda: print("atexit ran"))
threading.Thread(target=lambda: (time.sleep(0.2), print("thread done"))).start()
sys.stdout.write("no newline at the end")
"""
    home = tmp_path / "home"
    exe = run_flow(flow(task("ending", route, body)), home)
    assert exe.state.current.value == "SUCCESS"
    assert messages(home, exe.id, "ending") == [("INFO", "no newline at the endthread done"), ("INFO", "atexit ran")]


def test_what_the_interpreter_releases_as_it_ends_is_released_on_both_routes(route: str, tmp_path: Path) -> None:
    """Files a script never closed are flushed, `__del__` runs, a module-level temporary file is deleted,
    garbage cycles are collected: in the script and in a module of its own, as `python main.py`'s
    teardown does. (A fork that left with `os._exit` after atexit once lost such data.)"""
    out = tmp_path / "out"
    out.mkdir()
    helper = f"""log = open({str(out / 'helper.txt')!r}, "w")
log.write("helper module data")
"""
    main = route_check(route) + f"""import tempfile, helper
held = open({str(out / 'main.txt')!r}, "w")
held.write("main module data")
scratch = tempfile.NamedTemporaryFile(dir={str(out)!r}, suffix=".tmp")
class Farewell:
    def __del__(self):
        print("farewell from __del__")
class Cycle:
    def __del__(self):
        open({str(out / 'cycle.txt')!r}, "w").write("cycle collected")
bye = Farewell()
loop = Cycle()
loop.me = loop
del loop
"""

    def indent(text: str) -> str:
        return "".join(f"        {line}\n" for line in text.splitlines())

    source = (f"  - id: ending\n    type: {COMMANDS}\n    inputFiles:\n      helper.py: |\n{indent(helper)}"
              f"      main.py: |\n{indent(main)}    commands:\n      - python main.py\n")
    home = tmp_path / "home"
    exe = run_flow(flow(source), home)
    assert exe.state.current.value == "SUCCESS", messages(home, exe.id, "ending")
    assert messages(home, exe.id, "ending") == [("INFO", "farewell from __del__")]
    assert (out / "main.txt").read_text() == "main module data"
    assert (out / "helper.txt").read_text() == "helper module data"
    assert (out / "cycle.txt").read_text() == "cycle collected"
    assert not list(out.glob("*.tmp"))


def test_a_del_that_raises_as_the_script_ends_is_reported_and_the_task_still_succeeds(route: str,
                                                                                       tmp_path: Path) -> None:
    body = """class Stubborn:
    def __del__(self):
        raise ValueError("cannot let go")
keep = Stubborn()
print("done")
"""
    home = tmp_path / "home"
    exe = run_flow(flow(task("ending", route, body)), home)
    assert exe.state.current.value == "SUCCESS"
    assert run_of(exe, "ending").outputs["exitCode"] == 0
    logged = messages(home, exe.id, "ending")
    assert logged[0] == ("INFO", "done")
    warned = "\n".join(text for level, text in logged if level == "WARN")
    assert "Exception ignored in" in warned and "ValueError: cannot let go" in warned


def commands_task(task_id: str, files: dict[str, str], command: str) -> str:
    """A Commands task with these input files (no route check: the route is the test's question)."""
    listed = "".join(f"      {name}: |\n" + "".join(f"        {line}\n" for line in text.splitlines())
                     for name, text in files.items())
    return f"  - id: {task_id}\n    type: {COMMANDS}\n    inputFiles:\n{listed}    commands:\n      - {command}\n"


def test_a_module_beside_the_script_shadows_the_standard_one_on_both_routes(route: str, tmp_path: Path) -> None:
    """`python main.py` imports the `json.py` beside it: the warm interpreter, which has the standard
    `json` loaded already, hands such a task to a fresh interpreter (it once printed `1`)."""
    main = ("import json, os\n"
            "print(json.dumps(1))\n"
            "print(open('/proc/%d/comm' % os.getppid()).read().strip())\n")
    shadowed = {"json.py": "def dumps(value):\n    return 'the task''s own json'\n", "main.py": main}
    package = {"csv/__init__.py": "", "main.py": "import csv\nprint(hasattr(csv, 'reader'))\n"}
    home = tmp_path / "home"
    exe = run_flow(flow(commands_task("module", shadowed, "python main.py"),
                        commands_task("package", package, "python main.py")), home)
    assert exe.state.current.value == "SUCCESS", messages(home, exe.id, "module")
    logged = messages(home, exe.id, "module")
    assert logged[0] == ("INFO", "the tasks own json")
    assert logged[1][1] in ("sh", "dash", "bash")  # the fresh route, whichever route was asked for
    assert messages(home, exe.id, "package") == [("INFO", "False")]


def test_files_beside_the_script_that_are_not_modules_keep_the_warm_route(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm_python.SWITCH, "1")
    body = route_check("warm") + "import json\nprint(json.dumps([1]))\n"
    files = {"json.txt": "not a module", "random.cfg": "nor this", "main.py": body}
    home = tmp_path / "home"
    try:
        exe = run_flow(flow(commands_task("plain", files, "python main.py")), home)
    finally:
        warm_python.stop_all()
    assert exe.state.current.value == "SUCCESS", messages(home, exe.id, "plain")
    assert messages(home, exe.id, "plain") == [("INFO", "[1]")]


def test_a_module_installed_by_an_earlier_task_is_importable_on_both_routes(route: str, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A task creates a folder on PYTHONPATH that did not exist when the warm interpreter started, and a
    module in it: the next Python task imports it, as a fresh `python` does; on the warm route from a
    server started anew (a fork of the first one, whose import system had found no folder there,
    once failed with ModuleNotFoundError; `pip install --user` creating the user's site folder is
    the same case)."""
    later = tmp_path / "installed"
    monkeypatch.setenv("PYTHONPATH", str(later))
    install = (f"  - id: install\n    type: io.kestra.plugin.scripts.shell.Commands\n    commands:\n"
               f"      - mkdir -p '{later}'\n      - echo 'ANSWER = 42' > '{later}/installed_later.py'\n")
    before = task("before", route, "print('the server runs')\n")  # started before the install
    use = task("use", route, "import installed_later\nprint('answer', installed_later.ANSWER)\n")
    exe = run_flow(flow(before, install, use), tmp_path / "lanner")
    assert exe.state.current.value == "SUCCESS", messages(tmp_path / "lanner", exe.id, "use")
    assert messages(tmp_path / "lanner", exe.id, "use") == [("INFO", "answer 42")]


def test_new_modules_in_a_folder_already_on_the_path_keep_the_same_warm_server(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder on PYTHONPATH that existed when the server started finds new modules by itself (the
    import system compares its mtime): tasks writing there, as every task writes into /tmp, must
    not restart the server."""
    monkeypatch.setenv(warm_python.SWITCH, "1")
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(shared))
    write = task("write", "warm", f"import os\nopen({str(shared / 'written_now.py')!r}, 'w').write('VALUE = 7')\n"
                                  "print(os.getppid())\n")
    read = task("read", "warm", "import os, written_now\nprint(os.getppid())\nprint(written_now.VALUE)\n")
    home = tmp_path / "home"
    try:
        exe = run_flow(flow(write, read), home)
    finally:
        warm_python.stop_all()
    assert exe.state.current.value == "SUCCESS", messages(home, exe.id, "read")
    server = messages(home, exe.id, "write")[0][1]
    assert messages(home, exe.id, "read") == [("INFO", server), ("INFO", "7")]


def test_replacing_a_server_that_missed_an_install_leaves_its_running_task_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long warm task runs beside a branch that creates a folder on PYTHONPATH and then starts a
    warm task: the server is replaced for that task, and the one already running finishes in the
    old server (which leaves once it is done) instead of being killed with it."""
    monkeypatch.setenv(warm_python.SWITCH, "1")
    later = tmp_path / "installed"
    monkeypatch.setenv("PYTHONPATH", str(later))
    long = task("long", "warm", "import time\ntime.sleep(6.5)\nprint('long done')\n")
    install = (f"  - id: install\n    type: io.kestra.plugin.scripts.shell.Commands\n    commands:\n"
               f"      - mkdir -p '{later}'\n      - echo 'ANSWER = 42' > '{later}/installed_later.py'\n")
    use = task("use", "warm", "import installed_later\nprint('answer', installed_later.ANSWER)\n")
    indent = "".join(f"      {line}\n" for line in (install + use).splitlines())
    branches = ("  - id: both\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
                + "".join(f"    {line}\n" for line in long.splitlines())
                + "      - id: then\n        type: io.kestra.plugin.core.flow.Sequential\n        tasks:\n"
                + "".join(f"    {line}\n" for line in indent.splitlines()))
    first = task("first", "warm", "print('the server runs')\n")  # started before the install
    home = tmp_path / "home"
    try:
        exe = run_flow(flow(first, branches), home)
    finally:
        warm_python.stop_all()
    assert messages(home, exe.id, "use") == [("INFO", "answer 42")]
    assert messages(home, exe.id, "long") == [("INFO", "long done")], run_of(exe, "long").state
    assert exe.state.current.value == "SUCCESS"


def test_a_request_that_failed_on_a_server_another_thread_replaced_uses_the_replacement(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tasks in parallel: one finds the server stale and replaces it; the other, whose request
    went to the old one, must take the new server as it is, not replace (and kill) it again."""
    monkeypatch.setenv(warm_python.SWITCH, "1")
    warm_python.stop_all()
    env = dict(os.environ)
    key = warm_python.startup_environment(env)
    try:
        old = warm_python._server(key, env)
        new = warm_python._server(key, env, failed=old, stale=True)  # the first thread's replacement
        assert new is not old and old.process.poll() is None  # let go, not killed: it may hold tasks
        assert warm_python._server(key, env, failed=old) is new  # the second thread's retry
        assert new.process.poll() is None and warm_python._servers[key] is new
        old.process.wait(timeout=10)  # with no task of its own, it leaves once let go
    finally:
        warm_python.stop_all()


CRASHES = {
    "exits_3": ("import sys\nprint('going')\nsys.exit(3)\n", 3, []),
    "os_exit_7": ("import os\nos._exit(7)\n", 7, []),
    "exits_with_message": ("import sys\nsys.exit('bad input')\n", 1, ["bad input"]),
    "raises": ("def fail():\n    raise ValueError('boom')\nfail()\n", 1,
               ["Traceback (most recent call last):", "fail()", "raise ValueError('boom')", "ValueError: boom"]),
    "segfault": ("import ctypes\nctypes.string_at(0)\n", 139, ["Segmentation fault"]),
    "sigsegv": ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", 139, ["Segmentation fault"]),
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_a_crashing_task_fails_with_its_exit_code_and_the_next_task_runs(route: str, crash: str,
                                                                          tmp_path: Path) -> None:
    body, code, stderr_bits = CRASHES[crash]
    home = tmp_path / "home"
    after = task("after", route, "import json\nprint('after', json.dumps({'ok': True}))\n")
    exe = run_flow(flow(task("crash", route, body, extra="    allowFailure: true\n"), after), home)
    crashed = run_of(exe, "crash")
    assert crashed.state.current.value == "WARNING"  # failed, with allowFailure
    assert crashed.outputs["exitCode"] == code
    logged = messages(home, exe.id, "crash")
    assert ("ERROR", f"Command failed with exit code {code}") in logged
    warned = "\n".join(text for level, text in logged if level == "WARN")
    for bit in stderr_bits:
        assert bit in warned
    assert run_of(exe, "after").state.current.value == "SUCCESS"
    assert messages(home, exe.id, "after") == [("INFO", 'after {"ok": true}')]


def test_what_one_task_changes_in_its_interpreter_is_not_seen_by_the_next(route: str, tmp_path: Path) -> None:
    first = """import json, os, sys
os.environ["LEAKED"] = "yes"
os.chdir("/")
json.dumps = lambda *a, **k: "patched"
sys.modules["leaked_module"] = sys
sys.path.append("/leaked")
"""
    second = """import json, os, sys
print(os.environ.get("LEAKED"), os.getcwd() == os.environ["WORKING_DIR"], json.dumps(1),
      "leaked_module" in sys.modules, "/leaked" in sys.path, os.environ.get("ONLY_HERE"))
"""
    home = tmp_path / "home"
    exe = run_flow(flow(task("first", route, first),
                        task("second", route, second, extra="    env:\n      ONLY_HERE: mine\n")), home)
    assert exe.state.current.value == "SUCCESS"
    assert messages(home, exe.id, "second") == [("INFO", "None True 1 False False mine")]


def test_a_timed_out_task_fails_and_its_process_group_is_gone(route: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    body = f"""import os
open({str(pidfile)!r}, "w").write(f"{{os.getpid()}} {{os.getpgid(0)}}")
while True:
    pass
"""
    home = tmp_path / "home"
    exe = run_flow(flow(task("spin", route, body, extra="    timeout: PT1S\n")), home)
    spin = run_of(exe, "spin")
    assert spin.state.current.value == "FAILED"
    logged = messages(home, exe.id, "spin")
    assert any("timeout" in text.lower() for _, text in logged)
    assert ("WARN", "Terminated") not in logged  # the shell dies with its group, silently: so does the warm route
    pid, group = (int(n) for n in pidfile.read_text().split())
    assert gone(pid)
    assert not process_groups.alive(group)


def test_killing_the_execution_ends_the_task_process(route: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    # the printed line is a log event after the pid is written: the kill fires on it, not on
    # run_flow's 60-second deadline
    body = f"""import os, time
open({str(pidfile)!r}, "w").write(str(os.getpid()))
print("started", flush=True)
time.sleep(120)
"""
    home = tmp_path / "home"
    exe = run_flow(flow(task("sleepy", route, body)), home, kill_when=lambda kind, item: pidfile.exists()
                   and pidfile.read_text().isdigit())
    assert exe.state.current.value == "KILLED"
    assert gone(int(pidfile.read_text()))


def test_a_sigkilled_lanner_run_takes_its_python_task_with_it(route: str, tmp_path: Path) -> None:
    pidfile, marker = tmp_path / "pid", tmp_path / "marker"
    body = f"""import os, time
open({str(pidfile)!r} + ".tmp", "w").write(str(os.getpid()))
os.rename({str(pidfile)!r} + ".tmp", {str(pidfile)!r})
time.sleep(5)
open({str(marker)!r}, "w").write("survived its owner")
"""
    flow_file = tmp_path / "flow.yaml"
    flow_file.write_text(flow(task("sleepy", route, body)))
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}
    env.pop("LANNER_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "lanner", "run", str(flow_file), "-q"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid = int(wait_for("the task to start", lambda: pidfile.exists() and pidfile.read_text(), 60))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for("the task process to die with its owner", lambda: gone(pid), 10)
        assert not marker.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_task_that_finished_before_its_lanner_was_killed_is_adopted_not_run_again(route: str,
                                                                                     tmp_path: Path) -> None:
    effects, pidfile = tmp_path / "effects", tmp_path / "lanner.pid"
    work = f"""import os, signal, time
with open({str(effects)!r}, "a") as out:
    out.write(f"work {{os.getpid()}}\\n")
print('::{{"outputs": {{"greeting": "hello"}}}}::', flush=True)
while not os.path.exists({str(pidfile)!r}) or not open({str(pidfile)!r}).read():
    time.sleep(0.01)
os.kill(int(open({str(pidfile)!r}).read()), signal.SIGSTOP)
"""
    after = f"""with open({str(effects)!r}, "a") as out:
    out.write("after {{{{ outputs.work.vars.greeting }}}}\\n")
"""
    home = Home(tmp_path / "home")
    flow_file = tmp_path / "flow.yaml"
    flow_file.write_text(flow(task("work", route, work), task("after", route, after)))
    proc = home.popen("run", str(flow_file), "-q")
    try:
        (execution_id,) = harness_wait(lambda: home.execution_ids(), 60, "the execution to be stored")
        pidfile.write_text(str(proc.pid))
        line = harness_wait(lambda: effects.exists() and effects.read_text().split("\n")[0], 60, "the side effect")
        # Finished means its end is noted (by its keeper or the fork server), not only that Python
        # exited: on the fresh route `/bin/sh -c` still runs a moment after the script, and a
        # command cut off before its shell ends is rightly run again.
        harness_wait(lambda: stopped(proc.pid) and gone(int(line.split()[1]))
                     and any(home.root.glob("run/attempts/*/1.exit")), 30,
                     "the task to stop its lanner, exit, and have its end noted")
        os.kill(proc.pid, signal.SIGKILL)
        killed = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    continued = home.run("execution", "continue", execution_id)

    lines = effects.read_text().splitlines()
    assert [x for x in lines if x.startswith("work")] == [line], "the finished task ran again"
    assert "after hello" in lines, lines
    assert home.state(execution_id) == "SUCCESS", continued.stdout + continued.stderr
    # Said when attempt 2 adopts the note. Seen missing once in CI (2026-12-01, not reproduced in 28
    # runs since, 16 of them under full CPU load): `work` then had no log line at all, as when the
    # stopped Lanner had kept the attempt's result, which `continue` applies without a word. What
    # each process said is in the message, to tell which it was next time.
    assert "its recorded output is used and the command is not run again" in home.run(
        "logs", execution_id, "--task", "work").stdout, (
        f"continue said: {continued.stdout}{continued.stderr}\nthe killed run said: {killed}"
        f"\nlogs: {home.run('logs', execution_id).stdout}")


def stopped(pid: int) -> bool:
    fields = process_identity.stat_fields(pid)
    return fields is not None and fields[0] == "T"


def test_a_killed_fork_server_fails_its_running_task_and_the_next_one_gets_a_new_server(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(warm_python.SWITCH, "1")
    pidfile = tmp_path / "pid"
    body = f"""import os, time
open({str(pidfile)!r} + ".tmp", "w").write(str(os.getpid()))
os.rename({str(pidfile)!r} + ".tmp", {str(pidfile)!r})
time.sleep(60)
"""
    servers: list[int] = []

    def kill_the_server() -> None:
        pid = int(wait_for("the task to start", lambda: pidfile.exists() and pidfile.read_text(), 60))
        fields = process_identity.stat_fields(pid)
        assert fields is not None
        servers.append(int(fields[1]))  # its parent, the server
        os.kill(servers[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_the_server)
    killer.start()
    home = tmp_path / "home"
    try:
        exe = run_flow(flow(task("victim", "warm", body, extra="    allowFailure: true\n"),
                            task("next", "warm", "print('next ran')\n")), home)
    finally:
        killer.join()
        warm_python.stop_all()
    assert run_of(exe, "victim").state.current.value == "WARNING"  # failed, with allowFailure
    assert gone(int(pidfile.read_text()))  # it died with its server
    assert messages(home, exe.id, "next") == [("INFO", "next ran")]


def test_the_server_started_while_the_flow_loads_is_the_one_its_python_tasks_fork_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lanner.plugins.scripts import warm_route

    monkeypatch.setenv(warm_python.SWITCH, "1")
    warm_python.stop_all()
    try:
        body = "import os\nprint('::{\"outputs\": {\"server\": %d}}::' % os.getppid())\n"
        text = flow(task("first", "warm", body), task("second", "warm", body, COMMANDS))
        assert warm_route.prewarm_for(text)
        [prewarmed] = [server.process.pid for server in warm_python._servers.values()]
        exe = run_flow(text, tmp_path / "home")
        assert exe.state.current.value == "SUCCESS"
        assert [run_of(exe, t).outputs["vars"]["server"] for t in ("first", "second")] == [prewarmed, prewarmed]
        assert len(warm_python._servers) == 1
    finally:
        warm_python.stop_all()


def test_a_flow_without_python_tasks_starts_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from lanner.plugins.scripts import warm_route

    monkeypatch.setenv(warm_python.SWITCH, "1")
    warm_python.stop_all()
    shell = ("id: s\nnamespace: n\ntasks:\n  - id: a\n    type: io.kestra.plugin.scripts.shell.Commands\n"
             "    commands: [python x.py]\n")
    assert not warm_route.prewarm_for(shell)
    assert warm_python._servers == {}
    monkeypatch.setenv(warm_python.SWITCH, "0")
    assert not warm_route.prewarm_for(flow(task("first", "warm", "print(1)")))
    assert warm_python._servers == {}


def _server_children(server: int) -> set[int]:
    """The processes the fork server has forked and not yet reaped (tasks, and the spare)."""
    found: set[int] = set()
    for tid in os.listdir(f"/proc/{server}/task"):
        try:
            found |= {int(pid) for pid in Path(f"/proc/{server}/task/{tid}/children").read_text().split()}
        except OSError:
            pass
    return found


PID_BODY = "import os\nprint('::{\"outputs\": {\"pid\": %d}}::' % os.getpid())\n"


def _spares_of_prewarmed(text: str) -> set[int]:
    """Start the server `lanner run` would start for flow `text`; the spare process it forked."""
    from lanner.plugins.scripts import warm_route

    warm_python.stop_all()
    assert warm_route.prewarm_for(text)
    [server] = [s.process.pid for s in warm_python._servers.values()]
    spares: set[int] = wait_for("the server's spare process", lambda: _server_children(server))
    return spares


def test_a_spare_process_killed_before_its_task_came_is_replaced_and_the_task_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm_python.SWITCH, "1")
    try:
        text = flow(task("first", "warm", PID_BODY), task("second", "warm", PID_BODY, COMMANDS))
        spares = _spares_of_prewarmed(text)
        for pid in spares:  # someone kills the process the first task was to run in
            os.kill(pid, signal.SIGKILL)
        wait_for("the spare to be dead", lambda: all(gone(pid) for pid in spares))
        exe = run_flow(text, tmp_path / "home")
        assert exe.state.current.value == "SUCCESS"
        pids = [run_of(exe, t).outputs["vars"]["pid"] for t in ("first", "second")]
        assert not set(pids) & spares and pids[0] != pids[1]
    finally:
        warm_python.stop_all()


def test_tasks_run_in_spare_processes_draw_different_random_numbers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm_python.SWITCH, "1")
    body = ("import random, uuid, tempfile\n"
            "print('::{\"outputs\": {\"draw\": \"%s %s %s\"}}::' % (random.random(), uuid.uuid4(),"
            " next(tempfile._get_candidate_names())))\n")
    try:
        exe = run_flow(flow(*(task(f"t{i}", "warm", body) for i in range(4))), tmp_path / "home")
    finally:
        warm_python.stop_all()
    assert exe.state.current.value == "SUCCESS"
    draws = [run_of(exe, f"t{i}").outputs["vars"]["draw"].split() for i in range(4)]
    for column in range(3):
        assert len({draw[column] for draw in draws}) == 4, draws


def test_no_spare_process_outlives_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm_python.SWITCH, "1")
    warm_python.stop_all()
    assert warm_python.prewarm(dict(os.environ))
    [server] = [s.process for s in warm_python._servers.values()]
    spares = wait_for("the server's spare process", lambda: _server_children(server.pid))
    warm_python.stop_all()  # Lanner closes the control socket, as when it ends
    server.wait(10)
    wait_for("the spare to end with its server", lambda: all(gone(pid) for pid in spares))


def test_a_task_runs_in_the_spare_process_that_was_waiting_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fork made ahead of time is the one used (not discarded for a fork on request)."""
    monkeypatch.setenv(warm_python.SWITCH, "1")
    try:
        text = flow(task("only", "warm", PID_BODY))
        spares = _spares_of_prewarmed(text)
        time.sleep(0.2)  # the spare is blocked on its socket by now, as between two tasks of a flow
        exe = run_flow(text, tmp_path / "home")
        assert exe.state.current.value == "SUCCESS"
        assert run_of(exe, "only").outputs["vars"]["pid"] in spares
    finally:
        warm_python.stop_all()
