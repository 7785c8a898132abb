"""The server's own folder: every take and upload it holds, under names it makes itself.

Nothing a client sends ever becomes part of a path. A take is named ``<style>-<batch>.mid`` or
``<style>-<batch>-<n>.mid`` (``upload-<batch>.mid`` for a user's file), where the batch is 12 random hex
digits the server draws and the style a name the registry has already checked (``tasks`` writes the
variations of one request as ``out-1.mid`` … ``out-K.mid``, so the take id is the file's stem); a
client names a take only by that id, and an id the store did not make is a 404 whatever it looks like.
The file downloaded or dragged out has the same name, so the provenance inside a take made from it
(which records its input's name) is the same whether the page or the CLI made it.
Random ids, not counters, because several tabs share one server: each tab holds the ids its own
requests returned, so no tab can mistake another's take for its own, and ids cannot be guessed.

The folder is a fresh temporary one per server (removed when it stops), and it is bounded: past
``MAX_TAKES`` takes or ``MAX_FOLDER_BYTES`` on disk (uploads of up to 16 MB, WAVs of up to ten minutes),
the oldest takes and their audio are deleted.
"""
from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..fsutil import atomic_write_bytes
from .fields import ApiError

MAX_TAKES = 1000  # ~10 KB of MIDI and at most a few WAVs each: a long session's worth, a bounded folder
MAX_FOLDER_BYTES = 2 * 2**30  # what the folder may hold before the oldest takes go
TAKE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}-[0-9a-f]{12}(-[0-9]{1,2})?$")
KINDS = ("compose", "continue", "infill", "harmonize", "upload")


@dataclass
class TakeRecord:
    """A take the server holds: its MIDI file, how it was made, and what the page shows of it."""

    id: str
    kind: str  # one of KINDS
    path: Path
    style: str | None = None
    parent: str | None = None  # the take or upload it was made from
    label: str = ""  # what the page calls it: the style, or an upload's own file name
    bars: int = 0  # the take's length in bars (a file's last bars may be silent: it is the length asked for)
    provenance: dict | None = None
    command: str | None = None  # the equivalent `midigen` command line
    created: float = field(default_factory=time.time)
    cache: dict = field(default_factory=dict)  # what ``describe`` read from the file, once

    @property
    def download_name(self) -> str:
        """The file name a download or drag-out gets: the file's own."""
        return self.path.name


class TakeStore:
    """Takes by id in a folder of the server's own; thread-safe (requests run in a thread pool)."""

    def __init__(self, folder: str | Path | None = None, max_takes: int = MAX_TAKES, max_bytes: int = MAX_FOLDER_BYTES):
        self.folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="midigen-serve-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_takes = max_takes
        self.max_bytes = max_bytes
        self._takes: OrderedDict[str, TakeRecord] = OrderedDict()
        self._lock = threading.Lock()

    def new_out_path(self, prefix: str) -> Path:
        """A fresh ``<prefix>-<batch>.mid`` in the folder, for ``tasks``' writers to name takes after;
        ``prefix`` is a checked style name or "upload"."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", prefix):
            raise ValueError(f"not a take name prefix: {prefix!r}")
        while True:
            path = self.folder / f"{prefix}-{secrets.token_hex(6)}.mid"
            if not path.exists():
                return path

    def add(self, record: TakeRecord) -> TakeRecord:
        if not TAKE_ID_RE.match(record.id) or record.path.parent != self.folder or record.kind not in KINDS:
            raise ValueError(f"not a take of this store: {record.id} at {record.path}")
        with self._lock:
            self._takes[record.id] = record
        self.trim(keep=record.id)
        return record

    def trim(self, keep: str) -> None:
        """Delete the oldest takes (never ``keep``, the one just made) while the store holds more than
        ``max_takes`` takes or its folder more than ``max_bytes``."""
        with self._lock:
            sizes: dict[str, int] = {}
            for entry in self.folder.iterdir():
                if entry.is_file():
                    take_id = entry.stem.split("-mute-")[0]
                    sizes[take_id] = sizes.get(take_id, 0) + entry.stat().st_size
            total = sum(sizes.values())
            evicted = []
            for take_id in list(self._takes):
                if take_id == keep or (len(self._takes) <= self.max_takes and total <= self.max_bytes):
                    continue
                del self._takes[take_id]
                evicted.append(take_id)
                total -= sizes.get(take_id, 0)
        for take_id in evicted:
            self._remove_files(take_id)

    def get(self, take_id: str) -> TakeRecord:
        """The take with this id; ApiError 404 for any other string."""
        with self._lock:
            record = self._takes.get(take_id) if isinstance(take_id, str) else None
        if record is None:
            shown = take_id[:40] if isinstance(take_id, str) else type(take_id).__name__
            raise ApiError(f"no take {shown!r} on this server (it may have been removed to keep the folder small)", 404)
        return record

    def save_upload(self, data: bytes) -> Path:
        """An uploaded file's bytes under a server-made name (checked by the caller's reader after)."""
        path = self.new_out_path("upload")
        atomic_write_bytes(path, data)
        return path

    def audio_path(self, take_id: str, muted: tuple[int, ...]) -> Path:
        """Where a take's audio with those tracks muted is cached (``muted`` sorted, checked by the caller)."""
        suffix = "" if not muted else "-mute-" + "_".join(map(str, muted))
        return self.folder / f"{self.get(take_id).id}{suffix}.wav"

    def _remove_files(self, take_id: str) -> None:
        for path in self.folder.glob(f"{take_id}*"):
            if path.stem == take_id or path.stem.startswith(f"{take_id}-mute-"):
                path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._takes)

    def close(self) -> None:
        """Remove the folder and everything in it (the server is stopping)."""
        shutil.rmtree(self.folder, ignore_errors=True)
