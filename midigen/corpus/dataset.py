"""Tokenized corpora, cached on disk and memory-mapped.

A folder's pieces are tokenized once: the ids of all pieces go into one flat ``tokens.bin`` (int16) and
their top-voice melodies (for the family split) into ``melody.bin`` (int8), with ``index.json`` saying
where each piece lies. Entries are keyed by the SHA-1 of the file's bytes and by the tokenizer's
fingerprint, so a second run re-tokenizes only files that changed, and memory stays flat however many
files there are: arrays are streamed to disk and read back through ``np.memmap``.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..fsutil import atomic_write_json
from ..music.chords import ANALYSIS_VERSION as CHORD_ANALYSIS
from ..music.keys import DEFAULT_KEY_PROFILE
from ..music.piece import PITCH, START, TRACK, Piece
from ..tokens.tokenizer import encode
from ..tokens.vocab import TOKENIZER_FORMAT, VOCAB
from .reader import LoadedPiece, Skipped, find_music_files, load_pieces, reading_notes

CACHE_FORMAT = 4  # 2: a file may hold several pieces (ABC books); records say what reading changed. 3: records say
# how the key was decided, and a signature the notes contradict no longer decides it. 4: drum tracks first


def default_cache_dir() -> Path:
    env = os.environ.get("MIDIGEN_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "midigen"


def tokenizer_fingerprint(key_profile: str = DEFAULT_KEY_PROFILE) -> str:
    text = json.dumps([CACHE_FORMAT, TOKENIZER_FORMAT, VOCAB.to_json(), key_profile, CHORD_ANALYSIS], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PieceRecord:
    path: str  # relative to the corpus root
    sha1: str
    offset: int  # into tokens.bin
    length: int
    melody_offset: int  # into melody.bin
    melody_length: int
    n_notes: int  # notes after quantization
    n_in: int  # notes in the file
    n_bars: int
    key: int | None
    meter: str
    tempo_bpm: float
    programs: tuple[int, ...]  # 128 = drums
    quarters: float  # length in quarter notes
    pitch_low: int  # lowest and highest pitch of the melodic tracks (0, 0 if none)
    pitch_high: int
    tune: str = ""  # "" for a whole file; the tune of an ABC book ("2" for X:2), then ``path`` ends "#2"
    reading: tuple[str, ...] = ()  # what reading changed (``reader.reading_notes``): clamped bytes, split bars...
    key_decided: str = ""  # how ``key`` was decided: one of ``keys.KEY_WAYS``
    key_signature: int | None = None  # the key the file's key signature states (None: it has none)


def melody_of(piece: Piece) -> np.ndarray:
    """Top voice: the highest-sounding non-drum track's notes in order, top note of each chord."""
    melodic = [t for t, tr in enumerate(piece.tracks) if not tr.is_drum]
    if not melodic or piece.n_notes == 0:
        return np.zeros(0, dtype=np.int8)
    notes = piece.notes
    means = {t: notes[notes[:, TRACK] == t, PITCH].mean() for t in melodic if (notes[:, TRACK] == t).any()}
    if not means:
        return np.zeros(0, dtype=np.int8)
    top = max(means, key=means.get)
    voice = notes[notes[:, TRACK] == top]
    first_at_onset = np.concatenate([[True], voice[1:, START] != voice[:-1, START]])  # sorted top note first
    return voice[first_at_onset, PITCH].astype(np.int8)


def _tokenize_file(args: tuple[str, str]) -> tuple[str, list[tuple[str, dict | str]] | str]:
    """Worker: (path, key profile) -> (path, [(tune, entry or the reason that tune was skipped)]) or
    (path, the reason the file was skipped)."""
    path, key_profile = args
    try:
        loaded = load_pieces(path, key_profile)
    except MidigenError as e:
        return path, str(e)
    return path, [(item.tune, _entry(item)) if isinstance(item, LoadedPiece) else (item.path.rpartition("#")[2], item.reason)
                  for item in loaded]


def _entry(item: LoadedPiece) -> dict:
    piece = item.piece
    return {
        "ids": encode(piece),
        "melody": melody_of(piece),
        "n_notes": piece.n_notes,
        "n_in": item.n_in,
        "n_bars": piece.n_bars,
        "key": piece.key,
        "meter": f"{piece.meters[0][1]}/{piece.meters[0][2]}",
        "tempo_bpm": float(piece.tempos[0][1]),
        "programs": tuple(t.program_token_value for t in piece.tracks),
        "quarters": piece.end_steps / 12.0,
        **_pitch_range(piece),
        "tune": item.tune,
        "reading": tuple(reading_notes(piece)),
        "key_decided": piece.meta.get("key_decided", ""),
        "key_signature": piece.meta.get("key_signature"),
    }


def _pitch_range(piece: Piece) -> dict:
    melodic = np.array([not t.is_drum for t in piece.tracks])
    pitches = piece.notes[melodic[piece.notes[:, TRACK]], PITCH] if piece.n_notes else np.zeros(0)
    if len(pitches) == 0:
        return {"pitch_low": 0, "pitch_high": 0}
    return {"pitch_low": int(pitches.min()), "pitch_high": int(pitches.max())}


class TokenDataset:
    """The tokenized pieces of one folder, memory-mapped."""

    def __init__(self, root: Path, store: Path, records: list[PieceRecord], skipped: list[Skipped]):
        self.root, self.store = root, store
        self.records, self.skipped = records, skipped
        n_tokens = sum(r.length for r in records)
        n_melody = sum(r.melody_length for r in records)
        self.tokens = np.memmap(store / "tokens.bin", dtype=np.int16, mode="r", shape=(n_tokens,)) if n_tokens else np.zeros(0, np.int16)
        self.melody = np.memmap(store / "melody.bin", dtype=np.int8, mode="r", shape=(n_melody,)) if n_melody else np.zeros(0, np.int8)

    def __len__(self) -> int:
        return len(self.records)

    def ids(self, i: int) -> np.ndarray:
        r = self.records[i]
        return self.tokens[r.offset: r.offset + r.length]

    def melody_of(self, i: int) -> np.ndarray:
        r = self.records[i]
        return self.melody[r.melody_offset: r.melody_offset + r.melody_length]

    @property
    def n_notes(self) -> int:
        return sum(r.n_notes for r in self.records)


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def build_dataset(root: str | Path, *, cache_dir: str | Path | None = None, workers: int = 2,
                  key_profile: str = DEFAULT_KEY_PROFILE, progress=None) -> TokenDataset:
    """Tokenize every supported file under ``root`` through the cache; ``progress(done, total)``."""
    root = Path(root).resolve()
    files = find_music_files(root)
    fingerprint = tokenizer_fingerprint(key_profile)
    store = Path(cache_dir or default_cache_dir()) / f"tokens-{fingerprint}" / hashlib.sha1(str(root).encode()).hexdigest()[:16]
    store.mkdir(parents=True, exist_ok=True)
    old = _load_index(store)
    old_tokens = np.memmap(store / "tokens.bin", dtype=np.int16, mode="r") if (store / "tokens.bin").exists() and old["records"] else None
    old_melody = np.memmap(store / "melody.bin", dtype=np.int8, mode="r") if (store / "melody.bin").exists() and old["records"] else None
    # sha1 -> {tune: record or reason}, as _tokenize_file gives them. Files with the same bytes (a collection
    # that holds a tune twice) share one entry per tune: listing each copy's records under the sha would give
    # every copy all of them, and the pieces of a duplicated file would double at each rebuild.
    cached: dict[str, dict[str, dict | str]] = {}
    for r in old["records"]:
        cached.setdefault(r["sha1"], {}).setdefault(r.get("tune", ""), r)
    for s in old["skipped"]:
        cached.setdefault(s["sha1"], {}).setdefault(s.get("tune", ""), s["reason"])

    shas = []
    for f in files:
        try:
            shas.append(_sha1(f))
        except OSError as e:
            shas.append(f"unreadable:{e.strerror}")
    todo = [str(f) for f, s in zip(files, shas) if s not in cached and not s.startswith("unreadable:")]
    fresh: dict[str, list | str] = {}
    done = len(files) - len(todo)
    if progress:
        progress(done, len(files))
    jobs = [(p, key_profile) for p in todo]
    if workers > 1 and len(todo) > 8:
        with ProcessPoolExecutor(workers) as pool:
            for path, result in pool.map(_tokenize_file, jobs, chunksize=8):
                fresh[path] = result
                done += 1
                if progress:
                    progress(done, len(files))
    else:
        for job in jobs:
            path, result = _tokenize_file(job)
            fresh[path] = result
            done += 1
            if progress:
                progress(done, len(files))

    records: list[PieceRecord] = []
    skipped: list[Skipped] = []
    skipped_json: list[dict] = []
    tmp_tokens, tmp_melody = store / "tokens.bin.tmp", store / "melody.bin.tmp"
    offset = melody_offset = 0
    with open(tmp_tokens, "wb") as ft, open(tmp_melody, "wb") as fm:
        for f, sha in zip(files, shas):
            rel = str(f.relative_to(root)) if f != root else f.name
            if sha.startswith("unreadable:"):
                skipped.append(Skipped(str(f), f"cannot read: {sha.split(':', 1)[1]}"))
                continue
            if sha in cached:
                results = [(tune, x if isinstance(x, str) else _cached_entry(x, old_tokens, old_melody)) for tune, x in cached[sha].items()]
            else:
                results = fresh[str(f)]
            if isinstance(results, str):  # the whole file
                results = [("", results.split(": ", 1)[-1] if results.startswith(str(f)) else results)]
            for tune, result in results:
                name = f"{rel}#{tune}" if tune else rel
                if isinstance(result, str):
                    skipped.append(Skipped(f"{f}#{tune}" if tune else str(f), result))
                    skipped_json.append({"sha1": sha, "path": name, "tune": tune, "reason": result})
                    continue
                entry = dict(result)
                ids = np.asarray(entry.pop("ids"), dtype=np.int16)
                melody = np.asarray(entry.pop("melody"), dtype=np.int8)
                ft.write(ids.tobytes())
                fm.write(melody.tobytes())
                records.append(PieceRecord(path=name, sha1=sha, offset=offset, length=len(ids), melody_offset=melody_offset,
                                           melody_length=len(melody), **{**entry, "programs": tuple(entry["programs"]),
                                                                         "reading": tuple(entry.get("reading", ()))}))
                offset += len(ids)
                melody_offset += len(melody)
    os.replace(tmp_tokens, store / "tokens.bin")
    os.replace(tmp_melody, store / "melody.bin")
    atomic_write_json(store / "index.json", {"format": CACHE_FORMAT, "root": str(root), "fingerprint": fingerprint,
                                             "records": [asdict(r) for r in records], "skipped": skipped_json,
                                             "tokens_bytes": offset * 2, "melody_bytes": melody_offset})
    return TokenDataset(root, store, records, skipped)


_LOCATION_FIELDS = ("path", "sha1", "offset", "length", "melody_offset", "melody_length")


def _cached_entry(record: dict, tokens: np.ndarray, melody: np.ndarray) -> dict:
    """A cached record as a fresh tokenizer result: its fields, ids and melody."""
    entry = {k: v for k, v in record.items() if k not in _LOCATION_FIELDS}
    entry["ids"] = tokens[record["offset"]: record["offset"] + record["length"]]
    start = record["melody_offset"]
    entry["melody"] = melody[start: start + record["melody_length"]] if record["melody_length"] else np.zeros(0, np.int8)
    return entry


def _load_index(store: Path) -> dict:
    try:
        index = json.loads((store / "index.json").read_text())
        sizes_match = (
            (store / "tokens.bin").stat().st_size == index["tokens_bytes"]
            and (store / "melody.bin").stat().st_size == index["melody_bytes"]
        )
        if index.get("format") == CACHE_FORMAT and sizes_match:  # else: a run died between renames
            return index
    except (OSError, ValueError, KeyError):
        pass
    return {"records": [], "skipped": []}
