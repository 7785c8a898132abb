"""A take as a WAV for the page's player: FluidSynth with a GM soundfont, sine tones only when none is there.

``media.render`` never falls back by itself: sine tones are an explicit choice there. A studio page is
different: it should still play something on a machine without FluidSynth, so the server decides once,
at start-up, which synthesiser it has and says so (``Audio.note``, shown on the page), rather than
failing every play button. Each (take, muted parts) pair is rendered once and kept beside the take in
the server's folder; a lock per file keeps two tabs pressing play at once from rendering it twice.
Previews are bounded (``MAX_AUDIO_S``): an hour-long WAV is no preview, and it would fill the folder.
"""
from __future__ import annotations

import shutil
import threading

import numpy as np

from ..errors import MidigenError
from ..media.render import FLUIDSYNTH_PROGRAM, RELEASE_S, find_soundfont, piece_duration_s, render_wav
from ..music.piece import TRACK
from .describe import take_piece
from .fields import ApiError
from .store import TakeRecord, TakeStore

MAX_AUDIO_S = 600.0  # ten minutes of 44.1 kHz stereo is 100 MB of WAV: longer takes are for the DAW

SINE_NOTE = ("sine tones (drums silent): FluidSynth or a General MIDI soundfont is not installed "
             "(sudo apt-get install fluidsynth timgm6mb-soundfont)")


def choose_synth(soundfont: str | None = None) -> tuple[str, str | None, str]:
    """(synth, soundfont path, what the page says about the sound): FluidSynth where it can run."""
    if shutil.which(FLUIDSYNTH_PROGRAM) is None:
        return "sine", None, SINE_NOTE
    try:
        path = find_soundfont(soundfont)
    except MidigenError:
        if soundfont is not None:  # a soundfont asked for by name that is not one: say so, do not hide it
            raise
        return "sine", None, SINE_NOTE
    return "fluidsynth", str(path), f"FluidSynth with {path.name}"


def parse_muted(text: str | None, n_parts: int) -> tuple[int, ...]:
    """"0,2" -> (0, 2): the parts (numbered from 0, as the roll lists them) left out of the audio."""
    if not text:
        return ()
    try:
        muted = sorted({int(t) for t in text.split(",")})
    except ValueError:
        raise ApiError(f"mute must list part numbers, e.g. 0,2; got {text[:40]!r}") from None
    if muted and (muted[0] < 0 or muted[-1] >= n_parts):
        raise ApiError(f"mute: the take has parts 0-{n_parts - 1}")
    return tuple(muted)


class Audio:
    """Renders takes for the page with the synthesiser chosen at start-up."""

    def __init__(self, soundfont: str | None = None):
        self.synth, self.soundfont, self.note = choose_synth(soundfont)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def wav(self, store: TakeStore, record: TakeRecord, mute: str | None = None):
        """The path of the take's WAV with ``mute``'s parts silent (rendered on first use)."""
        piece = take_piece(record)
        muted = parse_muted(mute, len(piece.tracks))
        seconds = piece_duration_s(piece) + RELEASE_S
        if seconds > MAX_AUDIO_S:
            raise ApiError(f"the take lasts {seconds / 60:.0f} minutes: too long to preview here (at most "
                           f"{MAX_AUDIO_S / 60:.0f}); drag it into your DAW or use `midigen render`")
        path = store.audio_path(record.id, muted)
        with self._guard:
            lock = self._locks.setdefault(path.name, threading.Lock())
        with lock:
            if not path.is_file():
                if muted:
                    piece = piece.replace(notes=piece.notes[~np.isin(piece.notes[:, TRACK], muted)])
                render_wav(piece, path, synth=self.synth, soundfont=self.soundfont)
        store.trim(keep=record.id)
        return path
