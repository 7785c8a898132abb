"""``midigen corpus import music21``: the corpora that ship inside the music21 package, as MIDI files.

Each collection is a row of ``COLLECTIONS``: where its files are, how keys are decided, its licence.
Every piece is parsed by music21 in a worker process, turned into a Piece (a pickup bar padded with a
leading rest so bar lines fall on the grid, the decided key set), and written as a MIDI file by
midigen itself; ``manifest.json`` records where each piece came from and what was decided about it.
"""
from __future__ import annotations

import io
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..fsutil import atomic_write_json, atomic_write_text
from ..keys import KEY_NAMES, find_key, key_from_signature, parse_key, pitch_class_histogram
from ..midi_io import read_midi, write_midi
from ..piece import DURATION, PITCH, TRACK

LICENCE_NOTE = ("Encodings from the corpus shipped with the music21 package (BSD-licensed software; the corpus is "
                "distributed with the encoders' permission and 'some encodings may not be used for commercial "
                "uses' — see music21/corpus/license.txt and the headers of the individual files).")


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


COLLECTIONS: dict[str, Collection] = {c.name: c for c in (
    Collection("bach-chorales", "J. S. Bach's four-part chorales (MusicXML encodings)", "bach", "*.mxl", None, False,
               "aarden", LICENCE_NOTE + " Bach's music is in the public domain.", required_parts=4),
    Collection("irish-oneills", "O'Neill's Music of Ireland (1850 tunes, ABC)", "oneills1850", "*.abc", None, True,
               "temperley", LICENCE_NOTE + " O'Neill's collection (1903) is in the public domain."),
    Collection("fiddle-ryans", "Ryan's Mammoth Collection of fiddle tunes (1883, ABC)", "ryansMammoth", "*.abc", None,
               True, "temperley", LICENCE_NOTE + " Ryan's Mammoth Collection (1883) is in the public domain."),
    Collection("essen-german", "Essen Folksong Collection, songs other than the Chinese han* books (ABC)",
               "essenFolksong", "*.abc", "han", True, "temperley",
               LICENCE_NOTE + " The Essen Folksong Collection encodings (Schaffrath) are for research use; "
               "check their terms before any commercial use."),
    Collection("essen-chinese", "Essen Folksong Collection, Chinese songs (han* books, ABC)", "essenFolksong",
               "han*.abc", None, True, "temperley",
               LICENCE_NOTE + " The Essen Folksong Collection encodings (Schaffrath) are for research use; "
               "check their terms before any commercial use."),
    Collection("palestrina", "Palestrina's masses (Humdrum **kern encodings)", "palestrina", "*.krn", None, False,
               "aarden", LICENCE_NOTE + " The kern encodings of Palestrina's masses come from the CCARH/Humdrum "
               "project, whose encodings are typically licensed for non-commercial use."),
)}


@dataclass(frozen=True)
class PieceRef:
    source: str  # path inside music21/corpus, with "#X" for a tune of an ABC book
    file_name: str  # the MIDI file this piece becomes


@dataclass
class ImportReport:
    written: int
    skipped_existing: int
    failed: list[dict]
    manifest_path: Path


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
    refs = []
    for path in sorted(folder.glob(c.pattern)):
        if c.exclude_prefix and path.name.startswith(c.exclude_prefix):
            continue
        rel = f"{c.folder}/{path.name}"
        if not c.multi_tune:
            refs.append(PieceRef(rel, f"{_safe(path.stem)}.mid"))
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        numbers = re.findall(r"^X:\s*(\d+)", text, flags=re.M)
        refs += [PieceRef(f"{rel}#{x}", f"{_safe(path.stem)}_x{int(x):04d}.mid") for x in dict.fromkeys(numbers)]
    return refs


def _notated_key(score) -> tuple[int | None, int | None]:
    """(key with mode if the source states one, sharps of the key signature) from a music21 score."""
    from music21 import key as m21key

    keys = list(score.recurse().getElementsByClass(m21key.KeySignature))
    if not keys:
        return None, None
    first = keys[0]
    sharps = int(first.sharps)
    if isinstance(first, m21key.Key) and first.mode in ("major", "minor"):
        return parse_key(f"{first.tonic.name.replace('-', 'b')} {first.mode}"), sharps
    if isinstance(first, m21key.Key) and first.mode:  # church modes: the nearest of major/minor on the tonic
        minorish = first.mode in ("dorian", "phrygian", "aeolian", "locrian")
        return parse_key(f"{first.tonic.name.replace('-', 'b')} {'minor' if minorish else 'major'}"), sharps
    return None, sharps


def _pickup_padding_quarters(score) -> float:
    """Quarters of rest that complete a pickup (anacrusis) first bar, 0 if the first bar is full.

    music21 writes a pickup at time 0 (it ignores ``Measure.paddingLeft``), so every later bar line
    would sit off the grid; shifting the music right by (bar length - pickup length) fixes that.
    """
    from music21 import meter

    part = score.parts[0] if score.parts else score
    measures = list(part.getElementsByClass("Measure"))
    if len(measures) < 2:
        return 0
    signatures = list(measures[0].getElementsByClass(meter.TimeSignature)) or list(
        score.recurse().getElementsByClass(meter.TimeSignature))
    if not signatures:
        return 0
    bar_q = float(signatures[0].barDuration.quarterLength)
    second_bar_q = float(measures[1].offset)
    if 0 < second_bar_q < bar_q:
        return bar_q - second_bar_q
    return 0.0


def _copy_repeated_time_signatures(score) -> None:
    """music21's ABC reader reuses one TimeSignature object wherever a meter returns (M:4/2 .. M:4/4 ..
    M:4/2), and its own MIDI writer then refuses it ("already found in this Stream"): give every later
    bar its own copy (and drop a second placement inside one bar) so that the meter changes survive."""
    import copy

    from music21 import meter

    seen: set[int] = set()
    for measure in score.recurse().getElementsByClass("Measure"):
        here: set[int] = set()
        for element in list(measure.getElementsByClass(meter.TimeSignature)):
            if id(element) in here:
                measure.remove(element)
            elif id(element) in seen:
                measure.replace(element, copy.deepcopy(element))
            here.add(id(element))
        seen |= here


def _score_midi_bytes(score) -> tuple[bytes, bool]:
    """(MIDI bytes, repeats expanded?) from music21's MIDI export, which expands repeats and endings.

    A badly formed repeat makes music21 raise ExpanderException; the piece is then written once
    through, with its repeat signs and ending brackets removed."""
    from music21 import bar, midi, repeat, spanner

    try:
        return midi.translate.streamToMidiFile(score).writestr(), True
    except repeat.ExpanderException:
        pass
    for measure in score.recurse().getElementsByClass("Measure"):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(measure, side), bar.Repeat):
                setattr(measure, side, bar.Barline("regular"))
    for stream in list(score.recurse(streamsOnly=True, includeSelf=True)):
        for bracket in list(stream.getElementsByClass(spanner.RepeatBracket)):
            stream.remove(bracket)
    return midi.translate.streamToMidiFile(score).writestr(), False


def _shift_midi_bytes(data: bytes, shift_quarters: float) -> bytes:
    """Move every event right by ``shift_quarters``, except the set-up at tick 0 (meter, key, tempo,
    names, programs), so that a pickup starts after a leading rest and later meter changes, tempo
    changes and bar lines all land where the notation puts them."""
    import mido

    midi_file = mido.MidiFile(file=io.BytesIO(data))
    shift_ticks = round(shift_quarters * midi_file.ticks_per_beat)
    for track in midi_file.tracks:
        events, now_ticks = [], 0
        for message in track:
            now_ticks += message.time
            set_up = now_ticks == 0 and (message.is_meta or message.type in ("program_change", "control_change"))
            last = message.type == "end_of_track"
            events.append((now_ticks if set_up and not last else now_ticks + shift_ticks, last, message))
        events.sort(key=lambda e: (e[0], e[1]))  # stable: same-tick order kept, end of track last
        track[:] = [message.copy(time=tick - previous) for (tick, _, message), previous
                    in zip(events, [0] + [e[0] for e in events[:-1]])]
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()


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
        _copy_repeated_time_signatures(score)
        data, repeats_expanded = _score_midi_bytes(score)
        padding_quarters = _pickup_padding_quarters(score)
        if padding_quarters:
            data = _shift_midi_bytes(data, padding_quarters)
        piece, _ = read_midi(Path(file_name), data=data)
        notated, sharps = _notated_key(score)
        melodic = np.array([not t.is_drum for t in piece.tracks])[piece.notes[:, TRACK]]
        histogram = pitch_class_histogram(piece.notes[melodic, PITCH], piece.notes[melodic, DURATION])
        if notated is not None:
            key, key_source = notated, "notated"
        elif sharps is not None:
            candidates = (key_from_signature(sharps, False), key_from_signature(sharps, True))
            key, key_source = find_key(histogram, profile, candidates), f"signature+analysis:{profile}"
        else:
            key, key_source = find_key(histogram, profile), f"analysis:{profile}"
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
                      progress=None) -> ImportReport:
    """Write one MIDI file per piece of a collection into ``out_dir``, with manifest.json and SOURCE.md."""
    import music21

    c = collection(name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    refs = list_pieces(name)[:limit] if limit else list_pieces(name)
    manifest_path = out_dir / "manifest.json"
    previous = _previous_entries(manifest_path)
    entries, failed, todo = [], [], []
    for ref in refs:
        if (out_dir / ref.file_name).exists() and ref.file_name in previous:
            entries.append(previous[ref.file_name])
        else:
            todo.append((ref.source, ref.file_name, str(out_dir), c.key_profile))
    skipped = len(entries)
    done = skipped
    if progress:
        progress(done, len(refs))
    results = []
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for future in as_completed([pool.submit(_import_one, job) for job in todo]):
                results.append(future.result())
                done += 1
                if progress:
                    progress(done, len(refs))
    else:
        for job in todo:
            results.append(_import_one(job))
            done += 1
            if progress:
                progress(done, len(refs))
    for result in results:
        (failed if "reason" in result else entries).append(result)
    entries.sort(key=lambda e: e["file"])
    manifest = {
        "format": 1, "collection": name, "description": c.description, "music21_version": music21.__version__,
        "created": time.strftime("%Y-%m-%d"), "licence": c.licence, "provenance": f"music21/corpus/{c.folder} ({c.pattern})",
        "key_method": f"notated key where the source states a mode; else the key signature's major or relative minor "
                      f"by {c.key_profile} profile correlation; else full {c.key_profile} key finding",
        "command": f"midigen corpus import music21 {name} {out_dir}" + (f" --limit {limit}" if limit else ""),
        "pieces": entries, "failed": failed,
    }
    old = _read_json(manifest_path)
    if "split" in old:
        manifest["split"] = old["split"]
    atomic_write_json(manifest_path, manifest)
    atomic_write_text(out_dir / "SOURCE.md", _source_md(c, manifest))
    return ImportReport(len(entries) - skipped, skipped, failed, manifest_path)


def _read_json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _previous_entries(manifest_path: Path) -> dict[str, dict]:
    return {e["file"]: e for e in _read_json(manifest_path).get("pieces", []) if "file" in e}


def _source_md(c: Collection, manifest: dict) -> str:
    return (f"# {c.name}\n\n{c.description}.\n\n"
            f"- Source: `{manifest['provenance']}` in music21 {manifest['music21_version']}.\n"
            f"- Made with: `{manifest['command']}` on {manifest['created']}.\n"
            f"- Pieces written: {len(manifest['pieces'])}; not imported: {len(manifest['failed'])} "
            "(listed with reasons in manifest.json).\n"
            f"- Keys: {manifest['key_method']}.\n"
            "- Pickup bars are padded with a leading rest so that bar lines fall on the grid.\n\n"
            f"## Licence\n\n{c.licence}\n\nDo not redistribute these files without checking those terms.\n")
