"""Shared test helpers: the public `lanner.testing` helpers, so tests use what plugin authors use.

A flow runs in-process through the real runtime (SQLite store, worker threads) in the test's
`tmp_path`; `logs_of` and `files_of` read back what it stored there.
"""

from __future__ import annotations

from lanner.testing import files_of, logs_of, repository_of, run_flow

__all__ = ["files_of", "logs_of", "repository_of", "run_flow"]
