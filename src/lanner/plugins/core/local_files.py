"""`…core.storage.LocalFiles` (deprecated in Kestra since 0.17, still met in flows): write files
into the working directory and store files from it, inside a `WorkingDirectory`.

Its modern form is the `inputFiles`/`outputFiles` of `WorkingDirectory` and of script tasks; the
same code writes and collects the files here (`plugins/scripts/support.py`), so a name or glob
means the same thing in both forms.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lanner.plugins.api import Output, RunContext, RunnableTask, output_docs
from lanner.plugins.properties import render_list
from lanner.plugins.scripts.support import collect_output_files, write_input_files


class LocalFiles(RunnableTask):
    """`inputs` (file name → text or kestra:// URI, or the JSON text of such a map) are written
    into the folder first; then the files matching `outputs` globs are stored, and `uris` maps
    each one's path in the folder to its kestra:// URI.

    Outside a `WorkingDirectory` the folder is the task's own and is removed when it ends, as in
    Kestra, so only its `outputs` of the `inputs` it wrote itself are of use there.
    """

    outputs_doc = output_docs(
        uris=("object", "Each file matched by `outputs`, by name, as a `kestra://` URI"),
    )

    acts_outside: ClassVar[bool] = False  # only the task's working folder and Lanner's storage

    inputs: dict[str, Any] | str | None = None
    outputs: list[str] | str | None = None

    def run(self, ctx: RunContext) -> Output:
        folder = ctx.working_dir()
        write_input_files(ctx, folder, self.inputs)
        patterns = render_list(ctx, self.outputs, "outputs")
        return Output({"uris": collect_output_files(ctx, folder, patterns, None) if patterns else {}})
