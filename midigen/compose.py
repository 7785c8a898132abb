"""``compose``: new pieces in a style, under the user's key, tempo, meter, length and range.

The request is validated in one place (``ComposeRequest``); what the user leaves unset comes from the
style's corpus statistics in its bundle. The sampler is masked by the grammar and the constraints, so
every take decodes to exactly ``bars`` bars; the MIDI carries the exact requested tempo, the meter,
the key signature and a provenance text event from which the take can be reproduced.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .bundle import Bundle, load_bundle
from .constraints import ConstrainedState, Constraints
from .errors import MidigenError
from .keys import KEY_NAMES, parse_key
from .midi_io import write_midi
from .piece import Piece, Track
from .sample import SamplingParams, sample
from .styles import find_style
from .tokenizer import decode
from .vocab import DRUM_PROGRAM, METERS, TEMPO_MARKS_BPM, UNKNOWN_KEY, VOCAB, nearest_index

MAX_BARS = 512
MIN_TEMPO_BPM, MAX_TEMPO_BPM = 20.0, 300.0
MAX_VARIATIONS = 64
_NOTE_RE = re.compile(r"^\s*([A-Ga-g])(#|b)?(-?\d+)\s*$")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_pitch(text: str) -> int:
    """MIDI pitch of a note name with octave ("C4" = 60, "F#3", "Bb5") or a number."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
    else:
        match = _NOTE_RE.match(text)
        if not match:
            raise MidigenError(f"not a pitch: {text!r} (use a note name like C3 or F#5, or a MIDI number)")
        letter, accidental, octave = match.groups()
        value = 12 * (int(octave) + 1) + _LETTER_PC[letter.upper()] + {"#": 1, "b": -1, None: 0}[accidental]
    if not 0 <= value <= 127:
        raise MidigenError(f"pitch {text!r} is outside MIDI's 0-127")
    return value


def parse_range(text: str) -> tuple[int, int]:
    """"C3-C6" -> (48, 84)."""
    parts = re.split(r"\s*(?:-|\.\.|:)\s*(?=[A-Ga-g0-9])", text.strip(), maxsplit=1)
    if len(parts) != 2:
        raise MidigenError(f"not a range: {text!r} (use LOW-HIGH, e.g. C3-C6)")
    low, high = parse_pitch(parts[0]), parse_pitch(parts[1])
    if low > high:
        raise MidigenError(f"range {text!r} is upside down (low note above high note)")
    return low, high


def parse_meter(text: str) -> tuple[int, int]:
    match = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", text or "")
    if not match:
        raise MidigenError(f"not a time signature: {text!r} (use e.g. 4/4, 3/4, 6/8)")
    meter = (int(match.group(1)), int(match.group(2)))
    if meter not in METERS:
        raise MidigenError(f"unsupported time signature {text} (denominator 2, 4, 8 or 16, numerator 1-16, "
                           "bars of at most 8 quarter notes)")
    return meter


@dataclass(frozen=True)
class ComposeRequest:
    """What the user asked for; None means "the style's most common value"."""

    bars: int
    key: int | None = None
    tempo_bpm: float | None = None
    meter: tuple[int, int] | None = None
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 0.95
    variations: int = 1
    strict_key: bool = False
    pitch_range: tuple[int, int] | None = None
    program: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.bars <= MAX_BARS:
            raise MidigenError(f"--bars must be between 1 and {MAX_BARS}, got {self.bars}")
        if self.tempo_bpm is not None and not MIN_TEMPO_BPM <= self.tempo_bpm <= MAX_TEMPO_BPM:
            raise MidigenError(f"--tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} bpm, got {self.tempo_bpm:g}")
        if self.meter is not None and tuple(self.meter) not in METERS:
            raise MidigenError(f"unsupported time signature {self.meter[0]}/{self.meter[1]}")
        if self.key is not None and not 0 <= self.key < 24:
            raise MidigenError(f"key must be 0-23, got {self.key}")
        if not 0 <= self.temperature <= 5:
            raise MidigenError(f"--temperature must be between 0 and 5, got {self.temperature:g}")
        if not 0 < self.top_p <= 1:
            raise MidigenError(f"--top-p must be in (0, 1], got {self.top_p:g}")
        if not 1 <= self.variations <= MAX_VARIATIONS:
            raise MidigenError(f"--variations must be between 1 and {MAX_VARIATIONS}, got {self.variations}")
        if self.program is not None and not 0 <= self.program <= 127:
            raise MidigenError(f"--program must be a General MIDI program 0-127, got {self.program}")


@dataclass(frozen=True)
class Take:
    piece: Piece
    seed: int
    provenance: dict


def style_defaults(meta: dict) -> dict:
    """Key, tempo, meter and instrumentation the style's corpus uses most."""
    stats = meta.get("corpus", {}).get("stats", {})

    def most_common(name: str, fallback):
        values = stats.get(name) or {}
        return max(values, key=values.get) if values else fallback

    key_name = most_common("keys", "C major")
    meter = most_common("meters", "4/4")
    instrumentation = most_common("instrumentations", None)
    if instrumentation is None:  # older statistics: the most common program, as one track
        instrumentation = most_common("programs", "0")
    programs = [DRUM_PROGRAM if p == "drums" else int(p) for p in str(instrumentation).split(",") if p != ""]
    return {
        "key": parse_key(key_name) if key_name in KEY_NAMES else None,
        "tempo_bpm": float(most_common("tempos_bpm", 120)),
        "meter": parse_meter(meter),
        "programs": programs or [0],
        "pitch_range": (int(stats.get("pitch_min", 0)), int(stats.get("pitch_max", 127))),
    }


def _header(bundle: Bundle, key: int | None, meter, tempo_bpm: float, tracks: list[Track], style_slot) -> list[int]:
    off = VOCAB.offsets
    ids = [off["BOS"]]
    if style_slot is not None:
        ids.append(off["Style"] + style_slot)
    ids.append(off["Key"] + (UNKNOWN_KEY if key is None else key))
    ids.append(off["TimeSig"] + METERS.index(tuple(meter)))
    ids.append(off["Tempo"] + int(nearest_index(TEMPO_MARKS_BPM, np.array([tempo_bpm]), log_scale=True)[0]))
    ids += [off["Program"] + t.program_token_value for t in tracks]
    ids.append(off["Bar"])
    return ids


def resolve(bundle: Bundle, request: ComposeRequest) -> dict:
    """The request with every unset value filled from the style."""
    defaults = style_defaults(bundle.meta)
    tracks = [Track(0, True) if p == DRUM_PROGRAM else Track(request.program if request.program is not None else p)
              for p in defaults["programs"]]
    return {
        "key": request.key if request.key is not None else defaults["key"],
        "tempo_bpm": request.tempo_bpm if request.tempo_bpm is not None else defaults["tempo_bpm"],
        "meter": tuple(request.meter or defaults["meter"]),
        "tracks": tracks,
        "pitch_range": request.pitch_range or (0, 127),
        "style_slot": bundle.meta.get("training", {}).get("style_slot"),
    }


def compose(style: str | Bundle, request: ComposeRequest, *, styles_dir=None, device: str = "cpu") -> list[Take]:
    """``request.variations`` takes in the style, sampled in one batch."""
    bundle = style if isinstance(style, Bundle) else load_bundle(find_style(style, styles_dir), device)
    r = resolve(bundle, request)
    constraints = Constraints(bars=request.bars, meter=r["meter"], key=r["key"], strict_key=request.strict_key,
                              pitch_low=r["pitch_range"][0], pitch_high=r["pitch_range"][1],
                              drum_tracks=frozenset(i for i, t in enumerate(r["tracks"]) if t.is_drum))
    constraints.check()
    prompt = _header(bundle, r["key"], r["meter"], r["tempo_bpm"], r["tracks"], r["style_slot"])
    states = []
    for _ in range(request.variations):
        state = ConstrainedState(constraints)
        for token in prompt:
            state.grammar.check(token)
            state.advance(token)
        states.append(state)
    params = SamplingParams(temperature=request.temperature, top_p=request.top_p)
    rows = sample(bundle.model, [np.asarray(prompt)] * request.variations, states, params, seed=request.seed,
                  device=device)
    takes = []
    for i, ids in enumerate(rows):
        piece = decode(ids)
        piece = piece.replace(tempos=((0, float(r["tempo_bpm"])),) + piece.tempos[1:], style=None,
                              meta={"title": f"{bundle.name} take {i + 1}"})
        provenance = {
            "midigen": __version__, "style": bundle.name, "bundle_sha256": bundle.weights_sha256[:16],
            "seed": request.seed, "variation": i + 1, "bars": request.bars, "key": KEY_NAMES[r["key"]] if r["key"] is not None else None,
            "tempo_bpm": r["tempo_bpm"], "time_sig": f"{r['meter'][0]}/{r['meter'][1]}",
            "temperature": request.temperature, "top_p": request.top_p, "strict_key": request.strict_key,
            "range": list(request.pitch_range) if request.pitch_range else None, "program": request.program,
        }
        takes.append(Take(piece, request.seed, provenance))
    return takes


def output_paths(out: str | Path, count: int) -> list[Path]:
    """``out.mid`` for one take; ``out-1.mid`` ... ``out-K.mid`` for K variations."""
    out = Path(out)
    if count == 1:
        return [out]
    suffix = out.suffix or ".mid"
    return [out.with_name(f"{out.stem}-{i}{suffix}") for i in range(1, count + 1)]


def check_outputs(paths: list[Path], force: bool) -> None:
    for path in paths:
        if path.exists() and not force:
            raise MidigenError(f"{path} exists (use --force to overwrite)")
        if path.is_dir():
            raise MidigenError(f"{path} is a folder")
        parent = path.parent if str(path.parent) else Path(".")
        if parent.exists() and not parent.is_dir():
            raise MidigenError(f"{parent} is not a folder")


def write_takes(takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    paths = output_paths(out, len(takes))
    check_outputs(paths, force)
    for take, path in zip(takes, paths):
        text = "midigen " + json.dumps(take.provenance, sort_keys=True, separators=(",", ":"))
        write_midi(take.piece, path, text=text)
    return paths


def request_from_strings(bars: int, key: str | None = None, time_sig: str | None = None, range_: str | None = None,
                         **kwargs) -> ComposeRequest:
    """Build a request from the strings a user types (the CLI's parsing, shared with the Python API)."""
    return ComposeRequest(bars=bars, key=parse_key(key) if key else None, meter=parse_meter(time_sig) if time_sig else None,
                          pitch_range=parse_range(range_) if range_ else None, **kwargs)
