"""``midigen corpus import mma``: a band corpus rendered by MMA (Musical MIDI Accompaniment) over chord charts.

MMA's groove library holds hand-written accompaniment patterns in dozens of genres (drums on channel
10, walking and root bass, comping piano and guitar, horn and string pads). For every groove file this
module has ``mma_plan`` plan songs: an intro groove, the chart played by a main groove and one of its
variations, a fill at the end of every 8-bar phrase, the ending groove; each in a key and tempo usual in
the genre, all drawn from the seed. Each song is written as an MMA file, rendered by ``mma`` in a worker
process, read back by midigen's own MIDI reader (the meter made true where MMA's counting differs from
its time signature, see ``mma_library.METER_CONVENTIONS``), checked (meter, tempo, bars) and written
by midigen (a part MMA voiced below B0 or above C8 moved by an octave, see ``_into_register``).
``manifest.json`` records what every file was made from and a held-out split by chart.
"""
from __future__ import annotations

import hashlib
import io
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import MidigenError
from ..fsutil import atomic_write_json, atomic_write_text
from ..midi.files import read_midi, write_midi
from ..music.keys import KEY_NAMES
from ..music.piece import DURATION, PITCH, START, TRACK, floor_durations
from . import mma_library as lib
from .importing import ImportReport, collect, previous_entries, read_json_object
from .mma_charts import CHARTS, GENRES, progression_text, transpose_bars
from .mma_plan import DEFAULT_SONGS_PER_FILE, Song, chart_split, plan_songs, songs_of_file

IMPORT_FORMAT = 2
RENDER_TIMEOUT_S = 60
LOWEST_PITCH, HIGHEST_PITCH = 23, 108  # B0 (a 5-string bass's low string) .. C8 (the piano's top)
PROBE_CACHE = ".mma-grooves.json"  # hidden: corpus readers skip it
COLLECTION = "mma"
DESCRIPTION = ("Band accompaniment rendered by MMA (Musical MIDI Accompaniment) from its groove library over chord charts "
               "in each genre's idiom: drums (channel 10), bass, comping and pads")


# --- the library, probed --------------------------------------------------------------------------

def select_files(install: lib.MmaInstall, libraries: tuple[str, ...] | None, genres: tuple[str, ...] | None,
                 files: tuple[str, ...] | None) -> tuple[list[tuple[str, str, tuple[int, int]]], list[str]]:
    """([(path, genre, tempo range)] chosen, in library then name order; library files the table does not know)."""
    table = lib.library_table()
    present = lib.library_files(install.lib_dir)
    unmapped = [p for p in present if p not in table and p not in lib.EXCLUDED]
    for g in genres or ():
        if g not in GENRES:
            raise MidigenError(f"unknown genre {g!r} (one of {', '.join(GENRES)})")
    for f in files or ():
        if f not in present:
            raise MidigenError(f"no groove file {f!r} in {install.lib_dir} (e.g. stdlib/swing)")
    wanted_libs = libraries or (lib.DEFAULT_LIBRARIES if not files else None)
    for name in libraries or ():
        if not (install.lib_dir / name).is_dir():
            raise MidigenError(f"no groove library {name!r} in {install.lib_dir}")
    order = {name: i for i, name in enumerate(lib.DEFAULT_LIBRARIES)}
    chosen = []
    for path in sorted(present, key=lambda p: (order.get(p.split("/")[0], len(order)), p)):
        if path not in table or (files and path not in files) or (wanted_libs and path.split("/")[0] not in wanted_libs):
            continue
        genre, tempo = table[path]
        if genres and genre not in genres:
            continue
        chosen.append((path, genre, tempo))
    return chosen, unmapped


def probe_files(install: lib.MmaInstall, chosen: list[tuple[str, str, tuple[int, int]]], cache_path: Path, workers: int,
                progress: Callable[[int, int], None] | None = None) -> tuple[list[lib.GrooveFile], list[dict]]:
    """Every chosen file's grooves as MMA reports them (cached in ``cache_path`` by MMA version and file
    size and date), and the files MMA could not load."""
    cache = read_json_object(cache_path)
    results: dict[str, tuple] = {}
    todo = []
    for path, _, _ in chosen:
        key = lib.probe_cache_key(install, path)
        entry = cache.get(path)
        if isinstance(entry, dict) and entry.get("key") == key:
            results[path] = lib.grooves_from_cache(entry)
        else:
            todo.append((path, key))
    failed = []
    done = len(results)
    if progress:
        progress(done, len(chosen))

    def probe(item):
        path, key = item
        try:
            return path, key, lib.probe_file(install, path), None
        except MidigenError as e:
            return path, key, None, str(e)

    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:  # each probe is an mma subprocess: threads suffice
            for path, key, grooves, error in pool.map(probe, todo):
                done += 1
                if error:
                    failed.append({"source": f"{path}.mma", "reason": error})
                else:
                    results[path] = grooves
                    cache[path] = lib.grooves_to_cache(key, grooves)
                if progress:
                    progress(done, len(chosen))
    finally:  # an interrupted scan keeps what it found
        if todo:
            lib.save_probe_cache(cache_path, cache)
    gfiles = [lib.GrooveFile(path, genre, tempo, results[path]) for path, genre, tempo in chosen if path in results]
    return gfiles, failed


# --- rendering --------------------------------------------------------------------------------------

def true_meter_bytes(data: bytes, meter: tuple[int, int], scale: tuple[int, int]) -> bytes:
    """MMA's MIDI with the written meter made true: every time signature set to ``meter`` and, for a
    ``scale`` other than 1, time stretched (ticks x num, division x den) with the tempo adjusted so that
    the music sounds exactly as MMA rendered it."""
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as e:
        raise MidigenError(f"mma wrote a MIDI file that cannot be read: {type(e).__name__}: {e}") from e
    num, den = scale
    for track in midi.tracks:
        for i, message in enumerate(track):
            changes = {}
            if num != 1:
                changes["time"] = message.time * num
            if message.type == "time_signature":
                changes.update(numerator=meter[0], denominator=meter[1])
            elif message.type == "set_tempo" and (num, den) != (1, 1):
                changes["tempo"] = max(1, min(0xFFFFFF, round(message.tempo * den / num)))
            if changes:
                track[i] = message.copy(**changes)
    midi.ticks_per_beat *= den
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def render_song(song: Song, out_dir: Path, mma_version: str, licence: str) -> dict:
    """Render one song with mma and write it as a midigen MIDI file; its manifest entry, or
    {"source", "file", "reason"} when mma or a check fails."""
    source = f"{song.groove_file}.mma#{song.main}"
    try:
        text = song.mma_text(mma_version)
        with tempfile.TemporaryDirectory(prefix="midigen-mma-") as tmp:
            (Path(tmp) / "song.mma").write_text(text, encoding="latin-1")
            result = lib.run_mma(["-w", "-f", "song.mid", "song.mma"], Path(tmp), RENDER_TIMEOUT_S)
            rendered = Path(tmp) / "song.mid"
            if result.returncode != 0 or not rendered.is_file():
                raise MidigenError(f"mma failed (exit {result.returncode}): {lib.mma_errors(result) or 'no MIDI file written'}")
            raw = rendered.read_bytes()
        data = true_meter_bytes(raw, song.meter, song.scale)
        piece, _ = read_midi(Path(song.file_name), data=data)
        names = list(piece.meta.get("track_names") or [])
        if [m[1:] for m in piece.meters] != [song.meter]:
            raise MidigenError(f"meter {piece.meters} read back, {song.meter[0]}/{song.meter[1]} expected")
        if abs(piece.tempos[0][1] - song.tempo_bpm) > 0.01 * song.tempo_bpm:
            raise MidigenError(f"tempo {piece.tempos[0][1]:.1f} read back, {song.tempo_bpm} expected")
        if _channel_10_notes(data) and not any(t.is_drum for t in piece.tracks):
            raise MidigenError("notes on channel 10 but no drum track read back")
        piece = _cut_to_bars(piece, song.n_bars)
        piece, moved = _into_register(piece)
        title = f"{song.genre}: {song.main} ({song.groove_file}) over {song.chart} in {KEY_NAMES[song.key]}"
        piece = piece.replace(key=song.key, meta={"title": title, "track_names": names if len(names) == len(piece.tracks) else []})
        write_midi(piece, out_dir / song.file_name)
        meter = piece.meters[0]
        chart_bars = transpose_bars(next(c for c in CHARTS if c.name == song.chart).bars, song.key)
        track_names = piece.meta["track_names"] or [""] * len(piece.tracks)
        return {
            "file": song.file_name, "source": source, "genre": song.genre, "groove_file": f"{song.groove_file}.mma",
            "groove": song.main, "grooves": {"intro": song.intro, "main": song.main, "variation": song.variation,
                                             "fill": song.fill, "ending": song.ending},
            "sections": song.sections(), "chart": song.chart, "chart_bars": len(chart_bars), "choruses": song.choruses,
            "progression": progression_text(chart_bars), "key": KEY_NAMES[song.key], "meter": f"{meter[1]}/{meter[2]}",
            "mma_time": [song.beats, f"{song.time_sig[0]}/{song.time_sig[1]}"], "tempo_bpm": song.tempo_bpm,
            "mma_tempo": song.mma_tempo, "bars": piece.n_bars, "planned_bars": song.n_bars, "notes": piece.n_notes,
            "parts": [{"name": n, "program": t.program, "drums": t.is_drum, **({"moved_semitones": moved[i]} if i in moved else {})}
                      for i, (n, t) in enumerate(zip(track_names, piece.tracks))],
            "mma_version": mma_version, "rnd_seed": song.rnd_seed, "licence": licence, "spec": spec_hash(text),
        }
    except MidigenError as e:
        return {"source": source, "file": song.file_name, "reason": " ".join(str(e).split())[:300]}


def _channel_10_notes(data: bytes) -> int:
    import mido

    return sum(1 for t in mido.MidiFile(file=io.BytesIO(data)).tracks for m in t
               if m.type == "note_on" and m.velocity and m.channel == 9)


def _cut_to_bars(piece, n_bars: int):
    """The piece cut at the end of its last planned bar (MMA lets a final chord ring past it)."""
    if piece.n_bars <= n_bars:
        return piece
    end = int(piece.bar_starts_steps(n_bars)[-1])
    notes = piece.notes[piece.notes[:, START] < end].copy()
    over = notes[:, START] + notes[:, DURATION] > end
    notes[over, DURATION] = floor_durations(end - notes[over, START])
    return piece.replace(notes=notes[notes[:, DURATION] > 0], n_bars=n_bars)


def _into_register(piece):
    """Parts MMA voiced below B0 or above C8 (a groove's fixed octave meets a low key: bass lines down to
    F#0) moved by whole octaves, the line intact, where the part then fits; {track: semitones moved}."""
    notes = piece.notes.copy()
    moved = {}
    for t, track in enumerate(piece.tracks):
        mine = notes[:, TRACK] == t
        if track.is_drum or not mine.any():
            continue
        low, high = int(notes[mine, PITCH].min()), int(notes[mine, PITCH].max())
        shift = 12 * max(0, math.ceil((LOWEST_PITCH - low) / 12)) - 12 * max(0, math.ceil((high - HIGHEST_PITCH) / 12))
        if shift and LOWEST_PITCH <= low + shift and high + shift <= HIGHEST_PITCH:
            notes[mine, PITCH] += shift
            moved[t] = shift
    return (piece.replace(notes=notes) if moved else piece), moved


def spec_hash(text: str) -> str:
    return hashlib.sha1(f"{IMPORT_FORMAT}\n{text}".encode()).hexdigest()[:16]


def _render_job(job: tuple[Song, str, str, str]) -> dict:
    song, out_dir, version, licence = job
    return render_song(song, Path(out_dir), version, licence)


# --- the import ---------------------------------------------------------------------------------------

def import_mma(out_dir: str | Path, *, genres: tuple[str, ...] | None = None, libraries: tuple[str, ...] | None = None,
               files: tuple[str, ...] | None = None, songs_per_file: int = DEFAULT_SONGS_PER_FILE, seed: int = 0,
               limit: int | None = None, workers: int = 2, progress: Callable[[int, int], None] | None = None,
               probe_progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Render MMA songs into ``out_dir`` with manifest.json and SOURCE.md (see the module docstring).

    Files already written with the same MMA text are kept (and pieces of earlier runs stay listed while
    their files are there); a song mma cannot render is listed under
    ``failed``; ``progress(done, total)`` follows the songs, ``probe_progress`` the library scan.
    MidigenError when mma is missing, or for an unknown genre, library or groove file."""
    started = time.monotonic()
    install = lib.find_mma()
    if songs_per_file < 1:
        raise MidigenError(f"songs per groove file must be at least 1 (not {songs_per_file})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen, unmapped = select_files(install, libraries, genres, files)
    if not chosen:
        raise MidigenError("no groove file matches the genres, libraries and files asked for")
    if limit:  # enough files for the round-robin's first round
        probed, probe_failed = _probe_enough(install, chosen, out_dir / PROBE_CACHE, workers, seed, songs_per_file, limit,
                                             probe_progress)
    else:
        probed, probe_failed = probe_files(install, chosen, out_dir / PROBE_CACHE, workers, probe_progress)
    songs, not_used = plan_songs(probed, seed, songs_per_file, limit)
    licence_short = f"MMA groove library: {install.licence}"
    manifest_path = out_dir / "manifest.json"
    previous = previous_entries(manifest_path)
    entries, failed, todo = [], [], []
    for song in songs:
        old = previous.get(song.file_name)
        if old and (out_dir / song.file_name).exists() and old.get("spec") == spec_hash(song.mma_text(install.version)):
            entries.append(old)
        else:
            todo.append((song, str(out_dir), install.version, licence_short))
    planned = {song.file_name for song in songs}
    earlier = [e for name, e in previous.items() if name not in planned and (out_dir / name).exists()]
    skipped = len(entries)
    entries += earlier  # pieces of an earlier, wider run stay listed while their files are there
    settings = {"seed": seed, "songs_per_file": songs_per_file, "genres": list(genres or []), "libraries": list(libraries or []),
                "files": list(files or []), "limit": limit}
    not_imported = probe_failed + not_used
    manifest_path = collect(_render_job, todo, workers, entries, failed, done_before=skipped, total=len(songs),
                            progress=progress,
                            checkpoint=lambda: _write_manifest(install, out_dir, settings, entries, failed, not_imported, unmapped))
    genre_counts = dict(sorted(Counter(e["genre"] for e in entries).items()))
    return ImportReport(len(entries) - skipped - len(earlier), skipped, sorted(failed, key=lambda f: f["source"]) + not_imported,
                        manifest_path, genre_counts, time.monotonic() - started)


def _probe_enough(install, chosen, cache_path, workers, seed, songs_per_file, limit, progress):
    """Probe files in order until ``limit`` of them give songs (``--limit`` runs scan a few files, not all)."""
    probed, failed, start = [], [], 0
    batch = max(2, 2 * workers)
    while start < len(chosen):
        got, bad = probe_files(install, chosen[start:start + batch], cache_path, workers, progress)
        probed += got
        failed += bad
        start += batch
        if sum(1 for g in probed if songs_of_file(g, seed, songs_per_file)[0]) >= limit:
            break
    return probed, failed


def licence_note(install: lib.MmaInstall) -> str:
    return (f"Rendered by MMA {install.version} (Musical MIDI Accompaniment by Bob van der Poel) from the grooves of its "
            f"library ({install.lib_dir}), licensed {install.licence}. The drum, bass and comping patterns are the groove "
            "files' own, so treat these MIDI files as derived from GPL-2+ material: keep this notice with them and "
            "pass them on only under the GPL's terms. The chord charts are midigen's (common progressions, no songs).")


def _write_manifest(install: lib.MmaInstall, out_dir: Path, settings: dict, entries: list[dict], failed: list[dict],
                    not_imported: list[dict], unmapped: list[str]) -> Path:
    manifest_path = out_dir / "manifest.json"
    entries = sorted(entries, key=lambda e: e["file"])
    command = f"midigen corpus import mma {out_dir}" + "".join(
        f" --{k.replace('_', '-')} {','.join(v) if isinstance(v, list) else v}"
        for k, v in settings.items() if v and not (k == "songs_per_file" and v == DEFAULT_SONGS_PER_FILE))
    manifest = {
        "format": 1, "collection": COLLECTION, "description": DESCRIPTION, "mma_version": install.version,
        "created": time.strftime("%Y-%m-%d"), "licence": licence_note(install),
        "provenance": f"MMA {install.version} groove library {install.lib_dir}", "command": command, "settings": settings,
        "key_method": "the chart's key, set when the song was written (MMA KeySig)",
        "genres": {g: {"pieces": n, "description": GENRES[g].description}
                   for g, n in sorted(Counter(e["genre"] for e in entries).items())},
        "charts": {c.name: {"mode": c.mode, "progression_in_c": c.progression, "genres": list(c.genres)} for c in CHARTS},
        "pieces": entries, "failed": sorted(failed, key=lambda f: f["source"]), "not_imported": not_imported,
        "unmapped_groove_files": unmapped,
        "split": chart_split(entries, settings["seed"]),
    }
    atomic_write_json(manifest_path, manifest)
    atomic_write_text(out_dir / "SOURCE.md", _source_md(manifest))
    return manifest_path


def _source_md(manifest: dict) -> str:
    genres = "\n".join(f"| {g} | {v['pieces']} | {v['description']} |" for g, v in manifest["genres"].items())
    sizes = manifest["split"]["sizes"]
    return (f"# mma\n\n{DESCRIPTION}.\n\n"
            f"- Source: {manifest['provenance']}.\n"
            f"- Made with: `{manifest['command']}` on {manifest['created']}.\n"
            f"- Pieces written: {len(manifest['pieces'])}; failed: {len(manifest['failed'])}; groove files not used: "
            f"{len(manifest['not_imported'])} (listed with reasons in manifest.json).\n"
            f"- Split by chart family: train {sizes['train']}, valid {sizes['valid']}, test {sizes['test']} "
            "(`split` in manifest.json).\n"
            "- Parts MMA voiced below B0 or above C8 are moved by whole octaves (`moved_semitones` in a piece's `parts`).\n\n"
            f"| genre | pieces | grooves |\n|---|---|---|\n{genres}\n\n"
            f"## Licence\n\n{manifest['licence']}\n")
