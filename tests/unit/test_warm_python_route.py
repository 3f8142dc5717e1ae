"""Only a plain `python file.py` with Lanner's own interpreter may run in the warm interpreter.

Everything the shell or another Python would change — options, pipes, variables, more lines, a
virtualenv's `python` that shares our binary but not our packages — keeps the fresh process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lanner.plugins.scripts.warm_route import python_argv
from lanner.worker.warm_python import startup_environment

SH = ["/bin/sh", "-c"]
OUR_PATH = os.path.dirname(sys.executable) + os.pathsep + os.defpath
SCRIPT = "/tmp/work/script-abc.py"


@pytest.mark.parametrize("line, argv", [
    (f"{sys.executable} {SCRIPT}", [sys.executable, SCRIPT]),
    ("python main.py", ["python", "main.py"]),
    ("python3 main.py first 'second arg'", ["python3", "main.py", "first", "second arg"]),
])
def test_a_plain_python_command_runs_warm(line: str, argv: list[str]) -> None:
    assert python_argv(SH, [], ["set -e", line], OUR_PATH) == argv


@pytest.mark.parametrize("line", [
    "python -m http.server", "python -u main.py", "python main.py | tee out", "python main.py > out",
    "python main.py $NAME", "python main.py && echo done", "python main.py \"quoted arg\"", "python main.sh",
    "python", "node main.py", "pip install x",
    "python  main.py", "python main.py # a comment", "python main.py\targ", "python main.py ~/x",
])
def test_anything_the_shell_or_the_interpreter_would_read_differently_runs_fresh(line: str) -> None:
    assert python_argv(SH, [], [line], OUR_PATH) is None


def test_more_than_one_command_or_before_commands_run_fresh() -> None:
    assert python_argv(SH, [], ["python a.py", "python b.py"], OUR_PATH) is None
    assert python_argv(SH, ["pip list"], ["python a.py"], OUR_PATH) is None


def test_another_interpreter_setting_runs_fresh() -> None:
    assert python_argv(["/bin/zsh", "-c"], [], ["python a.py"], OUR_PATH) is None
    assert python_argv(["/bin/sh", "-ec"], [], ["python a.py"], OUR_PATH) is None


def test_a_virtualenv_python_on_the_path_runs_fresh(tmp_path: Path) -> None:
    """Its `python` links to our binary, but its site-packages are not ours."""
    venv_bin = tmp_path / "bin"
    venv_bin.mkdir()
    (venv_bin / "python").symlink_to(sys.executable)
    assert python_argv(SH, [], ["python a.py"], f"{venv_bin}{os.pathsep}{OUR_PATH}") is None
    assert python_argv(SH, [], [f"{venv_bin / 'python'} a.py"], OUR_PATH) is None


def test_a_python_missing_from_the_path_runs_fresh(tmp_path: Path) -> None:
    assert python_argv(SH, [], ["python a.py"], str(tmp_path)) is None


def test_tasks_differing_in_start_up_variables_need_different_servers() -> None:
    base = {"PATH": "/bin", "HOME": "/root", "LANG": "C.UTF-8", "WORKING_DIR": "/a"}
    assert startup_environment(base) == startup_environment({**base, "WORKING_DIR": "/b", "PATH": "/usr/bin"})
    assert startup_environment(base) != startup_environment({**base, "PYTHONHASHSEED": "0"})
    assert startup_environment(base) != startup_environment({**base, "LC_ALL": "C"})


@pytest.mark.parametrize("line", [
    "python main.py a=1 b,c d:e f@g h%i j+k ./l ../m -n", "python main.py 'a b'", "python main.py a\\ b",
    "python main.py \"x\"", "python main.py '' x", "python main.py é",
])
def test_plain_words_and_quoted_ones_are_told_apart_as_the_shell_reads_them(line: str) -> None:
    """Plain words skip `shlex`; anything else is still read by it, so both routes agree."""
    import shlex

    tokens = shlex.split(line)
    expected = tokens if shlex.join(tokens) == line else None
    assert python_argv(SH, [], [line], OUR_PATH) == expected
