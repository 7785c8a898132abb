"""Run the studio: bind the socket, build the app, serve with uvicorn until Ctrl-C, then clean up.

The socket is bound (and listening) before uvicorn starts, so that a port in use is one clear
``MidigenError`` rather than a log line and an exit, ``--port 0`` can pick a free port whose number is
known, and a browser opened by ``--open`` as soon as the address is reported finds the port ready
(its connection waits in the listen queue until the event loop runs). The take folder is removed
when the server stops: takes a musician wants to keep are the files they downloaded or dragged out.
"""
from __future__ import annotations

import contextlib
import errno
import signal
import socket
import threading
from collections.abc import Callable

from ..errors import MidigenError
from .guard import WILDCARD_HOSTS, allowed_hosts, host_label
from .store import TakeStore
from .studio import Studio

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
LISTEN_BACKLOG = 128


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); MidigenError saying why it cannot be had."""
    if not 0 <= port <= 65535:
        raise MidigenError(f"--port must be between 0 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise MidigenError(f"--host {host!r}: {e.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as e:
        sock.close()
        why = "the port is in use (is another `midigen serve` running? try --port)" if e.errno == errno.EADDRINUSE else e.strerror
        raise MidigenError(f"cannot listen on {host_label(host)}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def _terminate_as_exit():
    """SIGTERM (``kill``, a service manager) ends the server as Ctrl-C does, through ``finally``.

    uvicorn shuts down gracefully on the signal, then raises it again under the handler that was there
    before; Python's default for SIGTERM ends the process on the spot, leaving the take folder behind.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def page_url(host: str, port: int) -> str:
    """The address to open: a wildcard binding is opened through the loopback address."""
    return f"http://{host_label('127.0.0.1' if host in WILDCARD_HOSTS else host)}:{port}/"


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, styles_dir: str | None = None,
          soundfont: str | None = None, on_ready: Callable[[str, Studio], None] | None = None,
          log_level: str = "warning") -> None:
    """Serve the studio until interrupted; ``on_ready(url, studio)`` once the port is listening."""
    import uvicorn  # loads here: the rest of midigen never needs it

    from .app import create_app

    sock = bind(host, port)
    port = sock.getsockname()[1]
    store = TakeStore()
    try:
        studio = Studio(store, styles_dir=styles_dir, soundfont=soundfont)
        app = create_app(studio, allowed_hosts(host, port))
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off",
                                               server_header=False))
        if on_ready is not None:
            on_ready(page_url(host, port), studio)
        with _terminate_as_exit():
            server.run(sockets=[sock])
    finally:
        sock.close()
        store.close()
