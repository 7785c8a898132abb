"""Only pages served by this server, on this machine, may talk to it: Host and Origin checks.

The server binds to 127.0.0.1, but that alone does not stop a web page elsewhere from using it: with
DNS rebinding, ``evil.example`` is made to resolve to 127.0.0.1 and its script then calls the server as
a "same-origin" page. What gives it away is the ``Host`` header (``evil.example:8765``), so every
request must name the server by an address it really has; and a cross-site request (a form posted by
another page, a fetch from another origin) carries an ``Origin`` header that is not the server's own,
so a request with one must come from the server's own origin. A request without ``Origin`` (a
top-level navigation, ``curl``) is fine: it cannot have been sent by another site's script.

Written as plain ASGI middleware, so the check runs before routing and for every path, static files
included, and answers in the same one-line JSON as every other error.
"""
from __future__ import annotations

import json
import socket

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def host_label(host: str) -> str:
    """A bind address as it appears in a Host header: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def machine_names() -> set[str]:
    """This machine's name and addresses, for a server bound to every interface (``--host 0.0.0.0``)."""
    names: set[str] = set()
    try:
        hostname = socket.gethostname()
        names.add(hostname.lower())
        names.update(socket.gethostbyname_ex(hostname)[2])
    except OSError:
        pass
    return names


def allowed_hosts(bind_host: str, port: int) -> frozenset[str]:
    """Every ``Host`` header value that names this server: loopback names and the bound address, with the
    port (and without it only on port 80, where browsers leave it out)."""
    names = set(LOOPBACK_NAMES)
    if bind_host in WILDCARD_HOSTS:
        names |= machine_names()
    else:
        names.add(host_label(bind_host.lower()))
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return frozenset(hosts)


class LocalOnly:
    """ASGI middleware: 403 for a request whose Host is not one of ``hosts`` or whose Origin (when it
    has one) is not ``http://`` + one of them; also for one a browser marks as sent cross-site."""

    def __init__(self, app, hosts: frozenset[str]):
        self.app = app
        self.hosts = hosts
        self.origins = frozenset(f"http://{host}" for host in hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self.problem(headers)
        if problem is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # none are served; refuse the handshake all the same
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": problem}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def problem(self, headers: dict[str, str]) -> str | None:
        """Why the request is refused, in one line; None when it may go on."""
        host = headers.get("host", "").strip().lower()
        if host not in self.hosts:
            return (f"Host {host[:80]!r} is not this server: open the page at the address `midigen serve` printed "
                    "(requests naming another host are refused, against DNS rebinding)")
        origin = headers.get("origin")
        if origin is not None and origin.strip().lower() not in self.origins:
            return f"requests from {origin[:80]!r} are refused: only this server's own page may use it"
        if headers.get("sec-fetch-site") == "cross-site":
            return "cross-site requests are refused: only this server's own page may use it"
        return None
