"""``midigen continue``, ``infill``, ``harmonize`` and ``accompany``: new music around the user's own MIDI,
kept as it is."""
from __future__ import annotations

import click

from .options import (
    check_outputs,
    fit_note,
    key_option,
    option_group,
    output_options,
    prepare_sampling,
    range_option,
    rank_option,
    ranked,
    sampling_options,
    style_option,
    write_previews,
)


def register(main: click.Group) -> None:
    main.add_command(continue_)
    main.add_command(infill)
    main.add_command(harmonize)
    main.add_command(accompany)


# The options the four commands share with ``compose``, worded for new notes in the user's file.
_input_options = option_group(style_option(for_input=True), key_option(for_input=True), sampling_options(for_input=True),
                              rank_option, output_options)


def _run(request, sample_file, write_files, describe, *, input_path, style, styles_dir, rank, output, force, wav, png,
         soundfont) -> None:
    """The four commands' common course: check the outputs, sample (``--rank``: best first), write each take
    and say what it holds (``describe(take, source)``), then the previews of the first take."""
    check_outputs(output, request.variations, force, wav, png)
    bundle = prepare_sampling(style, styles_dir, request.max_copy, rank)
    source, takes = sample_file(bundle, input_path, request, styles_dir=styles_dir)
    takes = ranked(bundle, takes, rank)
    for path, take in zip(write_files(source, takes, output, force=force), takes):
        click.echo(f"{path}: {describe(take, source)}{fit_note(take)}")
    write_previews(takes[0], wav, png, soundfont)


@click.command("continue")
@click.argument("input_path", metavar="IN.mid", type=click.Path(dir_okay=False))
@click.option("--bars", type=int, required=True, help="Bars to add after the input's last bar.")
@range_option(for_input=True)
@_input_options
def continue_(input_path, bars, range_, style, key, rank, output, force, wav, png, soundfont, styles_dir, **sampling) -> None:
    """Add N bars in a style after your MIDI file, which is kept exactly as it is.

    The new bars go on the input's tracks, in the meter and tempo in force at its end.

    Example: midigen continue sketch.mid --style bach-chorales --bars 8 -o longer.mid
    """
    from ..music.keys import parse_key
    from ..music.spelling import parse_range
    from ..tasks.continuation import ContinueRequest, continue_file, new_notes, write_continuations

    request = ContinueRequest(bars=bars, key=parse_key(key) if key else None,
                              pitch_range=parse_range(range_) if range_ else None, **sampling)

    def describe(take, source):
        p = take.provenance
        return (f"{p['input_bars']} bars of {source.path.name} kept, {p['bars']} new bars of {p['time_sig']} in {p['key']} "
                f"({len(new_notes(take, source.piece.end_steps))} notes; {p['style']}, seed {p['seed']})")

    _run(request, continue_file, write_continuations, describe, input_path=input_path, style=style, styles_dir=styles_dir, rank=rank,
         output=output, force=force, wav=wav, png=png, soundfont=soundfont)


@click.command()
@click.argument("input_path", metavar="IN.mid", type=click.Path(dir_okay=False))
@click.option("--bars", "bars_", required=True, help="Bars to rewrite, numbered from 1, e.g. 5-8 (at most 16).")
@click.option("--tracks", help="Rewrite only these tracks, numbered from 1, e.g. 2,3 (default: all); the others "
                               "keep their notes in those bars and the new parts are written hearing them.")
@range_option(for_input=True)
@_input_options
def infill(input_path, bars_, tracks, range_, style, key, rank, output, force, wav, png, soundfont, styles_dir,
           **sampling) -> None:
    """Rewrite chosen bars of your MIDI file; every other note stays exactly as it is.

    The model hears the bars on both sides of the gap before it writes it, so the new bars lead into
    what follows as well as out of what comes before.

    Example: midigen infill song.mid --bars 5-8 --style irish-folk -o song-new-middle.mid
    """
    from ..music.keys import parse_key
    from ..music.spelling import parse_range
    from ..tasks.infill import InfillRequest, infill_file, parse_bars, parse_tracks, write_infills

    first_bar, n_bars = parse_bars(bars_)
    request = InfillRequest(first_bar=first_bar, n_bars=n_bars, tracks=parse_tracks(tracks), key=parse_key(key) if key else None,
                            pitch_range=parse_range(range_) if range_ else None, **sampling)

    def describe(take, source):
        p = take.provenance
        which = "all tracks" if p["tracks"] is None else "tracks " + ",".join(map(str, p["tracks"]))
        return (f"bars {p['bars']} of {source.path.name} rewritten on {which}, the rest kept "
                f"({len(take.piece.meta['new_notes'])} new notes in {p['key']}; {p['style']}, seed {p['seed']})")

    def write(source, takes, output, force):
        return write_infills(source, takes, request, output, force=force)

    _run(request, infill_file, write, describe, input_path=input_path, style=style, styles_dir=styles_dir, rank=rank,
         output=output, force=force, wav=wav, png=png, soundfont=soundfont)


@click.command()
@click.argument("input_path", metavar="MELODY.mid", type=click.Path(dir_okay=False))
@_input_options
def harmonize(input_path, style, key, rank, output, force, wav, png, soundfont, styles_dir, **sampling) -> None:
    """Write a style's other parts under your melody, which stays the top part, exactly as it is.

    The melody (one track, one note at a time) takes the style's first part; its bars, meter and tempo
    are kept, and every new note stays below the melody note sounding with it.

    Example: midigen harmonize tune.mid --style bach-chorales -o chorale.mid
    """
    from ..music.keys import parse_key
    from ..tasks.harmonize import HarmonizeRequest, harmonize_file, write_harmonizations

    request = HarmonizeRequest(key=parse_key(key) if key else None, **sampling)

    def describe(take, source):
        p = take.provenance
        return (f"{source.path.name} harmonized as {', '.join(p['parts'])}, {p['bars']} bars of {p['time_sig']} in {p['key']} "
                f"({take.piece.n_notes} notes; {p['style']}, seed {p['seed']})")

    _run(request, harmonize_file, write_harmonizations, describe, input_path=input_path, style=style,
         styles_dir=styles_dir, rank=rank, output=output, force=force, wav=wav, png=png, soundfont=soundfont)


@click.command()
@click.argument("input_path", metavar="IN.mid", type=click.Path(dir_okay=False))
@click.option("--add", "add", required=True, help="The style's parts to add, e.g. drums,bass (`midigen styles show NAME` "
                                                  "lists them).")
@click.option("--bars", "bars_", help="Accompany only these bars, numbered from 1, e.g. 5-12 (default: the whole clip).")
@range_option(for_input=True)
@_input_options
def accompany(input_path, add, bars_, range_, style, key, rank, output, force, wav, png, soundfont, styles_dir, **sampling) -> None:
    """Add parts of a style (drums, bass, ...) to your clip; every event of the clip stays exactly as it is.

    Each new part is written hearing every track of the clip, in its tempo and meter; the parts go on
    new tracks of their own.

    Example: midigen accompany riff.mid --style jazz --add drums,bass -o riff-band.mid
    """
    from ..music.keys import parse_key
    from ..music.spelling import parse_range
    from ..tasks.accompany import accompany_file, request_from_strings, write_accompaniments

    request = request_from_strings(add, bars_, key=parse_key(key) if key else None,
                                   pitch_range=parse_range(range_) if range_ else None, **sampling)

    def describe(take, source):
        p = take.provenance
        return (f"{source.path.name} kept, {', '.join(p['parts'])} added over bars {p['bars']} of {p['time_sig']} in {p['key']} "
                f"({len(take.piece.meta['new_notes'])} new notes; {p['style']}, seed {p['seed']})")

    _run(request, accompany_file, write_accompaniments, describe, input_path=input_path, style=style,
         styles_dir=styles_dir, rank=rank, output=output, force=force, wav=wav, png=png, soundfont=soundfont)
