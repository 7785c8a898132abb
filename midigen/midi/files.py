"""Read Standard MIDI Files into Pieces and write Pieces as DAW-ready MIDI files.

Reading uses symusic (a C++ MIDI parser, ~50x faster than a pure-Python one) behind our own checks of
the file header and of the limits, so that a hostile file is refused before it reaches the parser.
Every failure becomes one ``MidigenError`` naming the file. What a DAW reads is read: a data byte above 127
(velocity 204) is clamped to 127 and counted (``meta["clamped_data_bytes"]``), and a bar longer than the
tokens' longest (up to ``MAX_READ_BAR_QUARTERS``: 10/4, 6/2) is read as two or more bars they can say
(``meta["split_meters"]``). Writing uses mido, which gives exact control of every event the DAW will see.
"""
from __future__ import annotations

import struct
from pathlib import Path

import mido
import numpy as np

from ..errors import MidigenError, file_error
from ..fsutil import atomic_write_bytes
from ..music.grid import (
    METER_DENOMINATORS,
    METERS,
    STEPS_PER_QUARTER,
    bar_length_steps,
    check_read_meter,
    split_bar,
)
from ..music.keys import key_from_signature, mido_key_name
from ..music.piece import (
    DURATION,
    MAX_READ_BARS,
    PITCH,
    START,
    TRACK,
    VELOCITY,
    Piece,
    Track,
    bar_index_of,
    bar_starts_steps,
    check_read_bars,
    quantize,
)
from .general_midi import DRUM_CHANNEL, GM_NAMES_SHORT, N_CHANNELS

MAX_FILE_BYTES = 16 * 1024 * 1024  # the largest real MIDI files are a few MB
MAX_NOTES = 500_000
MAX_TRACK_CHUNKS = 1024
MAX_MAP_EVENTS = 20_000  # tempo + time-signature events; real files have hundreds, each costs ~25 µs
TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER


def _check_header(data: bytes) -> None:
    """Refuse what symusic should never see: no MThd, SMPTE time, absurd track counts."""
    if len(data) == 0:
        raise MidigenError("empty file")
    if len(data) < 14 or data[:4] != b"MThd":
        raise MidigenError("not a Standard MIDI File (no MThd header)")
    length, fmt, n_tracks, division = struct.unpack(">IHHH", data[4:14])
    if length < 6:
        raise MidigenError(f"MIDI header chunk too short ({length} bytes)")
    if fmt > 2:
        raise MidigenError(f"unknown MIDI file format {fmt}")
    if division & 0x8000:
        raise MidigenError("SMPTE time division is not supported (only ticks per quarter note)")
    if division == 0:
        raise MidigenError("ticks per quarter note is 0")
    if n_tracks == 0:
        raise MidigenError("the file declares no tracks")
    if n_tracks > MAX_TRACK_CHUNKS:
        raise MidigenError(f"the file declares {n_tracks} tracks (at most {MAX_TRACK_CHUNKS})")


def ticks_to_steps(ticks: np.ndarray, tpq: int) -> np.ndarray:
    """Round ticks to the nearest grid step (halves round up), in exact integer arithmetic."""
    ticks = np.asarray(ticks, dtype=np.int64)
    return (ticks * 2 * STEPS_PER_QUARTER + tpq) // (2 * tpq)


def normalize_meter(numerator: int, denominator: int) -> tuple[int, int]:
    """The supported spelling of a meter with the same bar (2/1 -> 4/2, 3/1 -> 6/2, 8/32 -> 4/16); unchanged
    if none."""
    for scale in (1, 2, 4, 8):
        if (numerator * scale, denominator * scale) in METERS:
            return numerator * scale, denominator * scale
    if denominator == 1:
        return numerator * 2, 2
    while denominator > METER_DENOMINATORS[-1] and numerator % 2 == 0 and numerator > 0:
        numerator, denominator = numerator // 2, denominator // 2
    return numerator, denominator


def _meter_map(events: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """(bar, num, den) from (step, num, den) events; a change inside a bar moves to the next bar line."""
    meters = [(0, 4, 4)]
    bar_start_step, bar = 0, 0
    for step, num, den in sorted(events):
        length = bar_length_steps(*meters[-1][1:])
        bars_elapsed = max(0, -(-(step - bar_start_step) // length))  # ceil
        bar += bars_elapsed
        bar_start_step += bars_elapsed * length
        if bar > MAX_READ_BARS:
            break
        num, den = normalize_meter(num, den)
        check_read_meter(num, den)  # before its bar length is divided by: 3/0 or 1/64 would divide by zero
        meters.append((bar, num, den))
    return meters


def token_meters(meters: list[tuple[int, int, int]], n_bars: int) -> tuple[list[tuple[int, int, int]], int]:
    """(meter map, bars) with every bar the tokens cannot say split into bars they can (``split_bar``:
    a 10/4 bar becomes two 5/4 bars, 9/4 alternates 5/4 and 4/4). Notes keep their steps."""
    out, bar = [], 0
    changes = [m for m in meters if m[0] < n_bars] + [(n_bars, 0, 1)]
    for (first, num, den), (stop, _, _) in zip(changes, changes[1:]):
        if stop <= first:
            continue
        parts = split_bar(num, den)
        if len(set(parts)) == 1:
            out.append((bar, *parts[0]))
            bar += (stop - first) * len(parts)
            continue
        for _ in range(stop - first):
            for part in parts:
                out.append((bar, *part))
                bar += 1
    return out, bar


MAX_CLAMP_BYTES = 4 * 1024 * 1024  # clamping walks the events in Python (~1 s for 4 MB of the densest events)
_DATA_BYTES = [0] * 256  # data bytes after each status byte, as mido reads them; 0: not a channel or system message
for _status in range(0x80, 0xF0):
    _DATA_BYTES[_status] = 1 if 0xC0 <= _status < 0xE0 else 2
_DATA_BYTES[0xF1] = _DATA_BYTES[0xF3] = 1
_DATA_BYTES[0xF2] = 2


def clamp_data_bytes(data: bytes) -> tuple[bytes, int]:
    """(the file with every data byte of a channel message above 127 set to 127, how many were): what
    a DAW (and mido's ``clip=True``) reads where a sequencer wrote velocity 204 or controller value 200.
    Track chunks are walked as mido walks them (running status, meta and sysex lengths); the walk stops
    at the first thing it cannot follow and leaves the rest to the parser."""
    out = bytearray(data)
    count, pos = 0, 8 + int.from_bytes(out[4:8], "big")  # after the MThd chunk
    while pos + 8 <= len(out):
        length = int.from_bytes(out[pos + 4:pos + 8], "big")
        if out[pos:pos + 4] == b"MTrk":
            count += _clamp_track(out, pos + 8, min(pos + 8 + length, len(out)))
        pos += 8 + length
    return bytes(out), count


def _clamp_track(buf: bytearray, pos: int, end: int) -> int:
    count, running, data_bytes = 0, 0, _DATA_BYTES  # running: data bytes of the running status (0: none)
    while pos < end:
        while buf[pos] > 127:  # delta time
            pos += 1
            if pos == end:
                return count
        pos += 1
        if pos == end:
            break
        status = buf[pos]
        if status < 0x80:  # running status: this byte is the first data byte
            n = running
            if not n:
                break
        elif status == 0xFF or status == 0xF0 or status == 0xF7:  # meta (type, length, data) or sysex (length, data)
            pos += 2 if status == 0xFF else 1
            length = 0
            while pos < end:
                length = (length << 7) | (buf[pos] & 0x7F)
                pos += 1
                if buf[pos - 1] < 0x80:
                    break
            pos += length
            if status != 0xFF:  # meta leaves the running status alone, sysex ends it
                running = 0
            continue
        else:
            n = running = data_bytes[status]
            if not n:
                break
            pos += 1
        if pos < end and (buf[pos] > 127 or (n == 2 and pos + 1 < end and buf[pos + 1] > 127)):
            for i in range(pos, min(pos + n, end)):
                if buf[i] > 127:
                    buf[i] = 127
                    count += 1
        pos += n
    return count


def read_midi(path: str | Path, data: bytes | None = None) -> tuple[Piece, int]:
    """(quantized piece, number of notes in the file) for a MIDI file; MidigenError naming the file."""
    path = Path(path)
    try:
        if data is None:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise MidigenError(f"file is {size / 2**20:.0f} MB (at most {MAX_FILE_BYTES // 2**20} MB)")
            data = path.read_bytes()
        return _parse(data)
    except MidigenError as e:
        raise file_error(path, str(e)) from e
    except (OSError, RuntimeError, ValueError, IndexError, OverflowError) as e:
        raise file_error(path, f"cannot read MIDI: {e}") from e


def _parse(data: bytes) -> tuple[Piece, int]:
    from symusic import Score

    if len(data) > MAX_FILE_BYTES:
        raise MidigenError(f"file is {len(data) / 2**20:.0f} MB (at most {MAX_FILE_BYTES // 2**20} MB)")
    _check_header(data)
    clamped = 0
    try:
        score = Score.from_midi(data)
    except (RuntimeError, ValueError, IndexError, OverflowError) as e:  # "Get velocity=204": a data byte over 127?
        if len(data) > MAX_CLAMP_BYTES:
            hint = f" (data bytes above 127 are clamped in files of at most {MAX_CLAMP_BYTES // 2**20} MB)"
            hint = hint if str(e).startswith("Get ") else ""
            raise MidigenError(f"cannot read MIDI: {e}{hint}") from e
        data, clamped = clamp_data_bytes(data)
        if not clamped:
            raise
        score = Score.from_midi(data)
    tpq = int(score.ticks_per_quarter)
    n_in = sum(t.note_num() for t in score.tracks)
    if n_in > MAX_NOTES:
        raise MidigenError(f"{n_in} notes (at most {MAX_NOTES})")
    if n_in == 0:
        raise MidigenError("no notes")
    n_map = len(score.tempos) + len(score.time_signatures)
    if n_map > MAX_MAP_EVENTS:
        raise MidigenError(f"{n_map} tempo and time-signature events (at most {MAX_MAP_EVENTS})")

    tracks, parts = [], []
    for track in score.tracks:
        arrays = track.notes.numpy()
        if len(arrays["time"]) == 0:
            continue
        t = len(tracks)
        tracks.append(Track(int(track.program), bool(track.is_drum), str(track.name)))
        keep = arrays["velocity"] > 0
        part = np.empty((int(keep.sum()), 5), dtype=np.int64)
        part[:, START] = ticks_to_steps(arrays["time"][keep], tpq)
        part[:, DURATION] = ticks_to_steps(arrays["duration"][keep], tpq)
        part[:, PITCH] = arrays["pitch"][keep]
        part[:, VELOCITY] = arrays["velocity"][keep]
        part[:, TRACK] = t
        parts.append(part)
    notes = np.concatenate(parts)
    if (notes[:, START] < 0).any() or (notes[:, DURATION] < 0).any():
        raise MidigenError("negative note times")

    ts = score.time_signatures.numpy()
    meters = _meter_map(list(zip(ticks_to_steps(ts["time"], tpq).tolist(), ts["numerator"].tolist(),
                                 ts["denominator"].tolist())))
    ends = notes[:, START] + np.maximum(notes[:, DURATION], 1)
    last_step = int(ends.max()) - 1
    n_bars = int(bar_index_of(last_step, meters, 1)) + 1
    check_read_bars(n_bars)
    meta: dict = {}
    split = {f"{num}/{den}": " ".join(f"{n}/{d}" for n, d in split_bar(num, den)) for bar, num, den in meters
             if (num, den) not in METERS and bar < n_bars}
    if split:
        meta["split_meters"] = split  # "10/4": "5/4 5/4": each bar of the file is read as these bars
        meters, n_bars = token_meters(meters, n_bars)
        check_read_bars(n_bars)
    if clamped:
        meta["clamped_data_bytes"] = clamped

    tempo = score.tempos.numpy()
    tempos = [(int(s), 6e7 / int(m)) for s, m in zip(ticks_to_steps(tempo["time"], tpq), tempo["mspq"]) if m > 0]
    keys = score.key_signatures.numpy()
    key = None
    if len(keys["time"]) and -7 <= int(keys["key"][0]) <= 7:
        key = key_from_signature(int(keys["key"][0]), int(keys["tonality"][0]) == 1)
    raw = Piece(notes=notes, tracks=tuple(tracks), meters=tuple(meters), tempos=tuple(tempos) or ((0, 120.0),),
                key=key, n_bars=n_bars, meta={"track_names": [t.name for t in tracks], **meta})
    return quantize(raw), n_in


def _channels(tracks: tuple[Track, ...]) -> list[int]:
    """MIDI channel per track: drums on ``DRUM_CHANNEL`` only, others round the other 15."""
    melodic = [c for c in range(N_CHANNELS) if c != DRUM_CHANNEL]
    out, n = [], 0
    for track in tracks:
        if track.is_drum:
            out.append(DRUM_CHANNEL)
        else:
            out.append(melodic[n % len(melodic)])
            n += 1
    return out


def track_display_name(track: Track, index: int) -> str:
    if track.name:
        return track.name
    if track.is_drum:
        return "Drums"
    return f"{GM_NAMES_SHORT[track.program // 8]} {index + 1}"


def to_midi_file(piece: Piece, *, key_signature: int | None = None, text: str | None = None) -> mido.MidiFile:
    """Standard MIDI File type 1, 480 ticks per quarter: a conductor track, then one track per part."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    bar_starts = bar_starts_steps(piece.meters, piece.n_bars)
    end_tick = int(bar_starts[-1]) * TICKS_PER_STEP
    conductor: list[tuple[int, int, mido.MetaMessage]] = [(0, 0, mido.MetaMessage("track_name", name=piece.meta.get("title", "midigen")))]
    if text:
        conductor.append((0, 0, mido.MetaMessage("text", text=text)))
    for bar, num, den in piece.meters:
        conductor.append((int(bar_starts[bar]) * TICKS_PER_STEP, 1, mido.MetaMessage(
            "time_signature", numerator=num, denominator=den, clocks_per_click=24, notated_32nd_notes_per_beat=8)))
    key = piece.key if key_signature is None else key_signature
    if key is not None:
        conductor.append((0, 2, mido.MetaMessage("key_signature", key=mido_key_name(key))))
    for step, bpm in piece.tempos:
        conductor.append((int(step) * TICKS_PER_STEP, 3, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    midi.tracks.append(_to_track(conductor, end_tick))

    channels = _channels(piece.tracks)
    names = piece.meta.get("track_names") or []
    for t, track in enumerate(piece.tracks):
        channel = channels[t]
        name = names[t] if t < len(names) and names[t] else track_display_name(track, t)
        events = [(0, 0, mido.MetaMessage("track_name", name=name))]
        if key is not None:  # also on each part: MuseScore 3 reads key signatures only from note tracks
            events.append((0, 0, mido.MetaMessage("key_signature", key=mido_key_name(key))))
        if not track.is_drum:
            events.append((0, 1, mido.Message("program_change", program=track.program, channel=channel)))
        for start, duration, pitch, velocity, _ in piece.notes[piece.notes[:, TRACK] == t].tolist():
            on, off = start * TICKS_PER_STEP, (start + duration) * TICKS_PER_STEP
            events.append((on, 3, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
            events.append((off, 2, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
        midi.tracks.append(_to_track(events, max(end_tick, max((e[0] for e in events), default=0))))
    return midi


def _to_track(events: list[tuple[int, int, mido.Message]], end_tick: int) -> mido.MidiTrack:
    """Absolute (tick, order, message) events into a delta-timed track; at one tick, offs before ons."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return track


def midi_bytes(piece: Piece, **kwargs) -> bytes:
    import io

    buffer = io.BytesIO()
    to_midi_file(piece, **kwargs).save(file=buffer)
    return buffer.getvalue()


def write_midi(piece: Piece, path: str | Path, **kwargs) -> Path:
    """Write the piece atomically (temp file + rename): an interrupted write never leaves half a file."""
    path = Path(path)
    atomic_write_bytes(path, midi_bytes(piece, **kwargs))
    return path
