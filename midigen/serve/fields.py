"""JSON request bodies read strictly: sizes, types and bounds checked before any library call.

The page and any other client send JSON; what reaches ``tasks`` must be exactly what the CLI would
have passed, so each field is checked for its type here (a bool is not an int, a list of parts is a
list of strings), unknown fields are refused (a misspelt option would otherwise be silently ignored),
and the numbers the library does not bound itself (the seed) are bounded. The library's own request
objects then check the ranges they own (bars, variations, temperature …), with the CLI's wording.
"""
from __future__ import annotations

import json
import re

from ..errors import MidigenError

MAX_JSON_BYTES = 64 * 1024  # a request is a few hundred bytes; a chord chart of 512 bars a few KB
MAX_TEXT_CHARS = 4096
MAX_SEED = 2**32 - 1


class ApiError(MidigenError):
    """A MidigenError that carries the HTTP status to answer with (400 unless said)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _no_constant(name: str):
    raise ApiError(f"request body holds {name}, which is not a JSON number")


def parse_json(data: bytes) -> dict:
    """The body as a JSON object; ApiError (413 or 400) otherwise."""
    if len(data) > MAX_JSON_BYTES:
        raise ApiError(f"request body is {len(data)} bytes (at most {MAX_JSON_BYTES})", 413)
    try:
        body = json.loads(data or b"{}", parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ApiError(f"request body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError("request body must be a JSON object")
    return body


class Fields:
    """Typed access to a JSON object's fields; ``done()`` refuses any field nobody asked for."""

    def __init__(self, body: dict):
        self.body = body
        self.read: set[str] = set()

    def _get(self, name: str, required: bool):
        self.read.add(name)
        value = self.body.get(name)
        if value is None and required:
            raise ApiError(f"'{name}' is required")
        return value

    def whole(self, name: str, *, required: bool = False, default: int | None = None, low: int | None = None,
            high: int | None = None) -> int | None:
        value = self._get(name, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise ApiError(f"'{name}' must be a whole number, got {json.dumps(value)[:40]}")
        value = int(value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ApiError(f"'{name}' must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, *, default: float | None = None) -> float | None:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(f"'{name}' must be a number, got {json.dumps(value)[:40]}")
        return float(value)

    def flag(self, name: str) -> bool:
        value = self._get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise ApiError(f"'{name}' must be true or false, got {json.dumps(value)[:40]}")
        return value

    def text(self, name: str, *, required: bool = False, pattern: str | None = None) -> str | None:
        """A string (empty or blank counts as not given); ``pattern`` must match it whole."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ApiError(f"'{name}' must be a string, got {json.dumps(value)[:40]}")
        if len(value) > MAX_TEXT_CHARS:
            raise ApiError(f"'{name}' is {len(value)} characters long (at most {MAX_TEXT_CHARS})")
        value = value.strip()
        if not value:
            if required:
                raise ApiError(f"'{name}' is required")
            return None
        if pattern is not None and not re.fullmatch(pattern, value):
            raise ApiError(f"'{name}' is not valid: {value[:40]!r}")
        return value

    def names(self, name: str) -> str | None:
        """A list of names (or one comma-separated string) as the CLI's comma-separated text."""
        value = self._get(name, False)
        if value is None or value == [] or value == "":
            return None
        if isinstance(value, str):
            return self.text(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value) or len(value) > 64:
            raise ApiError(f"'{name}' must be a list of names")
        return ",".join(value)

    def numbers(self, name: str) -> str | None:
        """A list of whole numbers from 1 (or such a comma-separated string) as the CLI's text."""
        value = self._get(name, False)
        if value is None or value == [] or value == "":
            return None
        if isinstance(value, str):
            return self.text(name, pattern=r"\d{1,3}(\s*,\s*\d{1,3})*")
        if not isinstance(value, list) or len(value) > 64 or not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 999 for v in value):
            raise ApiError(f"'{name}' must be a list of numbers from 1")
        return ",".join(map(str, value))

    def sampling(self) -> dict:
        """The options every operation shares, named as ``tasks.request.SamplingRequest``'s fields."""
        return {"seed": self.whole("seed", default=0, low=0, high=MAX_SEED),
                "temperature": self.number("temperature", default=1.0),
                "top_p": self.number("top_p", default=0.95),
                "variations": self.whole("variations", default=1),  # bounded by the library (MAX_VARIATIONS)
                "strict_key": self.flag("strict_key")}

    def done(self) -> None:
        unknown = sorted(set(self.body) - self.read)
        if unknown:
            raise ApiError(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(map(str, unknown))[:200]}")
