"""Audio preview (render_wav) and piano-roll pictures (plot_piano_roll), and their commands."""
from __future__ import annotations

import shutil
import wave
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from midigen.cli import media_cmds
from midigen.errors import MidigenError
from midigen.media import render
from midigen.media.plot import PART_COLOURS, plot_piano_roll
from midigen.midi.files import write_midi
from midigen.music.piece import Piece, Track

BARS, BEATS_PER_BAR, TEMPO_BPM = 4, 3, 90.0
EXPECTED_S = BARS * BEATS_PER_BAR * 60 / TEMPO_BPM  # 8 s


def _has_fluidsynth() -> bool:
    if shutil.which(render.FLUIDSYNTH_PROGRAM) is None:
        return False
    try:
        render.find_soundfont()
    except MidigenError:
        return False
    return True


needs_fluidsynth = pytest.mark.skipif(not _has_fluidsynth(), reason="needs the fluidsynth program and a GM soundfont")


def small_piece() -> Piece:
    """4 bars of 3/4 at 90 bpm: a melody, a bass and a drum part."""
    rows = []
    for bar in range(BARS):
        bar_steps = bar * 36
        for beat in range(3):
            rows.append((bar_steps + beat * 12, 12, 67 + 2 * beat - bar, 90, 0))
            rows.append((bar_steps + beat * 12, 6, (36, 38, 42)[beat], 100, 2))
        rows.append((bar_steps, 36, 43 + bar, 80, 1))
    return Piece(notes=np.array(rows, dtype=np.int64), tracks=(Track(0), Track(32), Track(0, is_drum=True)),
                 meters=((0, 3, 4),), tempos=((0, TEMPO_BPM),), key=14, n_bars=BARS)


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(samples in [-1, 1] as (frames, channels), sample rate, sample width in bytes)."""
    with wave.open(str(path), "rb") as f:
        frames = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").reshape(-1, f.getnchannels())
        return frames / 32768.0, f.getframerate(), f.getsampwidth()


def check_wav(path: Path, sample_rate: int, channels: int) -> None:
    samples, rate, width = read_wav(path)
    duration_s = len(samples) / rate
    assert rate == sample_rate and width == 2 and samples.shape[1] == channels
    assert EXPECTED_S <= duration_s <= EXPECTED_S + 1.5
    music = samples[: int(EXPECTED_S * rate)]
    assert np.sqrt(np.mean(music**2)) > 0.02  # not silent
    assert 0.5 < np.abs(samples).max() < 0.99  # normalised, not clipped
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left behind


def test_piece_duration_follows_the_tempo_map():
    piece = small_piece()
    assert render.piece_duration_s(piece) == pytest.approx(EXPECTED_S)
    faster = piece.replace(tempos=((0, TEMPO_BPM), (72, 2 * TEMPO_BPM)))  # bars 3-4 twice as fast
    assert render.piece_duration_s(faster) == pytest.approx(EXPECTED_S * 3 / 4)


def test_sine_render(tmp_path):
    out = render.render_wav(small_piece(), tmp_path / "sine.wav", synth="sine", sample_rate=22050)
    assert out == tmp_path / "sine.wav"
    check_wav(out, 22050, channels=1)


@needs_fluidsynth
def test_fluidsynth_render(tmp_path):
    out = render.render_wav(small_piece(), tmp_path / "gm.wav", sample_rate=32000)
    check_wav(out, 32000, channels=2)


def test_missing_soundfont_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "SOUNDFONT_FILES", ())
    monkeypatch.setattr(render, "SOUNDFONT_DIRS", (str(tmp_path / "nowhere"),))
    monkeypatch.delenv(render.SOUNDFONT_ENV, raising=False)
    with pytest.raises(MidigenError, match="sudo apt-get install fluidsynth timgm6mb-soundfont") as err:
        render.find_soundfont()
    assert "--soundfont PATH" in str(err.value) and "--synth sine" in str(err.value)
    with pytest.raises(MidigenError, match="timgm6mb-soundfont"):
        render.render_wav(small_piece(), tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_missing_fluidsynth_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "FLUIDSYNTH_PROGRAM", "midigen-test-no-such-program")
    with pytest.raises(MidigenError, match="apt-get install fluidsynth"):
        render.render_wav(small_piece(), tmp_path / "x.wav")


def test_soundfont_choices_are_checked(tmp_path, monkeypatch):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\0\0\0\0sfbk" + bytes(64))
    not_a_font = tmp_path / "notes.txt"
    not_a_font.write_text("hello")
    assert render.find_soundfont(fake) == fake
    with pytest.raises(MidigenError, match="not a SoundFont"):
        render.find_soundfont(not_a_font)
    monkeypatch.setenv(render.SOUNDFONT_ENV, str(tmp_path / "missing.sf2"))
    with pytest.raises(MidigenError, match=r"missing\.sf2 \(from \$MIDIGEN_SOUNDFONT\) does not exist"):
        render.find_soundfont()
    monkeypatch.setenv(render.SOUNDFONT_ENV, str(fake))
    assert render.find_soundfont() == fake


def test_render_refuses_bad_requests(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    piece = small_piece()
    with pytest.raises(MidigenError, match="not a folder"):
        render.render_wav(piece, blocker / "out.wav", synth="sine")
    with pytest.raises(MidigenError, match="is a folder"):
        render.render_wav(piece, tmp_path, synth="sine")
    with pytest.raises(MidigenError, match="unknown synthesiser"):
        render.render_wav(piece, tmp_path / "x.wav", synth="organ")
    with pytest.raises(MidigenError, match="sample rate"):
        render.render_wav(piece, tmp_path / "x.wav", synth="sine", sample_rate=10)


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _has_colour(pixels: np.ndarray, colour: str) -> bool:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(pixels.astype(int) - rgb).sum(axis=2) <= 6).any())


@pytest.mark.parametrize("width_px, height_px", [(1600, 600), (641, 359)])
def test_piano_roll_picture(tmp_path, width_px, height_px):
    backend = matplotlib.get_backend()
    out = plot_piano_roll(small_piece(), tmp_path / "roll.png", title="test", width_px=width_px, height_px=height_px)
    assert matplotlib.get_backend() == backend  # nobody else's matplotlib state changes
    with Image.open(out) as image:
        assert image.size == (width_px, height_px)
    pixels = _pixels(out)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20
    assert (pixels.sum(axis=2) < 3 * 250).mean() > 0.02  # not blank white
    for t in range(3):  # two melodic parts and the drums, each in its own colour
        assert _has_colour(pixels, PART_COLOURS[t])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roll.png"]


def test_piano_roll_of_drums_alone_and_bad_sizes(tmp_path):
    piece = small_piece()
    drums = piece.replace(notes=piece.notes[piece.notes[:, 4] == 2])
    plot_piano_roll(drums, tmp_path / "drums.png", width_px=400, height_px=300)
    assert _pixels(tmp_path / "drums.png").shape == (300, 400, 3)
    with pytest.raises(MidigenError, match="width 10 px"):
        plot_piano_roll(piece, tmp_path / "x.png", width_px=10)
    with pytest.raises(MidigenError, match="is a folder"):
        plot_piano_roll(piece, tmp_path)
    (tmp_path / "file.txt").write_text("")
    with pytest.raises(MidigenError, match="not a folder"):
        plot_piano_roll(piece, tmp_path / "file.txt" / "x.png")


@pytest.fixture
def midi_file(tmp_path) -> Path:
    return write_midi(small_piece(), tmp_path / "take.mid")


def test_render_command(tmp_path, midi_file):
    out = tmp_path / "take.wav"
    result = CliRunner().invoke(media_cmds.render, [str(midi_file), "-o", str(out), "--synth", "sine"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    samples, rate, _ = read_wav(out)
    assert rate == 44100 and EXPECTED_S <= len(samples) / rate <= EXPECTED_S + 1.5
    again = CliRunner().invoke(media_cmds.render, [str(midi_file), "-o", str(out), "--synth", "sine"])
    assert isinstance(again.exception, MidigenError) and "exists (use --force to overwrite)" in str(again.exception)
    forced = CliRunner().invoke(media_cmds.render, [str(midi_file), "-o", str(out), "--synth", "sine", "--force"])
    assert forced.exit_code == 0, forced.output


def test_plot_command(tmp_path, midi_file):
    out = tmp_path / "take.png"
    args = [str(midi_file), "-o", str(out), "--width", "800", "--height", "400"]
    result = CliRunner().invoke(media_cmds.plot, args)
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert _pixels(out).shape == (400, 800, 3)
    again = CliRunner().invoke(media_cmds.plot, args)
    assert isinstance(again.exception, MidigenError) and "exists (use --force to overwrite)" in str(again.exception)
    assert CliRunner().invoke(media_cmds.plot, [*args, "--force"]).exit_code == 0
