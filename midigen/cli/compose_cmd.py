"""``midigen compose``: new MIDI in a style."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    main.add_command(compose)


@click.command()
@click.option("--style", required=True, help="Style bundle to compose in (see `midigen styles list`).")
@click.option("--bars", type=int, required=True, help="Exact length in bars.")
@click.option("--key", help='Key, e.g. "D minor", "F# major", "Bbm" (default: the style\'s most common).')
@click.option("--tempo", "tempo_bpm", type=float, help="Tempo in bpm (default: the style's most common).")
@click.option("--time-sig", help="Time signature, e.g. 3/4 or 6/8 (default: the style's most common).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same style + seed + options = the same file.")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="0 is greedy; higher is wilder.")
@click.option("--top-p", type=float, default=0.95, show_default=True, help="Nucleus sampling mass.")
@click.option("--variations", type=int, default=1, show_default=True, help="Write K takes (OUT-1.mid ... OUT-K.mid) in one batched pass.")
@click.option("--strict-key", is_flag=True, help="Every pitch in the key (minor: natural minor plus raised 6th and 7th).")
@click.option("--range", "range_", help="Every pitch inside this range, e.g. C3-C6.")
@click.option("--program", type=int, help="General MIDI program (0-127) for every melodic part.")
@click.option("--parts", help="Write only these of the style's parts, e.g. soprano,bass "
                              "(`midigen styles show NAME` lists them).")
@click.option("--chords", help='Chord progression to write over, bar by bar, e.g. "Dm7 | G7 | Cmaj7 | %" '
                               "(several chords in a bar share it evenly; a shorter progression repeats).")
@click.option("--chords-track", is_flag=True, help="Also write the --chords as a block-chord part.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="MIDI file to write.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--wav", type=click.Path(dir_okay=False), help="Also render the (first) take to this WAV file with FluidSynth.")
@click.option("--png", type=click.Path(dir_okay=False), help="Also draw the (first) take's piano roll to this PNG file.")
@click.option("--soundfont", type=click.Path(exists=True, dir_okay=False), help="General MIDI soundfont for --wav.")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look for styles here first.")
def compose(style, bars, key, tempo_bpm, time_sig, seed, temperature, top_p, variations, strict_key, range_, program,
            parts, chords, chords_track, output, force, wav, png, soundfont, styles_dir) -> None:
    """Compose new MIDI in a style, with exact bars, meter, tempo and key.

    Example: midigen compose --style bach-chorales --bars 16 --key "D minor" --tempo 80 -o chorale.mid
    """
    from ..tasks import compose as api  # numpy and the MIDI libraries load here, not when the CLI starts (and never torch)

    request = api.request_from_strings(
        bars, key=key, time_sig=time_sig, range_=range_, tempo_bpm=tempo_bpm, seed=seed, temperature=temperature,
        top_p=top_p, variations=variations, strict_key=strict_key, program=program, parts=parts, chords=chords,
        chords_track=chords_track)
    from pathlib import Path

    extras = [Path(p) for p in (wav, png) if p]
    api.check_outputs(api.output_paths(output, variations) + extras, force)
    takes = api.compose(style, request, styles_dir=styles_dir)
    for path, take in zip(api.write_takes(takes, output, force=force), takes):
        p = take.provenance
        click.echo(f"{path}: {p['bars']} bars of {p['time_sig']} in {p['key']} at {p['tempo_bpm']:g} bpm, "
                   f"{take.piece.n_notes} notes, parts {', '.join(p['parts'])}{' over ' + p['chords'] if p['chords'] else ''} "
                   f"({p['style']}, seed {p['seed']})")
    if wav:
        from ..media.render import render_wav

        click.echo(f"{render_wav(takes[0].piece, wav, soundfont=soundfont)}: audio preview")
    if png:
        from ..media.plot import plot_piano_roll

        click.echo(f"{plot_piano_roll(takes[0].piece, png)}: piano roll")
