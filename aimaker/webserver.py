"""How the web part starts: daphne, in one or more processes accepting on one listening socket.

Python runs one request's Django code at a time per process (the GIL), so a single daphne
keeps one of two cores idle under load. With processes > 1 the socket is bound here and
handed to each daphne (`--fd`); the kernel spreads connections over them. WebSockets work from
any process: the channel layer is Redis.
"""

from __future__ import annotations

import socket
import sys

APPLICATION = "aimaker.asgi:application"


def daphne_commands(
    *, host: str, port: int, processes: int
) -> tuple[socket.socket | None, list[list[str]]]:
    """(listening socket to keep open and pass to the children, or None; daphne commands)."""
    daphne = [sys.executable, "-m", "daphne"]
    if processes <= 1:
        return None, [[*daphne, "-b", host, "-p", str(port), APPLICATION]]
    if ":" in host:
        raise ValueError("Several web processes listen on IPv4 only: use --web-processes 1.")
    sock = socket.create_server((host, port), backlog=1024)
    sock.set_inheritable(True)
    return sock, [[*daphne, "--fd", str(sock.fileno()), APPLICATION] for _ in range(processes)]
