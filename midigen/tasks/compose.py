"""``compose``: new pieces in a style, under the user's key, tempo, meter, length and range.

The request is validated in one place (``ComposeRequest``); what the user leaves unset comes from the
style's corpus statistics in its bundle. The sampler is masked by the grammar and the constraints, so
every take decodes to exactly ``bars`` bars; the MIDI carries the exact requested tempo, the meter,
the key signature, one named track per part (``parts``) and a provenance text event from which the
take can be reproduced. ``continuation`` and ``harmonize`` reuse the sampling options, provenance and
output paths defined here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import MidigenError
from ..midi.files import write_midi
from ..music.chord_symbols import chord_name, parse_progression, progression_changes
from ..music.chords import block_chord_notes
from ..music.grid import MAX_TRACKS, METERS, TEMPO_MARKS_BPM, nearest_index
from ..music.keys import KEY_NAMES, parse_key
from ..music.piece import TRACK, Piece, Track, bar_starts_steps, sort_notes
from ..sampling.constraints import ConstrainedState, Constraints
from ..sampling.locks import ChordScheduleState
from ..sampling.sampler import SamplingParams, sample_prompted
from ..styles.bundle import Bundle, load_for_sampling
from ..styles.parts import choose_parts, style_parts
from ..styles.registry import find_style
from ..tokens.tokenizer import decode
from ..tokens.vocab import UNKNOWN_KEY, VOCAB

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


def check_sampling(temperature: float, top_p: float, variations: int) -> None:
    """The sampling options every command shares (validated here for all of them)."""
    if not 0 <= temperature <= 5:
        raise MidigenError(f"--temperature must be between 0 and 5, got {temperature:g}")
    if not 0 < top_p <= 1:
        raise MidigenError(f"--top-p must be in (0, 1], got {top_p:g}")
    if not 1 <= variations <= MAX_VARIATIONS:
        raise MidigenError(f"--variations must be between 1 and {MAX_VARIATIONS}, got {variations}")


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
    parts: tuple[str, ...] | None = None  # names of the style's parts to write (None: all)
    chords: tuple[tuple[int, ...], ...] | None = None  # chord values bar by bar (``parse_progression``), looped
    chords_track: bool = False  # also write the chords as a block-chord part

    @property
    def chords_text(self) -> str | None:
        return None if self.chords is None else " | ".join(" ".join(chord_name(c) for c in bar) for bar in self.chords)

    def __post_init__(self) -> None:
        if not 1 <= self.bars <= MAX_BARS:
            raise MidigenError(f"--bars must be between 1 and {MAX_BARS}, got {self.bars}")
        if self.tempo_bpm is not None and not MIN_TEMPO_BPM <= self.tempo_bpm <= MAX_TEMPO_BPM:
            raise MidigenError(f"--tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} bpm, got {self.tempo_bpm:g}")
        if self.meter is not None and tuple(self.meter) not in METERS:
            raise MidigenError(f"unsupported time signature {self.meter[0]}/{self.meter[1]}")
        if self.key is not None and not 0 <= self.key < 24:
            raise MidigenError(f"key must be 0-23, got {self.key}")
        check_sampling(self.temperature, self.top_p, self.variations)
        if self.program is not None and not 0 <= self.program <= 127:
            raise MidigenError(f"--program must be a General MIDI program 0-127, got {self.program}")
        if self.chords is not None and len(self.chords) > self.bars:
            raise MidigenError(f"the progression has {len(self.chords)} bars, more than --bars {self.bars}")
        if self.chords_track and self.chords is None:
            raise MidigenError("--chords-track needs --chords")


@dataclass(frozen=True)
class Take:
    piece: Piece
    seed: int
    provenance: dict

    def provenance_text(self) -> str:
        """The text meta event every written take carries, from which it can be reproduced."""
        return "midigen " + json.dumps(self.provenance, sort_keys=True, separators=(",", ":"))


def style_defaults(meta: dict) -> dict:
    """Key, tempo, meter and parts (its instrumentation, named) the style's corpus uses most."""
    stats = meta.get("corpus", {}).get("stats", {})

    def most_common(name: str, fallback):
        values = stats.get(name) or {}
        return max(values, key=values.get) if values else fallback

    key_name = most_common("keys", "C major")
    meter = most_common("meters", "4/4")
    parts = style_parts(meta)
    return {
        "key": parse_key(key_name) if key_name in KEY_NAMES else None,
        "tempo_bpm": float(most_common("tempos_bpm", 120)),
        "meter": parse_meter(meter),
        "parts": parts,
        "programs": [p.program for p in parts],
        "pitch_range": (int(stats.get("pitch_min", 0)), int(stats.get("pitch_max", 127))),
    }


def header_ids(key: int | None, meter, tempo_bpm: float, tracks: list[Track], style_slot) -> list[int]:
    """BOS [Style] Key TimeSig Tempo Program+ Bar: the prompt of a piece that starts from nothing."""
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
    """The request with every unset value filled from the style.

    The model always writes every part of the style (the instrumentation it learnt); ``--parts`` chooses
    which of them the file keeps, so a soprano and a bass are the outer voices of a full texture.
    """
    check_composable(bundle)
    defaults = style_defaults(bundle.meta)
    parts = defaults["parts"]
    chosen = parts if request.parts is None else choose_parts(parts, request.parts, bundle.name)
    return {
        "key": request.key if request.key is not None else defaults["key"],
        "tempo_bpm": request.tempo_bpm if request.tempo_bpm is not None else defaults["tempo_bpm"],
        "meter": tuple(request.meter or defaults["meter"]),
        "parts": chosen,
        "tracks": [p.track(request.program) for p in parts],
        "written": tuple(i for i, p in enumerate(parts) if p in chosen),
        "pitch_range": request.pitch_range or (0, 127),
        "style_slot": style_slot(bundle),
    }


def keep_tracks(piece: Piece, tracks: tuple[int, ...], names: list[str]) -> Piece:
    """The piece with only ``tracks`` (renumbered 0, 1, … in that order), named ``names``."""
    notes = piece.notes[np.isin(piece.notes[:, TRACK], tracks)].copy()
    renumber = np.zeros(max(len(piece.tracks), 1), dtype=np.int64)
    renumber[list(tracks)] = np.arange(len(tracks))
    notes[:, TRACK] = renumber[notes[:, TRACK]]
    return piece.replace(notes=notes, tracks=tuple(piece.tracks[t] for t in tracks),
                         meta={**piece.meta, "track_names": names})


def check_composable(bundle: Bundle) -> None:
    """MidigenError for a multi-style base model: it is for ``midigen train`` to fine-tune, not to write in."""
    if bundle.meta.get("corpora"):
        labels = ", ".join(c["label"] for c in bundle.meta["corpora"])
        raise MidigenError(f"'{bundle.name}' is a multi-style base model ({labels}) for `midigen train` to fine-tune, "
                           "not a style to compose in: pick one from `midigen styles list`")


def sampling_bundle(style: str | Bundle, styles_dir=None, device: str = "cpu") -> Bundle:
    """``style`` as given (a loaded bundle), or the named style loaded to sample with on ``device``."""
    return style if isinstance(style, Bundle) else load_for_sampling(find_style(style, styles_dir), device)


def style_slot(bundle: Bundle) -> int | None:
    """The Style token the bundle was trained with (None: none)."""
    return bundle.meta.get("training", {}).get("style_slot")


def provenance(bundle: Bundle, command: str, seed: int, variation: int, temperature: float, top_p: float, **more) -> dict:
    """What a take's text event records: enough to make the same take again."""
    return {"midigen": __version__, "command": command, "style": bundle.name, "bundle_sha256": bundle.weights_sha256[:16],
            "seed": seed, "variation": variation, "temperature": temperature, "top_p": top_p, **more}


def compose(style: str | Bundle, request: ComposeRequest, *, styles_dir=None, device: str = "cpu") -> list[Take]:
    """``request.variations`` takes in the style, sampled in one batch."""
    bundle = sampling_bundle(style, styles_dir, device)
    r = resolve(bundle, request)
    constraints = Constraints(bars=request.bars, meter=r["meter"], key=r["key"], strict_key=request.strict_key,
                              pitch_low=r["pitch_range"][0], pitch_high=r["pitch_range"][1],
                              drum_tracks=frozenset(i for i, t in enumerate(r["tracks"]) if t.is_drum),
                              written_tracks=frozenset(r["written"]))
    constraints.check()
    prompt = header_ids(r["key"], r["meter"], r["tempo_bpm"], r["tracks"], r["style_slot"])
    params = SamplingParams(temperature=request.temperature, top_p=request.top_p)
    changes = None
    if request.chords is not None:
        bar_starts = bar_starts_steps(((0, *r["meter"]),), request.bars)
        changes = progression_changes([list(bar) for bar in request.chords], bar_starts, request.bars)

    def new_state():
        state = ConstrainedState(constraints)
        return state if changes is None else ChordScheduleState(state, changes)

    rows = sample_prompted(bundle.model, prompt, new_state, request.variations, params, seed=request.seed, device=device)
    takes = []
    for i, ids in enumerate(rows):
        piece = decode(ids).replace(tracks=tuple(r["tracks"]), meta={"title": f"{bundle.name} take {i + 1}"})
        piece = keep_tracks(piece, r["written"], [p.title for p in r["parts"]])
        piece = piece.replace(tempos=((0, float(r["tempo_bpm"])),) + piece.tempos[1:], style=None)
        if request.chords_track:
            piece = with_chords_track(piece)
        record = provenance(
            bundle, "compose", request.seed, i + 1, request.temperature, request.top_p, bars=request.bars,
            key=KEY_NAMES[r["key"]] if r["key"] is not None else None, tempo_bpm=r["tempo_bpm"],
            time_sig=f"{r['meter'][0]}/{r['meter'][1]}", strict_key=request.strict_key,
            range=list(request.pitch_range) if request.pitch_range else None, program=request.program,
            parts=[p.name for p in r["parts"]], chords=request.chords_text, chords_track=request.chords_track)
        takes.append(Take(piece, request.seed, record))
    return takes


CHORDS_PROGRAM = 0  # General MIDI acoustic grand piano for the --chords-track part


def with_chords_track(piece: Piece) -> Piece:
    """The piece plus a "Chords" part sounding its chords as block chords (``chords.block_chord_notes``)."""
    track = len(piece.tracks)
    if track >= MAX_TRACKS:
        raise MidigenError(f"the style writes {track} parts: no room for a chords part (at most {MAX_TRACKS})")
    block = block_chord_notes(piece.chords, piece.end_steps, track=track)
    names = list(piece.meta.get("track_names") or [""] * track) + ["Chords"]
    return piece.replace(notes=sort_notes(np.concatenate([piece.notes, block])), tracks=piece.tracks + (Track(CHORDS_PROGRAM),),
                         meta={**piece.meta, "track_names": names})


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
        text = take.provenance_text()
        write_midi(take.piece, path, text=text)
    return paths


def parse_parts(text: str | None) -> tuple[str, ...] | None:
    """"soprano, bass" -> ("soprano", "bass"); None stays None (the style's parts are checked later)."""
    return None if text is None else tuple(name.strip().lower() for name in text.split(","))


def request_from_strings(bars: int, key: str | None = None, time_sig: str | None = None, range_: str | None = None,
                         parts: str | None = None, chords: str | None = None, **kwargs) -> ComposeRequest:
    """Build a request from the strings a user types (the CLI's parsing, shared with the Python API)."""
    progression = None if chords is None else tuple(tuple(bar) for bar in parse_progression(chords))
    return ComposeRequest(bars=bars, key=parse_key(key) if key else None, meter=parse_meter(time_sig) if time_sig else None,
                          pitch_range=parse_range(range_) if range_ else None, parts=parse_parts(parts), chords=progression,
                          **kwargs)
