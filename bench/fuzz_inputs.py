"""What the MIDI fuzzer feeds the reader: mutations of real files, and hand-made huge or absurd files.

Each mutator takes the bytes of a (usually valid) Standard MIDI File and a ``random.Random`` and
returns new bytes. Event-level mutators insert or damage events at real event boundaries and then fix
the track's length, so that the lie they test is the only one; the chunk-level ones lie on purpose.
"""
from __future__ import annotations

import random
import struct
from collections.abc import Callable
from pathlib import Path

Mutator = Callable[[bytes, random.Random], bytes]
MAX_VLQ = 0x0FFFFFFF  # the largest delta time or length a 4-byte variable-length quantity holds
NOTE_PAIR = b"\x00\x3c\x40\x00\x3c\x00"  # note on + note off (velocity 0) under running status, 6 bytes


# ---- structure helpers --------------------------------------------------------------------------

def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _read_vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if i >= len(data):
            break
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value, i


def header(n_tracks: int = 1, fmt: int = 0, division: int = 480, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, fmt, n_tracks, division)


def track(body: bytes, length: int | None = None) -> bytes:
    return b"MTrk" + struct.pack(">I", len(body) if length is None else length) + body


def track_spans(data: bytes) -> list[tuple[int, int]]:
    """(length field offset, body end) of each MTrk chunk, walked by the declared lengths, clipped."""
    spans, i = [], 0
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i + 4:i + 8])[0]
        if data[i:i + 4] == b"MTrk":
            spans.append((i + 4, min(len(data), i + 8 + length)))
        i += 8 + length
    return spans


def event_starts(body: bytes) -> list[int]:
    """Offsets of the events of a track body (best effort: stops at the first thing it cannot walk)."""
    starts, i, status = [], 0, 0
    while i < len(body):
        starts.append(i)
        _, i = _read_vlq(body, i)
        if i >= len(body):
            break
        byte = body[i]
        if byte == 0xFF:
            length, i = _read_vlq(body, i + 2)
            i += length
        elif byte in (0xF0, 0xF7):
            length, i = _read_vlq(body, i + 1)
            i += length
        else:
            if byte & 0x80:
                status, i = byte, i + 1
            elif not status:
                break
            i += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
    return starts


def _splice_in_track(data: bytes, rng: random.Random, new: bytes, drop: int = 0) -> bytes:
    """Replace ``drop`` bytes at a random event start of a random track with ``new``; fix its length."""
    spans = track_spans(data)
    if not spans:
        return data + track(new)
    length_at, end = rng.choice(spans)
    body_at = length_at + 4
    starts = event_starts(data[body_at:end]) or [0]
    at = body_at + rng.choice(starts)
    out = bytearray(data[:at] + new + data[at + drop:])
    old_length = struct.unpack(">I", data[length_at:length_at + 4])[0]
    out[length_at:length_at + 4] = struct.pack(">I", max(0, min(0xFFFFFFFF, old_length + len(new) - drop)))
    return bytes(out)


def _set_u16(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">H", value) + data[offset + 2:] if len(data) >= offset + 2 else data


# ---- mutators -----------------------------------------------------------------------------------

def byte_flips(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    if not out:
        return bytes([rng.randrange(256)])
    span = min(len(out), 64) if rng.random() < 0.3 else len(out)  # the header region is worth extra hits
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(span)] ^= rng.randint(1, 255)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data))] if data else data


def header_length_lie(data: bytes, rng: random.Random) -> bytes:
    length = rng.choice([0, 1, 5, 7, 8, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])
    return data[:4] + struct.pack(">I", length) + data[8:]


def track_length_lie(data: bytes, rng: random.Random) -> bytes:
    spans = track_spans(data)
    if not spans:
        return data
    length_at, end = rng.choice(spans)
    true = end - length_at - 4
    length = rng.choice([0, 1, max(0, true - 1), true + 1, 2 * true, len(data), 0x7FFFFFFF, 0xFFFFFFFF])
    return data[:length_at] + struct.pack(">I", length) + data[length_at + 4:]


def track_count(data: bytes, rng: random.Random) -> bytes:
    true = len(track_spans(data))
    return _set_u16(data, 10, rng.choice([0, 65535, true + 1, true + 7, max(0, true - 1), 1025]))


def file_format(data: bytes, rng: random.Random) -> bytes:
    return _set_u16(data, 8, rng.choice([0, 1, 2, 3, 0xFFFF]))


def division(data: bytes, rng: random.Random) -> bytes:
    return _set_u16(data, 12, rng.choice([0xE250, 0xE728, 0xE719, 0x8000, 0, 1, 0x7FFF]))


def running_status_abuse(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(3)
    if choice == 0:  # data bytes with no status before them
        return _splice_in_track(data, rng, b"\x00\x3c\x40" * rng.randint(1, 4))
    if choice == 1:  # a status byte with its data missing
        return _splice_in_track(data, rng, b"\x00" + bytes([rng.choice([0x90, 0x80, 0xB0, 0xC0, 0xE0])]))
    return _splice_in_track(data, rng, b"\x00\xff\x01\x01x\x00\x3c\x40")  # running status after a meta event


def absurd_delta(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.3:  # an over-long VLQ: more than 4 bytes of continuation
        return _splice_in_track(data, rng, b"\xff" * rng.randint(5, 40) + b"\x00\x90\x3c\x40")
    event = vlq(MAX_VLQ) + bytes([0x90 | rng.randrange(16), rng.randrange(128), rng.randint(1, 127)])
    return _splice_in_track(data, rng, event * rng.randint(1, 20))


def absurd_tempo(data: bytes, rng: random.Random) -> bytes:
    value = rng.choice([b"\x00\x00\x00", b"\x00\x00\x01", b"\xff\xff\xff", rng.randbytes(3)])
    length = rng.choice([3, 3, 3, 0, 1, 2, 4, 0x7F])
    return _splice_in_track(data, rng, b"\x00\xff\x51" + vlq(length) + value[:length])


def absurd_time_signature(data: bytes, rng: random.Random) -> bytes:
    numerator, power = rng.choice([0, 1, 3, 17, 255]), rng.choice([0, 1, 2, 6, 7, 31, 255])
    return _splice_in_track(data, rng, b"\x00\xff\x58\x04" + bytes([numerator, power, 24, 8]))


def absurd_key_signature(data: bytes, rng: random.Random) -> bytes:
    sharps, minor = rng.choice([0x80, 0x7F, 0xF9, 0x08, 0xF8]), rng.choice([0, 1, 2, 255])
    return _splice_in_track(data, rng, b"\x00\xff\x59\x02" + bytes([sharps, minor]))


def sysex_lie(data: bytes, rng: random.Random) -> bytes:
    payload = rng.randbytes(rng.randint(0, 16))
    length = rng.choice([0, 1, len(payload) + 1, len(payload) + 100, 0x7F, MAX_VLQ])
    return _splice_in_track(data, rng, b"\x00" + bytes([rng.choice([0xF0, 0xF7])]) + vlq(length) + payload)


def meta_lie(data: bytes, rng: random.Random) -> bytes:
    kind = rng.choice([0x00, 0x01, 0x03, 0x20, 0x21, 0x2F, 0x51, 0x54, 0x58, 0x59, 0x7F, 0xFF])
    payload = rng.randbytes(rng.randint(0, 8))
    length = rng.choice([0, len(payload) + 1, len(payload) + 1000, MAX_VLQ])
    return _splice_in_track(data, rng, b"\x00\xff" + bytes([kind]) + vlq(length) + payload)


def foreign_chunk(data: bytes, rng: random.Random) -> bytes:
    spans = track_spans(data)
    at = rng.choice([14] + [end for _, end in spans])
    tag = rng.choice([b"XFIH", b"RIFF", b"MThd", b"MTrk", b"\x00\x00\x00\x00"])
    body = rng.randbytes(rng.randint(0, 32))
    return data[:at] + tag + struct.pack(">I", rng.choice([len(body), 0xFFFFFFFF, 0])) + body + data[at:]


def note_flood(data: bytes, rng: random.Random) -> bytes:
    n = rng.choice([100, 10_000, 200_000])
    if rng.random() < 0.5:  # notes that never end
        return _splice_in_track(data, rng, b"\x00\x90\x3c\x40" + b"\x00\x3c\x41" * n)
    return _splice_in_track(data, rng, b"\x00\x90\x3c\x40" + NOTE_PAIR * n)


def repeat_slice(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 2:
        return data
    a = rng.randrange(len(data) - 1)
    b = rng.randint(a + 1, min(len(data), a + 64))
    return data[:b] + data[a:b] * rng.randint(2, 1000) + data[b:]


def garbage(data: bytes, rng: random.Random) -> bytes:
    del data
    noise = rng.randbytes(rng.randint(0, 4096))
    return header(rng.randint(1, 3), 1) + track(noise) if rng.random() < 0.5 else noise


MUTATORS: dict[str, Mutator] = {f.__name__: f for f in (
    byte_flips, truncate, header_length_lie, track_length_lie, track_count, file_format, division,
    running_status_abuse, absurd_delta, absurd_tempo, absurd_time_signature, absurd_key_signature, sysex_lie,
    meta_lie, foreign_chunk, note_flood, repeat_slice, garbage)}


def mutate(seeds: list[bytes], rng: random.Random) -> tuple[str, bytes]:
    """(mutator names joined by '+', mutated bytes) from a random seed file and 1-3 mutators."""
    data = rng.choice(seeds)
    if rng.random() < 0.05:  # splice two files
        other = rng.choice(seeds)
        data = data[:rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]
    names = rng.choices(list(MUTATORS), k=rng.choice([1, 1, 1, 2, 2, 3]))
    for name in names:
        data = MUTATORS[name](data, rng)
    return "+".join(names), data


# ---- hand-made files: huge, or absurd in one precise way -------------------------------------------

def huge_file(size_bytes: int = 100 * 2**20) -> bytes:
    """A valid file of ``size_bytes``: one track of note pairs (running status)."""
    body = b"\x00\x90\x3c\x40" + NOTE_PAIR * ((size_bytes - 30) // len(NOTE_PAIR)) + b"\x00\xff\x2f\x00"
    return header() + track(body)


def many_notes_file(n_notes: int = 10_000_000) -> bytes:
    return header() + track(b"\x00\x90\x3c\x40" + NOTE_PAIR * (n_notes - 1) + b"\x00\x3c\x00\x00\xff\x2f\x00")


def _just_under_limit(event: bytes, first: bytes = b"\x00\x90\x3c\x40\x01\x80\x3c\x00") -> bytes:
    """One track of ``first`` then ``event`` repeated up to just under MAX_FILE_BYTES."""
    from midigen.midi.files import MAX_FILE_BYTES

    return header() + track(first + event * ((MAX_FILE_BYTES - 64) // len(event)))


SPECIALS: dict[str, Callable[[], bytes]] = {
    "huge-100MB": huge_file,
    "notes-10M": many_notes_file,
    "notes-under-size-limit": lambda: _just_under_limit(NOTE_PAIR, first=b"\x00\x90\x3c\x40"),
    "tempos-under-size-limit": lambda: _just_under_limit(b"\x00\xff\x51\x03\x07\xa1\x20"),
    "meters-under-size-limit": lambda: _just_under_limit(b"\x00\xff\x58\x04\x03\x02\x18\x08"),
    "track-length-4GB": lambda: header() + track(b"\x00\x90\x3c\x40\x01\x80\x3c\x00", length=0xFFFFFFF0),
    "tracks-65535": lambda: header(65535, 1) + track(b"\x00\x90\x3c\x40\x01\x80\x3c\x00"),
    "tracks-0": lambda: header(0, 1) + track(b"\x00\x90\x3c\x40\x01\x80\x3c\x00"),
    "tracks-1024-full": lambda: header(1024, 1) + track(b"\x00\x90\x3c\x40" + NOTE_PAIR * 480) * 1024,  # 491,520 notes
    "smpte-25fps": lambda: header(division=0xE728) + track(b"\x00\x90\x3c\x40\x01\x80\x3c\x00"),
    "empty": lambda: b"",
}


def seed_files(corpus: Path | None, work_dir: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of the real files to mutate: ``corpus``'s MIDI files, else golden files + music21 exports."""
    if corpus is not None:
        paths = sorted(p for p in Path(corpus).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    else:
        from music21 import corpus as m21

        golden = Path(__file__).resolve().parent.parent / "tests" / "golden"
        paths = sorted(golden.glob("*.mid"))
        for source in ("bach/bwv269.mxl", "bach/bwv347.mxl", "bach/bwv153.1.mxl"):
            out = work_dir / (source.replace("/", "_").replace(".mxl", ".mid"))
            m21.parse(source).write("midi", fp=str(out))
            paths.append(out)
    return [(p.name, p.read_bytes()) for p in paths]
