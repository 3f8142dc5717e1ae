"""Python environments for the `dependencies` of Python script tasks: one per dependency set, built once.

A flow that lists `dependencies: [pandas==2.2.3]` expects them importable by its script; installing
them on every run would cost seconds to minutes, and installing them into Lanner's own interpreter
would let one flow break another (and Lanner). So each distinct set gets its own virtual
environment under `$LANNER_HOME/cache/python-envs/<key>`, the key being a hash of the normalised
requirement list and the interpreter (version and path) it is built from.

Building is safe against concurrent tasks, in threads of one process or in other processes on the
same home: a builder holds an exclusive lock on `<key>.lock`, builds in a temporary folder beside
the final one, and renames it into place only once pip succeeded. So `<key>` either does not exist
or is complete: nobody uses a half-built environment, a second task with the same set waits and
then uses what the first built, and a failed, killed or crashed build leaves nothing that counts
(its temporary folder is removed, or by the next builder of that key when the builder died).

The environment is isolated (no system site-packages): the script sees the standard library and
the listed packages, as in Kestra's default `python:*-slim` container, so a flow that works here
does not depend on what happens to be installed next to Lanner. `venv` and `pip` are both run as
host commands under the keeper (`runners.run_host_step`), so cancelling the task stops them.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.scripts.runners import Command, run_host_step
from lanner.plugins.scripts.support import LineSink

MARKER = "lanner-env.json"  # what the environment was built for; written before the rename
REQUIREMENTS = "lanner-requirements.txt"
TAIL_LINES = 15  # pip's last lines quoted in a failed install's message
LOCK_POLL_SECONDS = 0.2  # how often a task waiting for another's build checks the lock (and cancellation)


def envs_root() -> Path:
    """Where environments are kept: under LANNER_HOME, like the store, so one home is one cache."""
    home = Path(os.environ.get("LANNER_HOME") or Path.home() / ".lanner")
    return home / "cache" / "python-envs"


def normalise(requirements: list[str]) -> list[str]:
    """The set a list of requirement strings stands for: blanks and comments dropped, inner spaces
    collapsed, duplicates removed, sorted — so `[b, a]` and `[a,  b]` share one environment."""
    kept = {" ".join(line.split("#", 1)[0].split()) for line in requirements}
    return sorted(line for line in kept if line)


def host_python() -> str:
    """The version of the interpreter Lanner runs on, the one environments are built from."""
    return platform.python_version()


def env_key(requirements: list[str]) -> str:
    """The folder name of the environment for `requirements` (already normalised) on this interpreter."""
    import hashlib  # only a task with dependencies needs it: OpenSSL's import is ~2 ms of every run's start-up

    spec = {"python": host_python(), "implementation": sys.implementation.cache_tag,
            "interpreter": os.path.realpath(sys.executable), "requirements": requirements}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def check_python_version(wanted: str) -> None:
    """Refuse a `pythonVersion` the host interpreter does not match (`3.11` matches 3.11.7).

    Lanner runs host scripts with the interpreter it runs on and installs no other Python (Kestra
    downloads one with uv): asking for another version must fail loudly, not run on the wrong one.
    """
    have = host_python()
    wanted = wanted.strip()
    if not wanted or f"{have}.".startswith(f"{wanted}."):
        return
    minor = ".".join(have.split(".")[:2])
    raise TaskFailure(f"pythonVersion `{wanted}` is not available on this host: scripts run with Python {have} "
                      f"({sys.executable}), and Lanner installs no other interpreter; remove `pythonVersion`, set "
                      f"it to `{minor}`, or use the Docker runner with an image of that version")


class PythonEnv:
    """A built environment: the folder, its interpreter, and the variables that make it the active one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = path / "bin" / "python"

    def environment(self) -> dict[str, str]:
        """`VIRTUAL_ENV` and a `PATH` with its `bin` first, as `activate` sets them: `python`, `pip`
        and the packages' console scripts in a `Commands` task are the environment's."""
        return {"VIRTUAL_ENV": str(self.path),
                "PATH": str(self.path / "bin") + os.pathsep + os.environ.get("PATH", os.defpath)}


def cached_env(ctx: RunContext, requirements: list[str]) -> PythonEnv:
    """The environment for `requirements` (normalised), built now if no task built it before."""
    root = envs_root()
    key = env_key(requirements)
    final = root / key
    if _ready(final):
        _log_cached(ctx, final, requirements)
        return PythonEnv(final)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TaskFailure(f"Cannot create the environment cache `{root}`: {exc.strerror or exc}; "
                          "check that LANNER_HOME is writable") from None
    with _locked(ctx, root / f"{key}.lock"):
        if _ready(final):  # another task built it while this one waited
            _log_cached(ctx, final, requirements)
            return PythonEnv(final)
        for leftover in [final, *root.glob(f".{key}.*")]:  # a died builder's, or an incomplete folder
            shutil.rmtree(leftover, ignore_errors=True)
        ctx.logger.info(f"Installing {_count(requirements)} into a new environment {final}: {', '.join(requirements)}")
        building = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        try:
            _build(ctx, building, requirements)
            _relocate(building, final)
            os.rename(building, final)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    return PythonEnv(final)


@contextlib.contextmanager
def private_env(ctx: RunContext, requirements: list[str]) -> Iterator[PythonEnv]:
    """A fresh environment for this attempt only (`dependencyCacheEnabled: false`), removed after it."""
    root = envs_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".private.", dir=root))
    except OSError as exc:
        raise TaskFailure(f"Cannot create an environment under `{root}`: {exc.strerror or exc}; "
                          "check that LANNER_HOME is writable") from None
    try:
        ctx.logger.info(f"Installing {_count(requirements)} into a new environment {folder} "
                        f"(dependencyCacheEnabled is false: it is removed after the task): {', '.join(requirements)}")
        _build(ctx, folder, requirements)
        yield PythonEnv(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _count(requirements: list[str]) -> str:
    return f"{len(requirements)} package{'s' if len(requirements) != 1 else ''}"


def _ready(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "bin" / "python").exists()


def _log_cached(ctx: RunContext, folder: Path, requirements: list[str]) -> None:
    ctx.logger.info(f"Using the cached environment {folder} ({_count(requirements)}: {', '.join(requirements)})")


@contextlib.contextmanager
def _locked(ctx: RunContext, path: Path) -> Iterator[None]:
    """Hold the build lock of one key; waiting for it stops when the task is cancelled.

    flock is per open file: two threads of this process exclude each other as two processes do,
    and the lock goes with its holder's death, so a crashed builder never blocks the key.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        waiting = False
        while not _try_lock(fd):
            if not waiting:
                ctx.logger.info("Waiting for another task that is building the same environment")
                waiting = True
            if not ctx.sleep(LOCK_POLL_SECONDS):
                raise TaskFailure("cancelled while waiting for another task building the same environment")
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _build(ctx: RunContext, folder: Path, requirements: list[str]) -> None:
    """Create a venv in `folder` and pip-install `requirements` into it; TaskFailure with pip's last
    lines when that fails. pip is the host interpreter's (`pip --python`), so the venv needs none."""
    _step(ctx, [sys.executable, "-m", "venv", "--without-pip", str(folder)], folder, "Creating the environment")
    (folder / REQUIREMENTS).write_text("\n".join(requirements) + "\n", encoding="utf-8")
    _step(ctx, [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install",
                "--no-input", "--disable-pip-version-check", "-r", str(folder / REQUIREMENTS)],
          folder, "Installing the dependencies")
    marker = {"python": host_python(), "interpreter": sys.executable, "requirements": requirements}
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _step(ctx: RunContext, argv: list[str], folder: Path, what: str) -> None:
    output = _StepOutput(ctx)
    env = {"PIP_ROOT_USER_ACTION": "ignore", "PYTHONUNBUFFERED": "1", "PIP_NO_INPUT": "1"}
    code = run_host_step(ctx, Command(argv, env, folder), output)
    if code != 0:
        tail = "\n".join(output.tail) or "(no output)"
        raise TaskFailure(f"{what} failed (`{' '.join(argv[1:4])}` exited with {code}); its last lines:\n{tail}")


def _relocate(built: Path, final: Path) -> None:
    """Point the scripts a venv writes with its own path (console scripts' `#!`, `activate`) at the
    folder it is renamed to; the interpreter itself finds its packages from where it runs."""
    old, new = str(built).encode(), str(final).encode()
    for path in [*(built / "bin").iterdir(), built / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data:
            path.write_bytes(data.replace(old, new))


class _StepOutput(LineSink):
    """pip's output: DEBUG log lines, the last ones kept for a failure's message."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def line(self, text: str, stderr: bool) -> None:
        text = text.rstrip("\r")
        if text.strip():
            self.tail.append(text)
            self._ctx.logger.debug(text)
