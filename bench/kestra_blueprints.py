"""How many of Kestra's simple public blueprints Lanner accepts, why it refuses the others, and
how the self-contained ones end when run.

The blueprints are Kestra's (repository `kestra-io/blueprints`), not ours to copy: fetch them into
a folder outside this repository and give that folder. The folder this figure is measured on holds
the "simple" ones, chosen by this rule:

* taken from `sanitychecks/flows/blueprints/` — the blueprints Kestra marks `demo: true` and
  copies there as self-contained sanity checks (the repository's other folders hold 1,400+ flows
  across its history, mostly for plugins Lanner does not have);
* kept when every `type:` of the file — tasks at any depth, triggers, trigger conditions, plugin
  defaults and task runners — is one of Kestra's core plugins (`io.kestra.plugin.core.*` and its
  old `io.kestra.core.*` aliases), the Python and shell script plugins
  (`io.kestra.plugin.scripts.python.*`, `io.kestra.plugin.scripts.shell.*`, and the script
  plugins' own task runner `io.kestra.plugin.scripts.runner.docker.Docker`), Docker
  (`io.kestra.plugin.docker.*`), Redis (`io.kestra.plugin.redis.*`) or HTTP
  (`io.kestra.plugin.core.http.*`, `io.kestra.plugin.fs.http.*`);
* any other type (JDBC, dbt, git, notifications, serdes, cloud plugins …) leaves the file out.

Every `*.yaml`/`*.yml` of the folder is checked with `lanner validate`, one process per file as a
user runs it, with the tally of `kestra_compat.py` (each refusal reduced to its cause and the causes
counted once per blueprint). `--check-rule` prints the types of each file that fall outside the
rule, so a folder with a stray blueprint is noticed.

With `--run`, the accepted blueprints that need nothing from outside — no network address, no
secret, no namespace file, no `pip install`, no container image missing from the local Docker, no
subflow or FILE input the folder cannot give — are run with `lanner run --json` under a fresh
`LANNER_HOME`, and their end state and task-run count printed; the others are listed with what they
would need.

    python bench/kestra_blueprints.py /work/kestra-blueprints [--run] [--check-rule]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kestra_compat import Tally, lanner, validate_all  # noqa: E402

FAMILIES = ("io.kestra.plugin.core.", "io.kestra.core.", "io.kestra.plugin.scripts.python.",
            "io.kestra.plugin.scripts.shell.", "io.kestra.plugin.scripts.runner.docker.Docker",
            "io.kestra.plugin.docker.", "io.kestra.plugin.redis.", "io.kestra.plugin.fs.http.")
_URL = re.compile(r"https?://")
_IMAGE_DEFAULT = "ghcr.io/kestra-io/kestrapy:latest"  # the script plugins' default image


def types_of(node: Any) -> list[str]:
    """Every `type:` value in a parsed flow, at any depth."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "type" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(types_of(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(types_of(item))
    return found


def outside_rule(flow: dict[str, Any]) -> list[str]:
    """The plugin types of a blueprint that the selection rule does not allow (input and retry
    types such as `STRING` or `constant` are not plugins and do not count)."""
    return sorted({t for t in types_of(flow) if "." in t and not t.startswith(FAMILIES)})


def needs(path: Path, flow: dict[str, Any], folder_ids: set[str], local_images: set[str]) -> list[str]:
    """What a blueprint needs from outside this machine to run; empty when it runs as it is."""
    text = path.read_text(encoding="utf-8")
    out: list[str] = []
    if _URL.search(text):
        out.append("the network")
    if "secret(" in text:
        out.append("secrets")
    if "namespaceFiles" in text:
        out.append("namespace files")
    if "pip install" in text:
        out.append("packages from PyPI")
    for image in _images(flow):
        if image not in local_images:
            out.append(f"image {image}")
    for task in _walk_tasks(flow.get("tasks") or []):
        if str(task.get("type", "")).endswith((".Subflow", ".Flow")) and task.get("flowId") not in folder_ids:
            out.append(f"subflow {task.get('namespace')}.{task.get('flowId')}")
    for spec in flow.get("inputs") or []:
        if spec.get("defaults") is None and spec.get("required", True) is not False:
            out.append(f"input `{spec.get('id')}`")
    return sorted(set(out))


def _walk_tasks(tasks: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for task in tasks:
        if not isinstance(task, dict):
            continue
        found.append(task)
        for key in ("tasks", "then", "else", "errors", "finally", "defaults"):
            if isinstance(task.get(key), list):
                found.extend(_walk_tasks(task[key]))
        if isinstance(task.get("cases"), dict):
            for branch in task["cases"].values():
                found.extend(_walk_tasks(branch or []))
    return found


def _images(flow: dict[str, Any]) -> list[str]:
    """The container images a blueprint's script tasks would pull."""
    images: list[str] = []
    for task in _walk_tasks([*(flow.get("tasks") or []), *(flow.get("errors") or []),
                             *(flow.get("finally") or [])]):
        kind = str(task.get("type", ""))
        runner = str((task.get("taskRunner") or {}).get("type", ""))
        if kind.startswith("io.kestra.plugin.docker.") and task.get("containerImage"):
            images.append(str(task["containerImage"]))
        elif ".scripts." in kind and (runner.endswith("docker.Docker") or (not runner and task.get("containerImage"))):
            images.append(str(task.get("containerImage") or _IMAGE_DEFAULT))
    return images


def local_images() -> set[str]:
    """The images the local Docker holds (`name:tag`, and `name` for `:latest`)."""
    try:
        done = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    names = set(done.stdout.split())
    return names | {n.removesuffix(":latest") for n in names if n.endswith(":latest")}


def run_one(path: Path) -> tuple[str, int | None, str]:
    """(end state, task-run count, note) of one `lanner run --json`."""
    with tempfile.TemporaryDirectory(prefix="lanner-blueprint-") as home:
        try:
            done = lanner("run", str(path), "--json", "--quiet", home=home, timeout=300)
        except subprocess.TimeoutExpired:
            return "TIMEOUT", None, ""
    try:
        execution = json.loads(done.stdout)
    except json.JSONDecodeError:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return "NOT RUN", None, lines[-1][:160] if lines else f"exit {done.returncode}"
    return execution["state"]["current"], len(execution.get("taskRunList") or []), ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("folder", type=Path, help="folder holding the fetched blueprints (*.yaml)")
    parser.add_argument("--run", action="store_true", help="run the accepted blueprints that need nothing outside")
    parser.add_argument("--check-rule", action="store_true", help="print the files whose types break the rule")
    parser.add_argument("--top", type=int, default=15, help="how many refusal causes to print")
    args = parser.parse_args()
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    paths = sorted([*args.folder.glob("*.yaml"), *args.folder.glob("*.yml")])
    if not paths:
        parser.error(f"no *.yaml or *.yml file in {args.folder}")
    flows = {path: yaml.safe_load(path.read_text(encoding="utf-8")) or {} for path in paths}
    if args.check_rule:
        for path, flow in flows.items():
            if outside_rule(flow):
                print(f"  outside the rule {path.name}: {', '.join(outside_rule(flow))}")

    tally = validate_all(args.folder)
    report(tally, len(paths), args.top)
    if args.run:
        run_accepted(tally, flows)


def report(tally: Tally, total: int, top: int) -> None:
    print(f"blueprints: {total}, accepted: {len(tally.accepted)} ({100 * len(tally.accepted) / total:.1f}%), "
          f"refused: {len(tally.refused)}")
    print(f"top {top} refusal causes (blueprints refused by each):")
    for cause, count in tally.causes().most_common(top):
        print(f"  {count:4d}  {cause}")
    for path, causes in sorted(tally.refused.items()):
        print(f"  refused {path.name}: {'; '.join(sorted(set(causes)))}")


def run_accepted(tally: Tally, flows: dict[Path, dict[str, Any]]) -> None:
    ids = {str(flow.get("id")) for flow in flows.values()}
    images = local_images()
    ran: dict[str, int] = {}
    for path in tally.accepted:
        missing = needs(path, flows[path], ids, images)
        if missing:
            print(f"  not run {path.name}: needs {', '.join(missing)}")
            continue
        state, count, note = run_one(path)
        ran[state] = ran.get(state, 0) + 1
        print(f"  ran {path.name}: {state}" + (f", {count} task runs" if count is not None else "")
              + (f" ({note})" if note else ""))
    print(f"ran {sum(ran.values())} self-contained blueprints: "
          + ", ".join(f"{n} {state}" for state, n in sorted(ran.items())))


if __name__ == "__main__":
    main()
