"""/ping and the owner's requests while other clients send wrong passwords (issue 11, attack 5).

Starts a real `lanner server local` with basic auth on a temporary LANNER_HOME, measures /ping
and an authenticated request of the owner when idle, then while N guessing clients (each from
its own loopback address) send wrong passwords as fast as they can. Run twice: with the failure
limit high, so every guess costs a password check (the check runs off the event loop), and with
the default limit, so guessers are answered 429 after a few tries.

    python bench/auth_load.py [--guessers 4] [--seconds 5]

Before the fix (scrypt on the event loop, no throttling): /ping went from 1.7 ms to 712 ms
median with 4 guessers. The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.server.harness import Server

USER, PASSWORD = "admin", "bench-pa55"


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def _timed(client: httpx.Client, url: str, seconds: float, **kw: object) -> list[float]:
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        client.get(url, **kw)  # type: ignore[arg-type]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _show(label: str, ping: list[float], owner: list[float]) -> None:
    def q(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    print(f"{label:<44} /ping median {statistics.median(ping):7.1f} ms  p95 {q(ping, .95):7.1f} ms   "
          f"owner median {statistics.median(owner):7.1f} ms  p95 {q(owner, .95):7.1f} ms")


def scenario(label: str, guessers: int, seconds: float, max_failures: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "home", env={"LANNER_BASIC_AUTH_USER": USER, "LANNER_BASIC_AUTH_PASSWORD": PASSWORD,
                                               "LANNER_AUTH_MAX_FAILURES": str(max_failures)}).start()
        try:
            owner = _client("127.0.0.2")
            api = srv.url + "/api/v1/configs"
            _timed(owner, srv.url + "/ping", 0.5)
            _timed(owner, api, 0.5, auth=(USER, PASSWORD))
            _show(f"{label}: idle", _timed(owner, srv.url + "/ping", seconds / 2),
                  _timed(owner, api, seconds / 2, auth=(USER, PASSWORD)))
            stop = threading.Event()
            answers: dict[int, int] = {}
            lock = threading.Lock()

            def guess(n: int) -> None:
                with _client(f"127.0.2.{n}") as c:
                    i = 0
                    while not stop.is_set():
                        status = c.get(api, auth=(USER, f"wrong{i}")).status_code
                        with lock:
                            answers[status] = answers.get(status, 0) + 1
                        i += 1

            threads = [threading.Thread(target=guess, args=(n,)) for n in range(1, guessers + 1)]
            for t in threads:
                t.start()
            time.sleep(0.5)  # the guessers are under way (a bench, not a test: a fixed warm-up is fine)
            ping = _timed(owner, srv.url + "/ping", seconds / 2)
            own = _timed(owner, api, seconds / 2, auth=(USER, PASSWORD))
            stop.set()
            for t in threads:
                t.join()
            _show(f"{label}: {guessers} guessing clients", ping, own)
            print(f"{'':<44} guesses answered: " + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
            owner.close()
        finally:
            srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guessers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    scenario("every guess checked", args.guessers, args.seconds, 1_000_000)
    scenario("default throttling", args.guessers, args.seconds, 5)


if __name__ == "__main__":
    main()
