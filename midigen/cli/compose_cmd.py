"""``midigen compose``: new MIDI in a style."""
from __future__ import annotations

import click

from .options import (
    check_outputs,
    fit_note,
    key_option,
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
    main.add_command(compose)


@click.command()
@style_option(for_input=False)
@click.option("--bars", type=int, required=True, help="Exact length in bars.")
@key_option(for_input=False)
@click.option("--tempo", "tempo_bpm", type=float, help="Tempo in bpm (default: the style's most common).")
@click.option("--time-sig", help="Time signature, e.g. 3/4 or 6/8 (default: the style's most common).")
@sampling_options(for_input=False)
@range_option(for_input=False)
@click.option("--program", type=int, help="General MIDI program (0-127) for every melodic part.")
@click.option("--parts", help="Write only these of the style's parts, e.g. soprano,bass "
                              "(`midigen styles show NAME` lists them).")
@click.option("--chords", help='Chord progression to write over, bar by bar, e.g. "Dm7 | G7 | Cmaj7 | %" '
                               "(several chords in a bar share it evenly; a shorter progression repeats).")
@click.option("--chords-track", is_flag=True, help="Also write the --chords as a block-chord part.")
@rank_option
@output_options
def compose(style, bars, key, tempo_bpm, time_sig, range_, program, parts, chords, chords_track, rank, output, force, wav, png,
            soundfont, styles_dir, **sampling) -> None:
    """Compose new MIDI in a style, with exact bars, meter, tempo and key.

    Example: midigen compose --style bach-chorales --bars 16 --key "D minor" --tempo 80 -o chorale.mid
    """
    from ..tasks import compose as api  # numpy and the MIDI libraries load here, not when the CLI starts (and never torch)

    request = api.request_from_strings(bars, key=key, time_sig=time_sig, range_=range_, tempo_bpm=tempo_bpm, program=program,
                                       parts=parts, chords=chords, chords_track=chords_track, **sampling)
    check_outputs(output, request.variations, force, wav, png)
    api.check_parts(style, request, styles_dir)
    bundle = prepare_sampling(style, styles_dir, request.max_copy, rank)
    takes = ranked(bundle, api.compose(bundle, request, styles_dir=styles_dir), rank)
    for path, take in zip(api.write_takes(takes, output, force=force), takes):
        p = take.provenance
        click.echo(f"{path}: {p['bars']} bars of {p['time_sig']} in {p['key']} at {p['tempo_bpm']:g} bpm, "
                   f"{take.piece.n_notes} notes, parts {', '.join(p['parts'])}{' over ' + p['chords'] if p['chords'] else ''} "
                   f"({p['style']}, seed {p['seed']}{fit_note(take)})")
    write_previews(takes[0], wav, png, soundfont)
