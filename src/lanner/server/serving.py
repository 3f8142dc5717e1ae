"""Serving the app under uvicorn with Lanner's signal handling, not uvicorn's.

uvicorn catches SIGTERM and SIGINT itself: the first one ends its loop, which runs the app's
shutdown (Lanner's graceful stop), but a second one only means "stop waiting for connections" to
it, never Lanner's hard stop, and once stopped it raises the signal again so the process dies
of it. Here uvicorn's signal capture is switched off and `runtime.stopping.StopSignals` owns
both signals for the life of the server: the first asks uvicorn to stop (`should_exit`; its
shutdown stops Lanner gracefully), the second calls the caller's hard stop while that graceful
stop is under way, a third exits at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from lanner.runtime.stopping import StopSignals

GRACEFUL_SHUTDOWN_SECONDS = 5  # how long open HTTP connections (live views) may take to close


def serve(app: Any, host: str, port: int, log_level: str, graceful: Callable[[], None],
          hard: Callable[[], None]) -> bool:
    """Serve until a signal, then stop through the app's shutdown; True when a hard stop was asked.

    `graceful` runs (in the signal handler) on the first signal, before uvicorn is told to stop;
    `hard` on the second. The app's shutdown (its lifespan) does the graceful stop itself.
    """
    import uvicorn

    class LannerSignals(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # StopSignals handles them
            yield

    server = LannerSignals(uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS))

    def first() -> None:
        graceful()
        server.should_exit = True

    stops = StopSignals(first, hard)
    with stops.installed():
        server.run()
    return stops.hard_asked
