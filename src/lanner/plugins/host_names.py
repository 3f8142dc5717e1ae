"""`host.docker.internal` where it does not resolve: the host the task runs on.

Kestra runs its tasks inside its own container, where that name (Docker Desktop's, or
`--add-host host.docker.internal:host-gateway` on Linux) reaches the machine around it. Flows use it
to reach a service published on a host port, as the seed's dockerRedis flow does with the Redis
container it starts. Lanner's Redis, HTTP and notification tasks run on the host itself: there the
name resolves on Docker Desktop (to the host) but not on a Linux host, and a flow would fail on a
name that never meant anything but "the host". So a connection to one of these names that does not
resolve goes to this host's loopback address instead, and the task says so at DEBUG. A name that
resolves (an /etc/hosts entry, a DNS answer) is used as it resolves: what the machine says wins.

Podman's `host.containers.internal` means the same and is treated the same. Only the address a
socket connects to changes: messages, the HTTP `Host` header and TLS names keep the name written.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

HOST_NAMES: frozenset[str] = frozenset({"host.docker.internal", "host.containers.internal"})
LOOPBACK = "127.0.0.1"


def reachable(host: str, note: Callable[[str], None] | None = None) -> str:
    """The address to connect to for `host`: itself, unless it is a name for "the host" that this
    machine cannot resolve, then this host's loopback address (told to `note`)."""
    if host.lower().rstrip(".") not in HOST_NAMES:
        return host
    try:
        socket.getaddrinfo(host, None)
        return host
    except (socket.gaierror, UnicodeError):
        pass
    if note is not None:
        note(f"`{host}` does not resolve on this machine, where the task runs: it names the host itself, "
             f"so connecting to {LOOPBACK}")
    return LOOPBACK
