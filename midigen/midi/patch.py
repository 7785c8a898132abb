"""Add notes to the user's MIDI file and leave everything it already holds as it was.

``continue`` and ``harmonize`` keep the user's material exactly: instead of re-writing the input from
its quantized ``Piece`` (which would move off-grid notes and round velocities and tempos), they copy the
file's events, at the file's own ticks, and add the new notes, a provenance text event, and a key
signature where the file has none. A new note goes to the part it belongs to: an existing part (the
channel of the track chunk where ``read_midi`` found that part) or a new track chunk.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from ..errors import MidigenError, file_error
from ..music.grid import DRUM_PROGRAM, MAX_TRACKS, STEPS_PER_QUARTER
from ..music.keys import mido_key_name
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, Piece
from .files import read_midi, ticks_to_steps
from .general_midi import DRUM_CHANNEL, N_CHANNELS

# Where events added at one tick go among the file's own: after them, note-offs before note-ons.
ORDER_KEPT, ORDER_ADDED, ORDER_NOTE_OFF, ORDER_NOTE_ON = range(4)


@dataclass(frozen=True)
class PartSlot:
    """Where a track of the piece lives in the file: a track chunk and one of its channels."""

    chunk: int
    channel: int
    program: int  # DRUM_PROGRAM on the drum channel


@dataclass(frozen=True)
class NewTrack:
    """A track chunk to add, for a part the file does not have."""

    name: str
    program: int  # DRUM_PROGRAM for drums


@dataclass(frozen=True, eq=False)
class SourceMidi:
    """The user's file: its bytes and the piece ``read_midi`` reads from it."""

    path: Path
    data: bytes
    piece: Piece

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def provenance(self) -> dict:
        """What a take's provenance records of the file it was made from."""
        return {"input": self.path.name, "input_sha256": self.sha256[:16]}


def _parse(data: bytes) -> mido.MidiFile:
    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=True)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as e:
        raise MidigenError(f"cannot read MIDI events: {e}") from e


def _slots(midi: mido.MidiFile) -> list[tuple[PartSlot, int]]:
    """(slot, notes) per part, as symusic splits a file: in each chunk, one part per (channel, program)
    that starts a note, in channel then program order; drums are the parts on channel 10."""
    out = []
    for c, chunk in enumerate(midi.tracks):
        program, counts = [0] * N_CHANNELS, {}
        for msg in chunk:
            if msg.type == "program_change":
                program[msg.channel] = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                key = (msg.channel, DRUM_PROGRAM if msg.channel == DRUM_CHANNEL else program[msg.channel])
                counts[key] = counts.get(key, 0) + 1
        out += [(PartSlot(c, channel, prog), counts[(channel, prog)]) for channel, prog in sorted(counts)]
    return out


def read_source(path: str | Path) -> SourceMidi:
    """Read the user's file (MidigenError naming it if it cannot be read or extended)."""
    path = Path(path)
    piece, _ = read_midi(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise file_error(path, f"cannot read: {e}") from e
    try:
        if _parse(data).type == 2:
            raise MidigenError("MIDI type 2 (independent sequences) cannot be extended")
    except MidigenError as e:
        raise file_error(path, str(e)) from e
    return SourceMidi(path, data, piece)


def part_slots(source: SourceMidi) -> tuple[PartSlot, ...]:
    """Where each track of ``source.piece`` lives in the file; MidigenError naming the file if unsure."""
    piece = source.piece
    found = _slots(_parse(source.data))
    counts = np.bincount(piece.notes[:, TRACK], minlength=len(piece.tracks))
    programs = [t.program_token_value for t in piece.tracks]
    if len(found) > MAX_TRACKS:
        raise file_error(source.path, f"has {len(found)} parts (at most {MAX_TRACKS} can be extended)")
    if [s.program for s, _ in found] != programs or any(n < k for (_, n), k in zip(found, counts)):
        raise file_error(source.path, "cannot tell which track and channel of the file holds each part")
    return tuple(s for s, _ in found)


def steps_to_ticks(steps: np.ndarray, tpq: int) -> np.ndarray:
    """Grid steps to the file's ticks, to the nearest tick (exact when tpq is a multiple of 12)."""
    steps = np.asarray(steps, dtype=np.int64)
    return (steps * 2 * tpq + STEPS_PER_QUARTER) // (2 * STEPS_PER_QUARTER)


def _absolute(chunk: mido.MidiTrack) -> tuple[list[tuple[int, int, int, mido.Message]], int]:
    """The chunk's events as (tick, order, index, message) without its end_of_track, and that event's tick."""
    events, tick, end = [], 0, 0
    for i, msg in enumerate(chunk):
        tick += msg.time
        if msg.type == "end_of_track":
            end = tick
        else:
            events.append((tick, ORDER_KEPT, i, msg))
    return events, max(end, tick)


def _delta(events: list[tuple[int, int, int, mido.Message]], end_tick: int) -> mido.MidiTrack:
    track, now = mido.MidiTrack(), 0
    for tick, _, _, msg in sorted(events, key=lambda e: e[:3]):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return track


def _free_channels(midi: mido.MidiFile) -> list[int]:
    used = {msg.channel for chunk in midi.tracks for msg in chunk if hasattr(msg, "channel")}
    return [c for c in range(N_CHANNELS) if c != DRUM_CHANNEL and c not in used]


def _clear_notes(events: list, channels: set[int], start_step: int, stop_step: int, tpq: int) -> list:
    """``events`` of one chunk without the notes on ``channels`` that start in [start_step, stop_step) once
    on the grid (as ``read_midi`` places them), each with the note-off that ends it."""
    drop, sounding = set(), {}
    for tick, _, index, msg in events:
        if msg.type not in ("note_on", "note_off") or msg.channel not in channels:
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            sounding.setdefault(key, []).append((index, start_step <= int(ticks_to_steps(tick, tpq)) < stop_step))
        elif sounding.get(key):
            started, inside = sounding[key].pop(0)
            if inside:
                drop.update((started, index))
    drop.update(i for starts in sounding.values() for i, inside in starts if inside)  # never ended
    return [e for e in events if e[2] not in drop]


def patch(source: SourceMidi, notes: np.ndarray, targets: list[PartSlot | NewTrack], *, text: str,
          key: int | None, end_steps: int, clear: tuple[int, int, list[PartSlot]] | None = None) -> bytes:
    """The source file with ``notes`` (rows as in ``Piece.notes``, on the grid; the TRACK column indexes
    ``targets``) added, ``text`` as a text event at tick 0 and ``key`` as a key signature if the file
    states none. Every track ends no earlier than ``end_steps``. ``clear=(start_step, end_step, parts)``
    first removes the notes of those parts that start in that span (``infill``); nothing else changes."""
    midi = _parse(source.data)
    tpq = midi.ticks_per_beat
    chunks = [_absolute(chunk) for chunk in midi.tracks]
    if clear is not None:
        for c, (events, end) in enumerate(chunks):
            channels = {part.channel for part in clear[2] if part.chunk == c}
            if channels:
                chunks[c] = (_clear_notes(events, channels, clear[0], clear[1], tpq), end)
    has_key = any(msg.type == "key_signature" for chunk in midi.tracks for msg in chunk)
    free = iter(_free_channels(midi))
    if midi.type == 0 and any(isinstance(t, NewTrack) for t in targets):
        midi.type = 1  # the original track stays first, whole; new parts follow as chunks of their own
    head = [(0, ORDER_ADDED, 0, mido.MetaMessage("text", text=text))]
    if key is not None and not has_key:
        head.append((0, ORDER_ADDED, 1, mido.MetaMessage("key_signature", key=mido_key_name(key))))
    chunks[0][0].extend(head)
    places = []  # (chunk index, channel) per target
    for target in targets:
        if isinstance(target, PartSlot):
            places.append((target.chunk, target.channel))
            continue
        drum = target.program == DRUM_PROGRAM
        channel = DRUM_CHANNEL if drum else next(free, None)
        if channel is None:
            raise file_error(source.path, "uses every MIDI channel: no channel is left for a new part")
        events = [(0, ORDER_ADDED, 0, mido.MetaMessage("track_name", name=target.name))]
        if key is not None:
            events.append((0, ORDER_ADDED, 1, mido.MetaMessage("key_signature", key=mido_key_name(key))))
        if not drum:
            events.append((0, ORDER_ADDED, 2, mido.Message("program_change", program=target.program, channel=channel)))
        places.append((len(chunks), channel))
        chunks.append((events, 0))
    end_tick = int(steps_to_ticks(end_steps, tpq))
    starts = steps_to_ticks(notes[:, START], tpq)
    ends = np.maximum(steps_to_ticks(notes[:, START] + notes[:, DURATION], tpq), starts + 1)
    for n, (on, off) in enumerate(zip(starts.tolist(), ends.tolist())):
        chunk, channel = places[int(notes[n, TRACK])]
        pitch, velocity = int(notes[n, PITCH]), int(notes[n, VELOCITY])
        chunks[chunk][0].append((on, ORDER_NOTE_ON, n, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
        chunks[chunk][0].append((off, ORDER_NOTE_OFF, n, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    midi.tracks = [_delta(events, max(end, end_tick, max((e[0] for e in events), default=0))) for events, end in chunks]
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()
