"""Hear a piece: render it to a WAV file with FluidSynth and a General MIDI soundfont, or with sine waves.

FluidSynth runs as the ``fluidsynth`` command-line program on a temporary MIDI file (``write_midi``),
not through pyfluidsynth. The program's fast-render mode is a stable, documented interface across
FluidSynth 2.x; pyfluidsynth is a ctypes binding that must find a matching libfluidsynth at import time,
has broken with FluidSynth releases before, and would have us re-implement the MIDI player (tempo map,
channels, programs) event by event. In a subprocess, a crash on a bad soundfont cannot take Python down,
and a timeout bounds the run. It renders raw 32-bit float samples, so nothing clips before we trim the
audio to the piece's exact length plus a short release tail and normalise its peak.

A missing synthesiser or soundfont is an error that says what to install; there is no silent fallback
to the sine synthesiser: that is an explicit choice (``synth="sine"``).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import warnings
import wave
from pathlib import Path

import numpy as np

from ..errors import MidigenError, file_error
from ..fsutil import atomic_write_bytes, check_output_path
from ..midi.files import midi_bytes, write_midi
from ..music.grid import STEPS_PER_QUARTER
from ..music.piece import Piece

SYNTHS = ("fluidsynth", "sine")
FLUIDSYNTH_PROGRAM = "fluidsynth"
SOUNDFONT_ENV = "MIDIGEN_SOUNDFONT"
SOUNDFONT_FILES = (  # checked in this order: small and quick to load first
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
SOUNDFONT_DIRS = (  # then any .sf2 / .sf3 in these folders, by name
    "~/.local/share/soundfonts",
    "~/.local/share/sounds/sf2",
    "/usr/share/sounds/sf2",
    "/usr/share/soundfonts",
    "/usr/local/share/soundfonts",
)
INSTALL_HINT = ("install one with 'sudo apt-get install fluidsynth timgm6mb-soundfont' "
                "(macOS: 'brew install fluid-synth' and a .sf2 file), pass --soundfont PATH, "
                "or choose --synth sine for a plain sine-wave preview")
RELEASE_S = 1.0  # silence after the last bar, for notes and reverb to ring out
FADE_S = 0.25  # fade at the very end, so the cut after the release never clicks
PEAK_LEVEL = 10 ** (-1 / 20)  # normalise to -1 dBFS
MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ = 8000, 192000


def piece_duration_s(piece: Piece) -> float:
    """Length of the piece in seconds: all its bars, through the tempo map."""
    end_steps = piece.end_steps
    tempos = sorted(piece.tempos) or [(0, 120.0)]
    tempos[0] = (0, tempos[0][1])  # the first tempo holds from the start
    total_s = 0.0
    for (step, bpm), (next_step, _) in zip(tempos, tempos[1:] + [(end_steps, 0.0)]):
        span_steps = max(0, min(next_step, end_steps) - max(step, 0))
        total_s += span_steps * 60.0 / (float(bpm) * STEPS_PER_QUARTER)
    return total_s


def _is_soundfont(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"sfbk"


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The soundfont to use: ``soundfont``, else ``$MIDIGEN_SOUNDFONT``, else the first one installed."""
    for explicit, origin in ((soundfont, "--soundfont"), (os.environ.get(SOUNDFONT_ENV) or None, f"${SOUNDFONT_ENV}")):
        if explicit is None:
            continue
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise MidigenError(f"soundfont {path} (from {origin}) does not exist")
        if not _is_soundfont(path):
            raise MidigenError(f"{path} (from {origin}) is not a SoundFont (.sf2/.sf3) file")
        return path
    candidates = [Path(p) for p in SOUNDFONT_FILES]
    for folder in SOUNDFONT_DIRS:
        folder_path = Path(folder).expanduser()
        if folder_path.is_dir():
            candidates += sorted(p for p in folder_path.iterdir() if p.suffix.lower() in (".sf2", ".sf3"))
    for path in candidates:
        if path.is_file() and _is_soundfont(path):
            return path
    places = ", ".join([f"${SOUNDFONT_ENV}", *SOUNDFONT_DIRS])
    raise MidigenError(f"no General MIDI soundfont found (looked in {places}): {INSTALL_HINT}")


def _fluidsynth_audio(piece: Piece, sample_rate: int, soundfont: str | Path | None) -> np.ndarray:
    """(n, 2) float32 stereo from the fluidsynth program's fast (faster than real time) render."""
    program = shutil.which(FLUIDSYNTH_PROGRAM)
    if program is None:
        raise MidigenError(f"the '{FLUIDSYNTH_PROGRAM}' program is not installed: {INSTALL_HINT}")
    sf_path = find_soundfont(soundfont)
    timeout_s = 60.0 + 2.0 * piece_duration_s(piece)
    with tempfile.TemporaryDirectory(prefix="midigen-render-") as tmp:
        midi_path, raw_path = Path(tmp) / "in.mid", Path(tmp) / "out.raw"
        write_midi(piece, midi_path)
        command = [program, "-n", "-i", "-q", "-r", str(sample_rate), "-T", "raw", "-O", "float", "-E", "little",
                   "-F", str(raw_path), str(sf_path), str(midi_path)]
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise MidigenError(f"fluidsynth took more than {timeout_s:.0f} s and was stopped") from None
        except OSError as e:
            raise MidigenError(f"cannot run {program}: {e}") from e
        problems = " ".join((done.stderr or "").split())[-300:]
        if done.returncode != 0 or not raw_path.is_file():
            raise MidigenError(f"fluidsynth failed (exit status {done.returncode}): {problems or 'no message'}")
        audio = np.fromfile(raw_path, dtype="<f4")
    audio = audio[: len(audio) // 2 * 2].reshape(-1, 2)
    if piece.n_notes and not np.any(audio):
        raise MidigenError(f"fluidsynth rendered silence with {sf_path}: {problems or 'no message'}")
    return audio


def _sine_audio(piece: Piece, sample_rate: int) -> np.ndarray:
    """(n, 1) float mono of sine tones from pretty_midi; drum parts are silent in this preview."""
    import pretty_midi

    with warnings.catch_warnings():  # key signatures also sit on the part tracks (for MuseScore): harmless here
        warnings.filterwarnings("ignore", message="Tempo, Key or Time signature change events", category=RuntimeWarning)
        midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(piece)))
    if not midi.instruments:
        return np.zeros((0, 1))
    return midi.synthesize(fs=sample_rate, normalize=False).reshape(-1, 1)


def _fit_and_normalise(audio: np.ndarray, n_frames: int, sample_rate: int) -> np.ndarray:
    """Exactly ``n_frames`` frames (trimmed or padded with silence), faded out at the end, peak at -1 dBFS."""
    fitted = np.zeros((n_frames, audio.shape[1]), dtype=np.float64)
    n_copy = min(n_frames, len(audio))
    fitted[:n_copy] = audio[:n_copy]
    n_fade = min(n_frames, int(FADE_S * sample_rate))
    if n_fade:
        fitted[-n_fade:] *= np.linspace(1.0, 0.0, n_fade)[:, None]
    peak = float(np.abs(fitted).max()) if n_frames else 0.0
    if peak > 0:
        fitted *= PEAK_LEVEL / peak
    return fitted


def _wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(audio.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def render_wav(piece: Piece, out_path: str | Path, *, soundfont: str | Path | None = None,
               synth: str = "fluidsynth", sample_rate: int = 44100) -> Path:
    """Write the piece as a 16-bit PCM WAV: its exact length in seconds plus ``RELEASE_S`` of release.

    ``synth="fluidsynth"`` plays the General MIDI programs with a soundfont (see ``find_soundfont``);
    ``synth="sine"`` is a dependency-free preview in sine tones (drums silent). The file is written
    atomically; every failure is a ``MidigenError``.
    """
    out_path = Path(out_path)
    if synth not in SYNTHS:
        raise MidigenError(f"unknown synthesiser {synth!r} (one of {', '.join(SYNTHS)})")
    if not MIN_SAMPLE_RATE_HZ <= int(sample_rate) <= MAX_SAMPLE_RATE_HZ:
        raise MidigenError(f"sample rate {sample_rate} Hz (from {MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ})")
    sample_rate = int(sample_rate)
    check_output_path(out_path)
    if synth == "fluidsynth":
        audio = _fluidsynth_audio(piece, sample_rate, soundfont)
    else:
        audio = _sine_audio(piece, sample_rate)
    n_frames = int(round((piece_duration_s(piece) + RELEASE_S) * sample_rate))
    data = _wav_bytes(_fit_and_normalise(audio, n_frames, sample_rate), sample_rate)
    try:
        atomic_write_bytes(out_path, data)
    except OSError as e:
        raise file_error(out_path, f"cannot write: {e.strerror or e}") from e
    return out_path
