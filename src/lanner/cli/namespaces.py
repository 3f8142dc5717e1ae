"""`lanner namespace files update`: Kestra's CLI command that uploads a local folder as a
namespace's files (e.g. from CI), writing to this installation's internal storage directly.

Kestra's command goes through a server's API; Lanner's writes the storage the server, `lanner
run` and the workers read (LANNER_HOME/storage, or `storage.path` of lanner.yaml), so it works
with no server running. The folder's `.kestraignore` (one glob per line, `#` comments, a
trailing `/` for folders) leaves files out, as in Kestra.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path, PurePosixPath

import typer

namespace_app = typer.Typer(no_args_is_help=True, help="Namespaces: their files.")
files_app = typer.Typer(no_args_is_help=True, help="Namespace files (shared scripts, queries, configs).")
namespace_app.add_typer(files_app, name="files")
IGNORE_FILE = ".kestraignore"


def ignore_rules(folder: Path) -> list[str]:
    path = folder / IGNORE_FILE
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(rel: PurePosixPath, rules: list[str]) -> bool:
    """Whether a file (its path from the folder) is left out by a `.kestraignore` rule."""
    if rel.name == IGNORE_FILE:
        return True
    for rule in rules:
        pattern = rule.strip("/")
        if rule.endswith("/"):  # a folder: anything below a folder of that name
            if any(fnmatch.fnmatchcase(part, pattern) for part in rel.parts[:-1]):
                return True
        elif rule.startswith("/") or "/" in pattern:  # anchored at the folder's root
            if fnmatch.fnmatchcase(rel.as_posix(), pattern):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in rel.parts):
            return True
    return False


@files_app.command("update")
def update(
    namespace: str = typer.Argument(..., help="The namespace whose files to update, e.g. company.team."),
    folder: Path = typer.Argument(..., help="The local folder holding the files."),
    to: str = typer.Argument("/", help="Where in the namespace the files go (Kestra's third argument)."),
    to_option: str | None = typer.Option(None, "--to", help="Same as the third argument."),
    delete: bool = typer.Option(False, "--delete/--no-delete", help="First delete what is under the target."),
    config: str | None = typer.Option(None, "--config", "-c", envvar="LANNER_CONFIG", help="The lanner.yaml to read."),
) -> None:
    """Upload every file of FOLDER to NAMESPACE's files (below TO), as Kestra's `namespace files update`."""
    from rich.console import Console

    from lanner.errors import LannerError
    from lanner.runtime import settings
    from lanner.storage.namespace_files import NamespaceTree, NoSuchFile

    err = Console(stderr=True, highlight=False)
    if to_option is not None and to != "/" and to_option != to:
        err.print(f"error: the target is given twice (`{to}` and --to `{to_option}`); give it once")
        raise typer.Exit(2)
    target = to_option if to_option is not None else to
    if not folder.is_dir():
        err.print(f"error: `{folder}` is not a folder; give the local folder that holds the files")
        raise typer.Exit(2)
    try:
        tree = NamespaceTree(settings.load(config).storage_path, namespace)
        base = "/" + "/".join(p for p in target.split("/") if p)
        tree.locate(base)
        rules = ignore_rules(folder)
        chosen = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                        and not ignored(PurePosixPath(p.relative_to(folder).as_posix()), rules))
        destinations = [(p, f"{base.rstrip('/')}/{p.relative_to(folder).as_posix()}") for p in chosen]
        for _source, destination in destinations:
            tree.locate(destination)  # every name is checked before anything changes
        if delete:
            try:
                tree.delete(base)
            except NoSuchFile:
                pass  # nothing there yet: nothing to delete
        out = Console(highlight=False)
        for source, destination in destinations:
            with source.open("rb") as data:
                tree.write(destination, data)
            out.print(f"Successfully uploaded {source} to {destination}")
    except LannerError as exc:
        err.print(f"error: {exc.render()}")
        raise typer.Exit(2) from None
