"""The Starlette application: the page, its assets, the JSON API, and errors as one line of JSON.

Starlette (with uvicorn) because it is small, typed, well kept, and has a test client; the page is
plain HTML, CSS and JavaScript shipped in ``static/`` (no CDN, no build step). Every blocking call
(sampling, reading and writing files, rendering audio) runs in Starlette's thread pool, so a long
composition in one tab never stops another tab's page or audio from loading.

Errors: a ``MidigenError`` (bad input, as the CLI would word it) is a 400 (or the status an ``ApiError``
carries: 404 unknown take, 413 too large, 415 not JSON); an unknown path or method the matching 4xx; an
unexpected exception a 500. Each is ``{"error": "<one line>"}``, never a traceback page; the traceback of
a 500 goes to the server's log.
"""
from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..errors import MidigenError
from ..midi.files import MAX_FILE_BYTES
from ..music.grid import METERS
from ..music.keys import KEY_NAMES
from ..tasks.infill import MAX_HOLE_BARS  # the infill request's own bound
from ..tasks.request import MAX_REQUEST_BARS, MAX_VARIATIONS
from .describe import take_json
from .fields import MAX_JSON_BYTES, ApiError, parse_json
from .guard import LocalOnly
from .studio import Studio

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOG = logging.getLogger("midigen.serve")
SECURITY_HEADERS = [  # the page loads only its own assets, cannot be framed, and no type is sniffed
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                                 b"object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def one_line(text: str) -> str:
    return " ".join(str(text).split())[:1000]


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status_code=status, headers={"cache-control": "no-store"})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is longer than ``limit``: never held whole if it is."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(f"request body is {int(declared)} bytes (at most {limit})", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(f"request body is more than {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> dict:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ApiError("send the request as JSON (Content-Type: application/json)", 415)
    return parse_json(await read_body(request, MAX_JSON_BYTES))


def create_app(studio: Studio, hosts: frozenset[str]) -> Starlette:
    """The application for ``studio``, answering only requests that name one of ``hosts``."""

    async def page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-store"})

    async def info(request: Request) -> Response:
        return JSONResponse({"midigen": __version__, "synth": studio.audio.synth, "sound": studio.audio.note,
                             "keys": list(KEY_NAMES), "meters": [f"{n}/{d}" for n, d in METERS],
                             "limits": {"bars": MAX_REQUEST_BARS, "variations": MAX_VARIATIONS, "infill_bars": MAX_HOLE_BARS,
                                        "upload_bytes": MAX_FILE_BYTES}})

    async def styles(request: Request) -> Response:
        return JSONResponse({"styles": await run_in_threadpool(studio.styles)})

    def operation(run):
        async def endpoint(request: Request) -> Response:
            body = await json_body(request)
            records = await run_in_threadpool(run, body)
            return JSONResponse({"takes": await run_in_threadpool(lambda: [take_json(r) for r in records])})
        return endpoint

    async def upload(request: Request) -> Response:
        data = await read_body(request, MAX_FILE_BYTES)
        record = await run_in_threadpool(studio.upload, data, request.query_params.get("name"))
        return JSONResponse({"takes": [await run_in_threadpool(take_json, record)]})

    async def take(request: Request) -> Response:
        record = studio.store.get(request.path_params["take_id"])
        return JSONResponse(await run_in_threadpool(take_json, record))

    async def midi(request: Request) -> Response:
        record = studio.store.get(request.path_params["take_id"])
        return FileResponse(record.path, media_type="audio/midi", filename=record.download_name,
                            headers={"cache-control": "no-store"})

    async def audio(request: Request) -> Response:
        record = studio.store.get(request.path_params["take_id"])
        path = await run_in_threadpool(studio.audio.wav, studio.store, record, request.query_params.get("mute"))
        return FileResponse(path, media_type="audio/wav", headers={"x-midigen-synth": studio.audio.synth})

    routes = [
        Route("/", page),
        Route("/api/info", info),
        Route("/api/styles", styles),
        Route("/api/compose", operation(studio.compose), methods=["POST"]),
        Route("/api/continue", operation(studio.continue_), methods=["POST"]),
        Route("/api/infill", operation(studio.infill), methods=["POST"]),
        Route("/api/harmonize", operation(studio.harmonize), methods=["POST"]),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/takes/{take_id}", take),
        Route("/api/takes/{take_id}/midi", midi),
        Route("/api/takes/{take_id}/audio", audio),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]

    async def midigen_error(request: Request, exc: MidigenError) -> Response:
        return error(str(exc), getattr(exc, "status", 400))

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error(exc.detail if exc.status_code != 404 else f"nothing at {request.url.path[:200]}", exc.status_code)

    async def internal_error(request: Request, exc: Exception) -> Response:
        LOG.exception("%s %s failed", request.method, request.url.path)
        return error(f"internal error ({type(exc).__name__}): see the server's log", 500)

    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(LocalOnly, hosts=hosts)],
                     exception_handlers={MidigenError: midigen_error, HTTPException: http_error, Exception: internal_error})


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
