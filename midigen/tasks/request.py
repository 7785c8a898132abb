"""What every request shares: the sampling options, validated once, and what they mean to the sampler.

``SamplingRequest`` holds the options every operation takes (key, seed, temperature, top-p,
variations, strict key, max copy); ``RangedRequest`` adds the pitch range of the three that write free parts
(``harmonize`` keeps each new part in its own range instead). Each operation's request extends one of
them with its span, and says what it records of itself in a take's provenance (``provenance_fields``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import MidigenError
from ..music.keys import N_KEYS
from ..sampling.constraints import Constraints
from ..sampling.sampler import SamplingParams, Window
from .guard import check_max_copy

MAX_REQUEST_BARS = 512  # the most bars one request may ask for (``compose``, or an input plus ``continue``)
MAX_VARIATIONS = 64


def check_request_bars(bars: int) -> None:
    """MidigenError unless ``--bars`` is a length a request may ask for."""
    if not 1 <= bars <= MAX_REQUEST_BARS:
        raise MidigenError(f"--bars must be between 1 and {MAX_REQUEST_BARS}, got {bars}")


@dataclass(frozen=True, kw_only=True)
class SamplingRequest:
    """How to sample the takes; ``key`` None means the style's (``compose``) or the input's own."""

    command: ClassVar[str]  # the operation, as the CLI names it
    key: int | None = None
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 0.95
    variations: int = 1
    strict_key: bool = False  # every new pitch in the key
    max_copy: int | str | None = "auto"  # notes of a run copied from the training pieces at most (``guard``)
    window: Window = Window()  # what the sampler keeps in view of a long take (chosen by bench/long_take_bench.py)

    def __post_init__(self) -> None:
        if self.key is not None and not 0 <= self.key < N_KEYS:
            raise MidigenError(f"key must be 0-{N_KEYS - 1}, got {self.key}")
        if not 0 <= self.temperature <= 5:
            raise MidigenError(f"--temperature must be between 0 and 5, got {self.temperature:g}")
        if not 0 < self.top_p <= 1:
            raise MidigenError(f"--top-p must be in (0, 1], got {self.top_p:g}")
        if not 1 <= self.variations <= MAX_VARIATIONS:
            raise MidigenError(f"--variations must be between 1 and {MAX_VARIATIONS}, got {self.variations}")
        check_max_copy(self.max_copy)

    def params(self) -> SamplingParams:
        return SamplingParams(temperature=self.temperature, top_p=self.top_p, window=self.window)

    def constraints(self, **resolved) -> Constraints:
        """The constraints this request's own options set, with what the operation ``resolved`` (bars, meter, key …)."""
        return Constraints(strict_key=self.strict_key, **resolved)

    def provenance_fields(self) -> dict:
        """What a take records of the request that made it (``takes.provenance``; ``max_copy`` as the guard
        resolved it: ``guard.CopyGuard.record``)."""
        return {"command": self.command, "seed": self.seed, "temperature": self.temperature, "top_p": self.top_p,
                "strict_key": self.strict_key}


@dataclass(frozen=True, kw_only=True)
class RangedRequest(SamplingRequest):
    """A request whose new notes all stay inside one pitch range (None: all of MIDI's)."""

    pitch_range: tuple[int, int] | None = None

    def constraints(self, **resolved) -> Constraints:
        low, high = self.pitch_range or (0, 127)
        return super().constraints(pitch_low=low, pitch_high=high, **resolved)

    def provenance_fields(self) -> dict:
        return {**super().provenance_fields(), "range": list(self.pitch_range) if self.pitch_range else None}
