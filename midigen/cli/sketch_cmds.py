"""``midigen continue``, ``infill`` and ``harmonize``: new music around the user's own MIDI, kept as it is."""
from __future__ import annotations

from pathlib import Path

import click


def register(main: click.Group) -> None:
    main.add_command(continue_)
    main.add_command(infill)
    main.add_command(harmonize)


def _sampling_options(command):
    """The options both commands share with ``compose``."""
    options = [
        click.option("--style", required=True, help="Style bundle to write in (see `midigen styles list`)."),
        click.option("--key", help="Key of the input, e.g. \"D minor\" (default: its key signature, else found from its notes)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Same input + style + seed + options = the same file."),
        click.option("--temperature", type=float, default=1.0, show_default=True, help="0 is greedy; higher is wilder."),
        click.option("--top-p", type=float, default=0.95, show_default=True, help="Nucleus sampling mass."),
        click.option("--variations", type=int, default=1, show_default=True,
                     help="Write K takes (OUT-1.mid ... OUT-K.mid) in one batched pass."),
        click.option("--strict-key", is_flag=True, help="Every new pitch in the key (minor: natural minor plus raised 6th and 7th)."),
        click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="MIDI file to write."),
        click.option("--force", is_flag=True, help="Overwrite existing output files."),
        click.option("--wav", type=click.Path(dir_okay=False), help="Also render the (first) take to this WAV file with FluidSynth."),
        click.option("--png", type=click.Path(dir_okay=False), help="Also draw the (first) take's piano roll to this PNG file."),
        click.option("--soundfont", type=click.Path(exists=True, dir_okay=False), help="General MIDI soundfont for --wav."),
        click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look for styles here first."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_outputs(output: str, variations: int, force: bool, wav: str | None, png: str | None) -> None:
    from ..tasks.compose import check_outputs, output_paths

    check_outputs(output_paths(output, variations) + [Path(p) for p in (wav, png) if p], force)


def _previews(take, wav: str | None, png: str | None, soundfont: str | None) -> None:
    if wav:
        from ..media.render import render_wav

        click.echo(f"{render_wav(take.piece, wav, soundfont=soundfont)}: audio preview")
    if png:
        from ..media.plot import plot_piano_roll

        click.echo(f"{plot_piano_roll(take.piece, png)}: piano roll")


@click.command("continue")
@click.argument("input_path", metavar="IN.mid", type=click.Path(dir_okay=False))
@click.option("--bars", type=int, required=True, help="Bars to add after the input's last bar.")
@click.option("--range", "range_", help="Every new pitch inside this range, e.g. C3-C6.")
@_sampling_options
def continue_(input_path, bars, range_, style, key, seed, temperature, top_p, variations, strict_key, output, force, wav,
              png, soundfont, styles_dir) -> None:
    """Add N bars in a style after your MIDI file, which is kept exactly as it is.

    The new bars go on the input's tracks, in the meter and tempo in force at its end.

    Example: midigen continue sketch.mid --style bach-chorales --bars 8 -o longer.mid
    """
    from ..music.keys import parse_key
    from ..tasks.compose import parse_range
    from ..tasks.continuation import ContinueRequest, continue_file, new_notes, write_continuations

    request = ContinueRequest(bars=bars, key=parse_key(key) if key else None, seed=seed, temperature=temperature,
                              top_p=top_p, variations=variations, strict_key=strict_key,
                              pitch_range=parse_range(range_) if range_ else None)
    _check_outputs(output, variations, force, wav, png)
    source, takes = continue_file(style, input_path, request, styles_dir=styles_dir)
    for path, take in zip(write_continuations(source, takes, output, force=force), takes):
        p = take.provenance
        click.echo(f"{path}: {p['input_bars']} bars of {source.path.name} kept, {p['bars']} new bars of {p['time_sig']} "
                   f"in {p['key']} ({len(new_notes(take, source.piece.end_steps))} notes; {p['style']}, seed {p['seed']})")
    _previews(takes[0], wav, png, soundfont)


@click.command()
@click.argument("input_path", metavar="IN.mid", type=click.Path(dir_okay=False))
@click.option("--bars", "bars_", required=True, help="Bars to rewrite, numbered from 1, e.g. 5-8 (at most 16).")
@click.option("--tracks", help="Rewrite only these tracks, numbered from 1, e.g. 2,3 (default: all); the others "
                               "keep their notes in those bars and the new parts are written hearing them.")
@click.option("--range", "range_", help="Every new pitch inside this range, e.g. C3-C6.")
@_sampling_options
def infill(input_path, bars_, tracks, range_, style, key, seed, temperature, top_p, variations, strict_key, output, force,
           wav, png, soundfont, styles_dir) -> None:
    """Rewrite chosen bars of your MIDI file; every other note stays exactly as it is.

    The model hears the bars on both sides of the gap before it writes it, so the new bars lead into
    what follows as well as out of what comes before.

    Example: midigen infill song.mid --bars 5-8 --style irish-folk -o song-new-middle.mid
    """
    from ..music.keys import parse_key
    from ..tasks.compose import parse_range
    from ..tasks.infill import InfillRequest, infill_file, parse_bars, parse_tracks, write_infills

    first_bar, n_bars = parse_bars(bars_)
    request = InfillRequest(first_bar=first_bar, n_bars=n_bars, tracks=parse_tracks(tracks), key=parse_key(key) if key else None,
                            seed=seed, temperature=temperature, top_p=top_p, variations=variations, strict_key=strict_key,
                            pitch_range=parse_range(range_) if range_ else None)
    _check_outputs(output, variations, force, wav, png)
    source, takes = infill_file(style, input_path, request, styles_dir=styles_dir)
    for path, take in zip(write_infills(source, takes, request, output, force=force), takes):
        p = take.provenance
        which = "all tracks" if p["tracks"] is None else "tracks " + ",".join(map(str, p["tracks"]))
        click.echo(f"{path}: bars {p['bars']} of {source.path.name} rewritten on {which}, the rest kept "
                   f"({len(take.piece.meta['new_notes'])} new notes in {p['key']}; {p['style']}, seed {p['seed']})")
    _previews(takes[0], wav, png, soundfont)


@click.command()
@click.argument("input_path", metavar="MELODY.mid", type=click.Path(dir_okay=False))
@_sampling_options
def harmonize(input_path, style, key, seed, temperature, top_p, variations, strict_key, output, force, wav, png, soundfont,
              styles_dir) -> None:
    """Write a style's other parts under your melody, which stays the top part, exactly as it is.

    The melody (one track, one note at a time) takes the style's first part; its bars, meter and tempo
    are kept, and every new note stays below the melody note sounding with it.

    Example: midigen harmonize tune.mid --style bach-chorales -o chorale.mid
    """
    from ..music.keys import parse_key
    from ..tasks.harmonize import HarmonizeRequest, harmonize_file, write_harmonizations

    request = HarmonizeRequest(key=parse_key(key) if key else None, seed=seed, temperature=temperature, top_p=top_p,
                               variations=variations, strict_key=strict_key)
    _check_outputs(output, variations, force, wav, png)
    source, takes = harmonize_file(style, input_path, request, styles_dir=styles_dir)
    for path, take in zip(write_harmonizations(source, takes, output, force=force), takes):
        p = take.provenance
        click.echo(f"{path}: {source.path.name} harmonized as {', '.join(p['parts'])}, {p['bars']} bars of {p['time_sig']} "
                   f"in {p['key']} ({take.piece.n_notes} notes; {p['style']}, seed {p['seed']})")
    _previews(takes[0], wav, png, soundfont)
