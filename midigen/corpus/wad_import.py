"""``midigen corpus import wad``: the music of Doom-engine game data files (WADs) as a folder of MIDI files.

A WAD is a 12-byte header (``IWAD``/``PWAD``, lump count, directory offset) and a directory of 16-byte
entries (offset, size, 8-byte name). Its music lumps (``D_E1M1``, ``D_RUNNIN`` …) are Standard MIDI Files
in most modern WADs, and the ones Debian ships are band music of the kind a musician's own folder holds:
the Freedoom project's (packages ``freedoom`` and ``freedm``, BSD-style licence) is rock and metal with
distorted guitars, bass and drums on channel 10, 4–14 tracks a piece, plus ambient and electronic
pieces; none of it is in midigen's ``base``, so these folders measure how a style trains on music the
base never heard. A lump is music when its bytes start with ``MThd``; old DMX ``MUS`` lumps are listed
as not imported (midigen reads MIDI only). Each lump is written byte for byte as it is in the WAD (the
reader then reads it as it reads any user's file), once: a lump whose bytes another WAD of the same
import already gave is recorded as a duplicate, not written again.
"""
from __future__ import annotations

import hashlib
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MidigenError, file_error
from ..fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..midi.files import read_midi
from .importing import ImportReport

HEADER = struct.Struct("<4sii")  # identification, number of lumps, offset of the directory
ENTRY = struct.Struct("<ii8s")  # offset of the lump, its size, its name (NUL-padded)
WAD_KINDS = (b"IWAD", b"PWAD")
MAX_WAD_BYTES = 1 << 30  # the largest game data files are a few hundred MB
MAX_LUMPS = 1 << 20
MIDI_MAGIC, MUS_MAGIC = b"MThd", b"MUS\x1a"

FREEDOOM_LICENCE = ("Freedoom licence (BSD 3-clause style): 'Copyright (c) 2001-2003 Contributors to the Freedoom project. "
                    "Redistribution and use in source and binary forms, with or without modification, are permitted "
                    "provided that' the copyright notice, the conditions and the disclaimer are retained, and the project's "
                    "and contributors' names are not used to endorse derived products; see /usr/share/doc/freedoom/copyright "
                    "and CREDITS (the composers).")

FREEDOOM_ID = "Freedoom licence (BSD-3-Clause style)"


@dataclass(frozen=True)
class KnownWad:
    """A WAD a Debian package installs: what it is and the licence of its music."""

    description: str
    package: str
    licence: str
    licence_id: str  # what each file's manifest entry says; the full text is at the manifest's top


KNOWN_WADS: dict[str, KnownWad] = {name: KnownWad(description, package, FREEDOOM_LICENCE, FREEDOOM_ID) for name, description, package in (
    ("freedoom1.wad", "Freedoom: Phase 1, the music of its 4 episodes (rock, metal, ambient)", "freedoom"),
    ("freedoom2.wad", "Freedoom: Phase 2, the music of its 32 maps (rock, metal, ambient, electronic)", "freedoom"),
    ("freedm.wad", "FreeDM, Freedoom's deathmatch WAD (mostly new tracks, some of Phase 2's)", "freedm"),
)}
DEBIAN_WAD_DIR = Path("/usr/share/games/doom")  # where Debian's freedoom and freedm packages put their WADs
UNKNOWN_LICENCE = "not known to midigen: check the WAD's own licence before you redistribute anything made from it"


@dataclass(frozen=True)
class Lump:
    name: str
    data: bytes


def read_lumps(path: Path) -> tuple[list[Lump], str]:
    """(the lumps of a WAD in directory order, the file's SHA-256); MidigenError naming the file for anything
    that is not one."""
    try:
        size = path.stat().st_size
        if size > MAX_WAD_BYTES:
            raise file_error(path, f"is {size / 2**20:.0f} MB (a WAD has at most {MAX_WAD_BYTES // 2**20} MB)")
        data = path.read_bytes()
    except OSError as e:
        raise file_error(path, f"cannot read: {e.strerror or e}") from e
    if len(data) < HEADER.size:
        raise file_error(path, f"is {len(data)} bytes, too short for a WAD header ({HEADER.size})")
    kind, count, directory = HEADER.unpack_from(data)
    if kind not in WAD_KINDS:
        raise file_error(path, f"is not a WAD (starts with {kind!r}, not IWAD or PWAD)")
    if not 0 <= count <= MAX_LUMPS or directory < HEADER.size or directory + count * ENTRY.size > len(data):
        raise file_error(path, f"has a broken directory ({count} lumps at byte {directory} of {len(data)})")
    lumps = []
    for i in range(count):
        offset, length, raw_name = ENTRY.unpack_from(data, directory + i * ENTRY.size)
        name = raw_name.split(b"\0", 1)[0].decode("ascii", errors="replace")
        if length < 0 or offset < 0 or offset + length > len(data):
            raise file_error(path, f"lump {i} ({name}) lies outside the file (bytes {offset}-{offset + length} of {len(data)})")
        lumps.append(Lump(name, data[offset:offset + length]))
    return lumps, hashlib.sha256(data).hexdigest()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "lump"


def import_wads(wads: list[str | Path], out_dir: str | Path, *, name: str | None = None) -> ImportReport:
    """Write the MIDI music lumps of ``wads`` into ``out_dir`` as ``<wad>-<lump>.mid``, with manifest.json and
    SOURCE.md. A lump the reader refuses, or in MUS format, is listed under ``failed`` with the reason; a lump
    already written (same bytes) is recorded under ``duplicates``. Files already there with the same bytes are
    kept. MidigenError for a file that is not a WAD, or for no music at all."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    paths = [Path(w) for w in wads]
    if not paths:
        raise MidigenError("no WAD given (e.g. /usr/share/games/doom/freedoom1.wad from Debian's freedoom package)")
    lumps_of = {p: read_lumps(p) for p in paths}  # every WAD is checked before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, failed, duplicates, seen = [], [], [], {}
    written = kept = 0
    for path in paths:
        lumps, wad_sha = lumps_of[path]
        known = _known(path)
        for lump in lumps:
            source = f"{path.name}:{lump.name}"
            if lump.data.startswith(MUS_MAGIC):
                failed.append({"source": source, "reason": "DMX MUS format, not MIDI (convert it to MIDI first)"})
                continue
            if not lump.data.startswith(MIDI_MAGIC):
                continue  # graphics, maps, sounds: not music
            sha = hashlib.sha256(lump.data).hexdigest()
            if sha in seen:
                duplicates.append({"source": source, "same_as": seen[sha]})
                continue
            file_name = f"{_safe(path.stem)}-{_safe(lump.name)}.mid"
            try:
                piece, _ = read_midi(out_dir / file_name, data=lump.data)
            except MidigenError as e:
                failed.append({"source": source, "reason": str(e).split(": ", 1)[-1]})
                continue
            seen[sha] = file_name
            target = out_dir / file_name
            if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
                kept += 1
            else:
                atomic_write_bytes(target, lump.data)
                written += 1
            meter = piece.meters[0]
            entries.append({"file": file_name, "source": source, "wad": path.name, "wad_sha256": wad_sha, "lump": lump.name,
                            "sha256": sha, "bytes": len(lump.data), "tracks": len(piece.tracks),
                            "drums": any(t.is_drum for t in piece.tracks), "notes": piece.n_notes, "bars": piece.n_bars,
                            "meter": f"{meter[1]}/{meter[2]}", "licence": known.licence_id if known else UNKNOWN_LICENCE})
    if not entries:
        raise MidigenError(f"{', '.join(str(p) for p in paths)}: no MIDI music lumps"
                           + (f" ({len(failed)} not imported: {failed[0]['reason']})" if failed else ""))
    manifest_path = _write_manifest(out_dir, name or paths[0].stem, paths, entries, failed, duplicates)
    return ImportReport(written, kept, failed, manifest_path, seconds=time.perf_counter() - start)


def _known(path: Path) -> KnownWad | None:
    return KNOWN_WADS.get(path.name.lower())


def _write_manifest(out_dir: Path, name: str, paths: list[Path], entries: list[dict], failed: list[dict],
                    duplicates: list[dict]) -> Path:
    known = [_known(p) for p in paths]
    description = "; ".join(k.description if k else p.name for k, p in zip(known, paths))
    licences = sorted({k.licence if k else UNKNOWN_LICENCE for k in known})
    manifest = {
        "format": 1, "collection": name, "description": description, "created": time.strftime("%Y-%m-%d"),
        "provenance": [str(p) for p in paths], "licence": " | ".join(licences),
        "packages": sorted({k.package for k in known if k}),
        "command": f"midigen corpus import wad {' '.join(str(p) for p in paths)} {out_dir}",
        "pieces": sorted(entries, key=lambda e: e["file"]), "failed": failed, "duplicates": duplicates,
    }
    manifest_path = out_dir / "manifest.json"
    atomic_write_json(manifest_path, manifest)
    with_drums = sum(e["drums"] for e in entries)
    packages = manifest["packages"]
    atomic_write_text(out_dir / "SOURCE.md", (
        f"# {name}\n\n{description}.\n\n"
        f"- Source: the music lumps of {', '.join(f'`{p}`' for p in paths)}"
        + (f" (Debian package{'s' if len(packages) > 1 else ''} {', '.join(packages)})" if packages else "")
        + f", written byte for byte.\n- Made with: `{manifest['command']}` on {manifest['created']}.\n"
        f"- Pieces: {len(entries)} ({with_drums} with drums); duplicates not written: {len(duplicates)}; "
        f"not imported: {len(failed)} (in manifest.json with reasons).\n\n## Licence\n\n" + "\n\n".join(licences) + "\n"))
    return manifest_path
