"""``midigen render`` and ``midigen plot``: hear a MIDI file as a WAV, see it as a piano-roll PNG."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import MidigenError
from ..media import render as render_api
from ..midi.files import read_midi


def register(main: click.Group) -> None:
    main.add_command(render)
    main.add_command(plot)


def _output_path(output: str, force: bool) -> Path:
    path = Path(output)
    if path.exists() and not force:
        raise MidigenError(f"{path} exists (use --force to overwrite)")
    return path


@click.command()
@click.argument("midi_file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="WAV file to write.")
@click.option("--synth", type=click.Choice(render_api.SYNTHS), default="fluidsynth", show_default=True,
              help="fluidsynth: General MIDI instruments from a soundfont; sine: plain sine tones, no drums.")
@click.option("--soundfont", type=click.Path(dir_okay=False),
              help=f"SoundFont (.sf2/.sf3) for fluidsynth (default: ${render_api.SOUNDFONT_ENV}, then the system's).")
@click.option("--sample-rate", "sample_rate_hz", type=int, default=44100, show_default=True, help="Samples per second.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def render(midi_file: str, output: str, synth: str, soundfont: str | None, sample_rate_hz: int, force: bool) -> None:
    """Render a MIDI file to a WAV file, to listen to it.

    Example: midigen render take.mid -o take.wav
    """
    out_path = _output_path(output, force)
    piece, _ = read_midi(midi_file)
    path = render_api.render_wav(piece, out_path, soundfont=soundfont, synth=synth, sample_rate=sample_rate_hz)
    duration_s = render_api.piece_duration_s(piece) + render_api.RELEASE_S
    click.echo(f"{path}: {duration_s:.1f} s of audio at {sample_rate_hz} Hz ({synth})")


@click.command()
@click.argument("midi_file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--width", "width_px", type=int, default=1600, show_default=True, help="Picture width in pixels.")
@click.option("--height", "height_px", type=int, default=600, show_default=True, help="Picture height in pixels.")
@click.option("--title", help="Title above the roll (default: the file's name).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def plot(midi_file: str, output: str, width_px: int, height_px: int, title: str | None, force: bool) -> None:
    """Draw a MIDI file as a piano-roll picture (PNG): bars, beats, pitches, one colour per part.

    Example: midigen plot take.mid -o take.png
    """
    from ..media.plot import plot_piano_roll  # matplotlib loads here, not when the CLI starts

    out_path = _output_path(output, force)
    piece, _ = read_midi(midi_file)
    path = plot_piano_roll(piece, out_path, title=title or Path(midi_file).name, width_px=width_px,
                           height_px=height_px)
    click.echo(f"{path}: {width_px} x {height_px} px, {piece.n_bars} bars, {piece.n_notes} notes")
