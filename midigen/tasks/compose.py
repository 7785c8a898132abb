"""``compose``: new pieces in a style, under the user's key, tempo, meter, length and range.

The request is validated in one place (``ComposeRequest``); what the user leaves unset comes from the
style's corpus statistics in its bundle: tempo and meter are the corpus's commonest, while the key and the
instrumentation are drawn from the take's seed in proportion to the corpus's pieces (``style_key``,
``parts.take_parts``), so that takes are in the keys and for the ensembles the style really uses (greedy
sampling takes the commonest). The sampler is masked by the grammar and the constraints, so
every take decodes to exactly ``bars`` bars; the MIDI carries the exact requested tempo, the meter,
the key signature, one named track per part (``parts``) and a provenance text event from which the
take can be reproduced. The sampling itself, the provenance and the writing are the skeleton all four
operations share (``takes``, ``output``); ``harmonize`` reuses this module's header prompt.
"""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MidigenError
from ..midi.files import midi_bytes
from ..music.chord_symbols import chord_name, parse_progression, progression_changes
from ..music.chords import block_chord_notes
from ..music.grid import MAX_TRACKS, METERS, TEMPO_MARKS_BPM, nearest_index, parse_meter
from ..music.keys import KEY_NAMES, parse_key
from ..music.piece import TRACK, Piece, Track, bar_starts_steps, sort_notes
from ..music.spelling import parse_range
from ..sampling.constraints import ConstrainedState
from ..sampling.locks import ChordScheduleState
from ..styles.bundle import Bundle, read_meta
from ..styles.parts import choose_parts, draw, style_parts, take_parts
from ..styles.registry import find_style
from ..tokens.tokenizer import decode
from ..tokens.vocab import UNKNOWN_KEY, VOCAB
from .request import RangedRequest, check_request_bars
from .takes import Take, check_composable, drum_tracks, key_name, sample_takes, sampling_bundle, style_slot, write_take_files

MIN_TEMPO_BPM, MAX_TEMPO_BPM = 20.0, 300.0


@dataclass(frozen=True)
class ComposeRequest(RangedRequest):
    """What the user asked for; None means "the style's most common value". Only ``bars`` may be positional."""

    command: ClassVar[str] = "compose"
    bars: int
    _: KW_ONLY
    tempo_bpm: float | None = None
    meter: tuple[int, int] | None = None
    program: int | None = None
    parts: tuple[str, ...] | None = None  # names of the style's parts to write (None: an instrumentation of its corpus)
    chords: tuple[tuple[int, ...], ...] | None = None  # chord values bar by bar (``parse_progression``), looped
    chords_track: bool = False  # also write the chords as a block-chord part

    @property
    def chords_text(self) -> str | None:
        return None if self.chords is None else " | ".join(" ".join(chord_name(c) for c in bar) for bar in self.chords)

    def __post_init__(self) -> None:
        check_request_bars(self.bars)
        if self.tempo_bpm is not None and not MIN_TEMPO_BPM <= self.tempo_bpm <= MAX_TEMPO_BPM:
            raise MidigenError(f"--tempo must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} bpm, got {self.tempo_bpm:g}")
        if self.meter is not None and tuple(self.meter) not in METERS:
            raise MidigenError(f"unsupported time signature {self.meter[0]}/{self.meter[1]}")
        super().__post_init__()
        if self.program is not None and not 0 <= self.program <= 127:
            raise MidigenError(f"--program must be a General MIDI program 0-127, got {self.program}")
        if self.chords is not None and len(self.chords) > self.bars:
            raise MidigenError(f"the progression has {len(self.chords)} bars, more than --bars {self.bars}")
        if self.chords_track and self.chords is None:
            raise MidigenError("--chords-track needs --chords")

    def provenance_fields(self) -> dict:
        return {**super().provenance_fields(), "bars": self.bars, "program": self.program, "chords": self.chords_text,
                "chords_track": self.chords_track}


def style_defaults(meta: dict) -> dict:
    """Key, tempo and meter the style's corpus uses most, and every part it knows (``parts.style_parts``)."""
    stats = meta.get("corpus", {}).get("stats", {})

    def most_common(name: str, fallback):
        values = stats.get(name) or {}
        return max(values, key=values.get) if values else fallback

    common_key = most_common("keys", "C major")
    meter = most_common("meters", "4/4")
    parts = style_parts(meta)
    return {
        "key": parse_key(common_key) if common_key in KEY_NAMES else None,
        "tempo_bpm": float(most_common("tempos_bpm", 120)),
        "meter": parse_meter(meter),
        "parts": parts,
        "programs": [p.program for p in parts],
        "pitch_range": (int(stats.get("pitch_min", 0)), int(stats.get("pitch_max", 127))),
    }


def check_parts(style: str, request: ComposeRequest, styles_dir=None) -> None:
    """MidigenError for a ``--parts`` the style does not know, read from its ``style.json`` alone: before
    the weights load or a copy index is built."""
    if request.parts is not None:
        path = find_style(style, styles_dir)
        choose_parts(style_parts(read_meta(path, older_vocab=True)), request.parts, path.name)


def style_key(meta: dict, seed: int, greedy: bool = False) -> int | None:
    """A key drawn from ``seed`` in proportion to the corpus's pieces in each key (the commonest when
    ``greedy``); None where the corpus names no key."""
    keys = (meta.get("corpus", {}).get("stats", {}) or {}).get("keys") or {}
    counts = sorted(((parse_key(name), n) for name, n in keys.items() if name in KEY_NAMES and isinstance(n, int) and n > 0),
                    key=lambda kn: (-kn[1], kn[0]))
    return draw(counts, seed, "key", greedy) if counts else None


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

    The model writes one instrumentation of the style's corpus (``parts.take_parts``); ``--parts`` chooses
    which of its parts the file keeps, so a soprano and a bass are the outer voices of a full texture.
    """
    check_composable(bundle)
    defaults = style_defaults(bundle.meta)
    chosen = None if request.parts is None else choose_parts(defaults["parts"], request.parts, bundle.name)
    greedy = request.temperature == 0
    parts = take_parts(bundle.meta, request.seed, None if chosen is None else tuple(p.name for p in chosen), greedy)
    written = tuple(i for i, p in enumerate(parts) if chosen is None or p.name in {c.name for c in chosen})
    return {
        "key": request.key if request.key is not None else style_key(bundle.meta, request.seed, greedy),
        "tempo_bpm": request.tempo_bpm if request.tempo_bpm is not None else defaults["tempo_bpm"],
        "meter": tuple(request.meter or defaults["meter"]),
        "parts": tuple(parts[i] for i in written),
        "instrumentation": parts,
        "tracks": [p.track(request.program) for p in parts],
        "written": written,
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


MIN_PART_RANGE = 5  # semitones: a part narrower than a fourth inside --range keeps the whole --range


def part_ranges(parts, pitch_range: tuple[int, int] | None) -> tuple[tuple[int, int], ...]:
    """Each part's pitch range from its corpus statistics, inside the user's ``--range``; where the two
    overlap by less than ``MIN_PART_RANGE`` the user's range wins (what they asked for, not what the
    corpus did). Old bundles without per-part figures give every part the style's whole range."""
    low, high = pitch_range or (0, 127)
    out = []
    for part in parts:
        part_low, part_high = max(part.pitch_low, low), min(part.pitch_high, high)
        out.append((part_low, part_high) if part_high - part_low >= MIN_PART_RANGE else (low, high))
    return tuple(out)


def compose(style: str | Bundle, request: ComposeRequest, *, styles_dir=None, device: str = "cpu") -> list[Take]:
    """``request.variations`` takes in the style, sampled in one batch."""
    bundle = sampling_bundle(style, styles_dir, device)
    r = resolve(bundle, request)
    constraints = request.constraints(bars=request.bars, meter=r["meter"], key=r["key"], drum_tracks=drum_tracks(r["tracks"]),
                                      written_tracks=frozenset(r["written"]),
                                      track_ranges=part_ranges(r["instrumentation"], request.pitch_range))
    prompt = header_ids(r["key"], r["meter"], r["tempo_bpm"], r["tracks"], r["style_slot"])

    def to_piece(variation: int, row: np.ndarray) -> Piece:
        piece = decode(row).replace(tracks=tuple(r["tracks"]), meta={"title": f"{bundle.name} take {variation}"})
        piece = keep_tracks(piece, r["written"], [p.title for p in r["parts"]])
        piece = piece.replace(tempos=((0, float(r["tempo_bpm"])),) + piece.tempos[1:], style=None)
        return with_chords_track(piece) if request.chords_track else piece

    record = {"key": key_name(r["key"]), "tempo_bpm": r["tempo_bpm"], "time_sig": f"{r['meter'][0]}/{r['meter'][1]}",
              "parts": [p.name for p in r["parts"]], "instrumentation": [p.name for p in r["instrumentation"]]}
    return sample_takes(bundle, request, prompt, constraints, to_piece, record=record,
                        new_state=chord_state(request, r["meter"]), device=device)


def chord_state(request: ComposeRequest, meter: tuple[int, int]):
    """The state each row samples under: the plain constraints, or with ``--chords`` the progression's
    chords scheduled bar by bar (``ChordScheduleState``)."""
    if request.chords is None:
        return ConstrainedState
    bar_starts = bar_starts_steps(((0, *meter),), request.bars)
    changes = progression_changes([list(bar) for bar in request.chords], bar_starts, request.bars)
    return lambda constraints: ChordScheduleState(ConstrainedState(constraints), changes)


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


def write_takes(takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    """Each take as a new MIDI file carrying its provenance (``output``)."""
    return write_take_files(takes, out, lambda take: midi_bytes(take.piece, text=take.provenance_text()), force=force)


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
