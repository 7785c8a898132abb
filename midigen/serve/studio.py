"""The studio's operations: a JSON request in, takes written to the server's folder and described out.

Each operation is the CLI command of the same name, through the same library calls: ``compose`` and
``write_takes``; ``continue_file``/``infill_file``/``harmonize_file`` and their writers, on a take or
upload the server already holds (named by its id, never by a path). So a take made here is byte for byte
what the CLI makes, and its provenance and command line say how to make it again.

Two tabs may ask at once. Their takes never mix: each request writes under a fresh random name and
returns only its own ids, and nothing is kept per "current" anything. Sampling itself runs one request
at a time (``_sampling``): the machine has few cores and the sampler already uses them; two at once
would each take twice as long. It also runs with one BLAS thread whatever the batch: a studio shares
the machine with a DAW and the browser, and OpenBLAS's second thread spins when the cores are busy
(4 variations of 16 bars: 6.5 s with one thread against 96 s with two, on 2 cores under a load of 10).
Loaded style bundles are kept (a few, most recent) so that the second take does not pay for loading
the weights again.
"""
from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from pathlib import Path

from threadpoolctl import threadpool_limits

from ..errors import MidigenError
from ..midi.patch import read_source
from ..music.keys import parse_key
from ..music.spelling import parse_range
from ..styles.bundle import Bundle, load_for_sampling
from ..styles.registry import find_style, list_style_dirs
from ..tasks.compose import compose, request_from_strings, write_takes
from ..tasks.continuation import ContinueRequest, continue_file, write_continuations
from ..tasks.harmonize import HarmonizeRequest, harmonize_file, write_harmonizations
from ..tasks.infill import InfillRequest, infill_file, parse_bars, parse_tracks, write_infills
from .audio import Audio
from .describe import command_line, style_card, take_piece
from .fields import ApiError, Fields
from .store import TakeRecord, TakeStore

BUNDLES_KEPT = 4  # small models: ~15 MB each in numpy; enough for a session that moves between styles
MAX_UPLOAD_NAME = 80


def upload_label(name: str | None) -> str:
    """An uploaded file's own name, for display and the command line only (never a path on the server)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w .()+-]", "_", base).strip(" .")[:MAX_UPLOAD_NAME]
    return base or "upload.mid"


class Studio:
    """The server's state: its take store, the bundles it has loaded, its synthesiser."""

    def __init__(self, store: TakeStore, *, styles_dir: str | None = None, soundfont: str | None = None):
        self.store = store
        self.styles_dir = styles_dir
        self.audio = Audio(soundfont)
        self._bundles: OrderedDict[tuple, Bundle] = OrderedDict()
        self._bundles_lock = threading.Lock()
        self._sampling = threading.Lock()

    # --- styles -------------------------------------------------------------------------------------
    def styles(self) -> list[dict]:
        return [style_card(path) for path in list_style_dirs(self.styles_dir)]

    def bundle(self, name: str) -> Bundle:
        """The named style, loaded once (again if its files change on disk)."""
        path = find_style(name, self.styles_dir)
        files = [path / "style.json", path / "model.safetensors"]
        key = (str(path.resolve()), *(f.stat().st_mtime_ns if f.exists() else 0 for f in files))
        with self._bundles_lock:
            if key in self._bundles:
                self._bundles.move_to_end(key)
                return self._bundles[key]
        bundle = load_for_sampling(path, "cpu")
        with self._bundles_lock:
            self._bundles[key] = bundle
            while len(self._bundles) > BUNDLES_KEPT:
                self._bundles.popitem(last=False)
        return bundle

    # --- operations ---------------------------------------------------------------------------------
    def compose(self, body: dict) -> list[TakeRecord]:
        f = Fields(body)
        style = f.text("style", required=True)
        request = request_from_strings(
            f.whole("bars", required=True), key=f.text("key"), time_sig=f.text("time_sig"), range_=f.text("range"),
            parts=f.names("parts"), chords=f.text("chords"), tempo_bpm=f.number("tempo_bpm"), program=f.whole("program"),
            chords_track=f.flag("chords_track"), **f.sampling())
        f.done()
        bundle = self.bundle(style)
        with self.sampling():
            takes = compose(bundle, request)
        paths = write_takes(takes, self.store.new_out_path(bundle.name))
        return [self._add("compose", path, take, bundle.name, None, len(takes), parts_given=request.parts is not None)
                for path, take in zip(paths, takes)]

    def continue_(self, body: dict) -> list[TakeRecord]:
        f = Fields(body)
        parent, style = self.store.get(f.text("take", required=True)), f.text("style", required=True)
        request = ContinueRequest(bars=f.whole("bars", required=True), key=_key(f.text("key")),
                                  pitch_range=_range(f.text("range")), **f.sampling())
        f.done()
        return self._on_file("continue", parent, style, request, continue_file,
                             lambda source, takes, out: write_continuations(source, takes, out))

    def infill(self, body: dict) -> list[TakeRecord]:
        f = Fields(body)
        parent, style = self.store.get(f.text("take", required=True)), f.text("style", required=True)
        first_bar, n_bars = parse_bars(f.text("bars", required=True))
        request = InfillRequest(first_bar=first_bar, n_bars=n_bars, tracks=parse_tracks(f.numbers("tracks")),
                                key=_key(f.text("key")), pitch_range=_range(f.text("range")), **f.sampling())
        f.done()
        return self._on_file("infill", parent, style, request, infill_file,
                             lambda source, takes, out: write_infills(source, takes, request, out))

    def harmonize(self, body: dict) -> list[TakeRecord]:
        f = Fields(body)
        parent, style = self.store.get(f.text("take", required=True)), f.text("style", required=True)
        request = HarmonizeRequest(key=_key(f.text("key")), **f.sampling())
        f.done()
        return self._on_file("harmonize", parent, style, request, harmonize_file,
                             lambda source, takes, out: write_harmonizations(source, takes, out))

    def upload(self, data: bytes, name: str | None) -> TakeRecord:
        """The user's MIDI file kept under a server-made name, once the defensive reader accepts it."""
        label = upload_label(name)
        path = self.store.save_upload(data)
        try:
            piece = read_source(path).piece
        except MidigenError as e:
            path.unlink(missing_ok=True)
            raise MidigenError(str(e).replace(str(path), label)) from None
        record = TakeRecord(id=path.stem, kind="upload", path=path, label=label, bars=piece.n_bars)
        return self.store.add(record)

    # --- the common course --------------------------------------------------------------------------
    @contextlib.contextmanager
    def sampling(self):
        """One request samples at a time, with one BLAS thread (see the module's docstring)."""
        with self._sampling, threadpool_limits(limits=1, user_api="blas"):
            yield

    def _on_file(self, kind: str, parent: TakeRecord, style: str, request, sample_file, write) -> list[TakeRecord]:
        """Sample ``request`` on the parent take's file and write each take as the CLI would; errors name
        the parent as the page shows it, not by its path on the server."""
        bundle = self.bundle(style)
        try:
            with self.sampling():
                source, takes = sample_file(bundle, parent.path, request)
        except MidigenError as e:
            raise ApiError(str(e).replace(str(parent.path), self.input_name(parent))) from None
        paths = write(source, takes, self.store.new_out_path(bundle.name))
        return [self._add(kind, path, take, bundle.name, parent, len(takes)) for path, take in zip(paths, takes)]

    def _add(self, kind: str, path: Path, take, style: str, parent: TakeRecord | None, variations: int, *,
             parts_given: bool = False) -> TakeRecord:
        input_name = None if parent is None else self.input_name(parent)
        bars = take.piece.n_bars if kind != "infill" else take_piece(parent).n_bars
        record = TakeRecord(id=path.stem, kind=kind, path=path, style=style, parent=None if parent is None else parent.id,
                            label=style, bars=bars, provenance=take.provenance,
                            command=command_line(take.provenance, variations=variations, input_name=input_name,
                                                 parts_given=parts_given))
        return self.store.add(record)

    @staticmethod
    def input_name(record: TakeRecord) -> str:
        """The file a command line reads for this take: the take (or upload) as downloaded from the page."""
        return record.download_name


def _key(text: str | None) -> int | None:
    return parse_key(text) if text else None


def _range(text: str | None) -> tuple[int, int] | None:
    return parse_range(text) if text else None
