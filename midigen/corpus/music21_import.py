"""``midigen corpus import music21``: the corpora that ship inside the music21 package, as MIDI files.

Each collection is a row of ``COLLECTIONS``: where its files are, how keys are decided, its licence.
Every piece is parsed by music21 in a worker process, turned into a Piece (a pickup bar padded with a
leading rest so bar lines fall on the grid, the decided key set), and written as a MIDI file by
midigen itself; ``manifest.json`` records where each piece came from and what was decided about it.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..fsutil import atomic_write_json, atomic_write_text
from ..midi.files import read_midi, write_midi
from ..music.keys import KEY_NAMES, pitch_class_histogram
from ..music.piece import DURATION, PITCH, TRACK
from .importing import ImportReport, collect, previous_entries, read_json_object
from .music21_keys import decide_key
from .music21_score import copy_repeated_time_signatures, pickup_padding_quarters, score_midi_bytes, shift_midi_bytes

LICENCE_NOTE = ("Encodings from the corpus shipped with the music21 package (BSD-licensed software; the corpus is "
                "distributed with the encoders' permission and 'some encodings may not be used for commercial "
                "uses' — see music21/corpus/license.txt and the headers of the individual files).")

ESSEN_LICENCE = (LICENCE_NOTE + " Essen Folksong Collection (encoded under Helmut Schaffrath; ABC by Seymour Schlien): "
                 "music21's corpus/essenFolksong/license.txt calls its legal status unclear, with permission for "
                 "NON-COMMERCIAL distribution and use only.")


@dataclass(frozen=True)
class Collection:
    name: str
    description: str
    folder: str  # inside music21/corpus
    pattern: str  # glob of the files
    exclude_prefix: str | None  # file names starting with this are not part of the collection
    multi_tune: bool  # ABC books: one piece per X: number
    key_profile: str
    licence: str
    required_parts: int | None = None
    one_per_tune_number: bool = False  # X: numbers name tunes across the folder: keep the first file's transcription


COLLECTIONS: dict[str, Collection] = {c.name: c for c in (
    Collection("bach-chorales", "J. S. Bach's four-part chorales (MusicXML encodings)", "bach", "*.mxl", None, False,
               "aarden", LICENCE_NOTE + " Bach's music is in the public domain; the MusicXML files (made with music21 and "
               "MuseScore) state no licence of their own: see music21 corpus/license.txt.", required_parts=4),
    Collection("irish-oneills", "O'Neill's Music of Ireland (1850 tunes, ABC; where the folder's files overlap, one "
               "transcription per tune number, from the first file in name order)", "oneills1850", "*.abc", None, True,
               "temperley", LICENCE_NOTE + " O'Neill's Music of Ireland (1903) is in the public domain; the ABC transcriptions "
               "(by volunteers named in each tune's Z: field) state no licence: see music21 corpus/license.txt.",
               one_per_tune_number=True),
    Collection("fiddle-ryans", "Ryan's Mammoth Collection of fiddle tunes (1883, ABC)", "ryansMammoth", "*.abc", None,
               True, "temperley", LICENCE_NOTE + " Ryan's Mammoth Collection (1883) is in the public domain; the ABC "
               "transcriptions (contributors named in each tune's Z: field) state no licence: see music21 "
               "corpus/license.txt."),
    Collection("essen-german", "Essen Folksong Collection, all but the Chinese han* books: European songs, mostly German (also "
               "Dutch, Lorraine, Luxembourg, Swiss, a few Irish, Hungarian, Icelandic; ABC)",
               "essenFolksong", "*.abc", "han", True, "temperley",
               ESSEN_LICENCE),
    Collection("essen-chinese", "Essen Folksong Collection, Chinese songs (han* books, ABC)", "essenFolksong",
               "han*.abc", None, True, "temperley",
               ESSEN_LICENCE),
    Collection("palestrina", "Palestrina's masses (Humdrum **kern encodings)", "palestrina", "*.krn", None, False,
               "aarden", LICENCE_NOTE + " Every file says 'Copyright 2000, John Miller. Rights to all derivative "
               "electronic formats reserved' and must be accompanied by the licensing agreement at "
               "http://www.music-cog.ohio-state.edu/HumdrumDatabases/Palestrina/license.txt: these MIDI files are such a "
               "derivative; do not redistribute them."),
)}


@dataclass(frozen=True)
class PieceRef:
    source: str  # path inside music21/corpus, with "#X" for a tune of an ABC book
    file_name: str  # the MIDI file this piece becomes


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def collection(name: str) -> Collection:
    if name not in COLLECTIONS:
        raise MidigenError(f"unknown music21 collection {name!r} (one of {', '.join(COLLECTIONS)})")
    return COLLECTIONS[name]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def list_pieces(name: str) -> list[PieceRef]:
    """Every piece of a collection, found without parsing (ABC books are scanned for X: lines)."""
    c = collection(name)
    folder = corpus_root() / c.folder
    refs: list[PieceRef] = []
    numbers_seen: set[int] = set()
    for path in sorted(folder.glob(c.pattern)):
        if c.exclude_prefix and path.name.startswith(c.exclude_prefix):
            continue
        rel = f"{c.folder}/{path.name}"
        if not c.multi_tune:
            refs.append(PieceRef(rel, f"{_safe(path.stem)}.mid"))
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        numbers = [int(x) for x in dict.fromkeys(re.findall(r"^X:\s*(\d+)", text, flags=re.M))]
        if c.one_per_tune_number:
            numbers = [x for x in numbers if x not in numbers_seen]
            numbers_seen.update(numbers)
        refs += [PieceRef(f"{rel}#{x}", f"{_safe(path.stem)}_x{x:04d}.mid") for x in numbers]
    return refs


PIECE_TIMEOUT_S = 60  # a few ABC tunes send music21 into very long loops


class _PieceTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _PieceTimeout(f"music21 took longer than {PIECE_TIMEOUT_S} s")


def _import_one(job: tuple[str, str, str, str]) -> dict:
    """Worker: parse one piece and write its MIDI; returns its manifest entry or {"source", "reason"}."""
    import signal
    import threading

    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if use_alarm:
        previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(PIECE_TIMEOUT_S)
    try:
        return _import_piece(job)
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous_handler)


def _import_piece(job: tuple[str, str, str, str]) -> dict:
    from music21 import converter, tempo

    source, file_name, out_dir, profile = job
    c_parts = None
    try:
        path, _, number = source.partition("#")
        full = corpus_root() / path
        score = converter.parse(str(full), number=int(number)) if number else converter.parse(str(full))
        required = next((c.required_parts for c in COLLECTIONS.values() if source.startswith(c.folder + "/") and c.required_parts), None)
        c_parts = len(score.parts) if hasattr(score, "parts") else 1
        if required and c_parts != required:
            return {"source": source, "reason": f"has {c_parts} parts, not {required}"}
        copy_repeated_time_signatures(score)
        padding_quarters = pickup_padding_quarters(score)
        data, repeats_expanded = score_midi_bytes(score, padding_quarters)
        if padding_quarters:
            data = shift_midi_bytes(data, padding_quarters)
        piece, _ = read_midi(Path(file_name), data=data)
        melodic = np.array([not t.is_drum for t in piece.tracks])[piece.notes[:, TRACK]]
        histogram = pitch_class_histogram(piece.notes[melodic, PITCH], piece.notes[melodic, DURATION])
        key, key_source = decide_key(score, histogram, profile)
        marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
        tempo_bpm = float(marks[0].getQuarterBPM()) if marks and marks[0].number else None
        if tempo_bpm is None:  # music21 writes 120 bpm when nothing is marked: write no tempo at all
            piece = piece.replace(tempos=())
        title = (score.metadata.title if score.metadata and score.metadata.title else Path(path).stem) or ""
        names = [p.partName or "" for p in score.parts] if hasattr(score, "parts") else []
        piece = piece.replace(key=key, meta={"title": title, "track_names": names[: len(piece.tracks)]})
        write_midi(piece, Path(out_dir) / file_name)
        meter = piece.meters[0]
        return {"file": file_name, "source": source, "title": title, "key": KEY_NAMES[key] if key is not None else None,
                "key_source": key_source, "meter": f"{meter[1]}/{meter[2]}", "tempo_bpm": tempo_bpm,
                "parts": len(piece.tracks), "pickup_padded": bool(padding_quarters), "repeats_expanded": repeats_expanded,
                "notes": piece.n_notes, "bars": piece.n_bars}
    except Exception as e:  # includes _PieceTimeout; music21 raises many unrelated types on bad encodings: report, never abort
        reason = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        return {"source": source, "reason": reason}




def import_collection(name: str, out_dir: str | Path, *, workers: int = 2, limit: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Write one MIDI file per piece of a collection into ``out_dir``, with manifest.json and SOURCE.md.

    Pieces whose MIDI file is already there (and listed in the previous manifest) are kept, not redone;
    a piece music21 cannot read is listed under ``failed`` with the reason; ``progress(done, total)``
    is called as pieces finish. MidigenError for an unknown collection."""
    c = collection(name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    refs = list_pieces(name)[:limit] if limit else list_pieces(name)
    manifest_path = out_dir / "manifest.json"
    previous = previous_entries(manifest_path)
    entries, failed, todo = [], [], []
    for ref in refs:
        if (out_dir / ref.file_name).exists() and ref.file_name in previous:
            entries.append(previous[ref.file_name])
        else:
            todo.append((ref.source, ref.file_name, str(out_dir), c.key_profile))
    skipped = len(entries)
    manifest_path = collect(_import_one, todo, workers, entries, failed, done_before=skipped, total=len(refs),
                            progress=progress, checkpoint=lambda: _write_manifest(c, out_dir, limit, entries, failed))
    return ImportReport(len(entries) - skipped, skipped, sorted(failed, key=_source_order), manifest_path)


def _source_order(entry: dict) -> tuple:
    """Sort key: corpus path, then tune number as a number (so #9 comes before #10)."""
    path, _, number = entry["source"].partition("#")
    return path, int(number) if number.isdigit() else -1


def _write_manifest(c: Collection, out_dir: Path, limit: int | None, entries: list[dict], failed: list[dict]) -> Path:
    """manifest.json (pieces by file name, failures by source) and SOURCE.md, both written atomically."""
    import music21

    manifest_path = out_dir / "manifest.json"
    name = c.name
    manifest = {
        "format": 1, "collection": name, "description": c.description, "music21_version": music21.__version__,
        "created": time.strftime("%Y-%m-%d"), "licence": c.licence, "provenance": f"music21/corpus/{c.folder} ({c.pattern})",
        "key_method": f"notated key where the source states a mode; else the key signature's major or relative minor "
                      f"by {c.key_profile} profile correlation; else full {c.key_profile} key finding",
        "command": f"midigen corpus import music21 {name} {out_dir}" + (f" --limit {limit}" if limit else ""),
        "pieces": sorted(entries, key=lambda e: e["file"]), "failed": sorted(failed, key=_source_order),
    }
    old = read_json_object(manifest_path)
    if "split" in old:
        manifest["split"] = old["split"]
    atomic_write_json(manifest_path, manifest)
    atomic_write_text(out_dir / "SOURCE.md", _source_md(c, manifest))
    return manifest_path


def _source_md(c: Collection, manifest: dict) -> str:
    return (f"# {c.name}\n\n{c.description}.\n\n"
            f"- Source: `{manifest['provenance']}` in music21 {manifest['music21_version']}.\n"
            f"- Made with: `{manifest['command']}` on {manifest['created']}.\n"
            f"- Pieces written: {len(manifest['pieces'])}; not imported: {len(manifest['failed'])} "
            "(listed with reasons in manifest.json).\n"
            f"- Keys: {manifest['key_method']}.\n"
            "- Pickup bars are padded with a leading rest so that bar lines fall on the grid; repeats are played "
            "out (music21's expansion) where that keeps the bar lines on the grid, else the piece is played once "
            "through (`repeats_expanded: false`); a tempo is written only where the source marks one.\n\n"
            f"## Licence\n\n{c.licence}\n\nDo not redistribute these files without checking those terms.\n")
