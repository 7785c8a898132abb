"""The options ``compose``, ``continue``, ``infill``, ``harmonize`` and ``accompany`` share, declared once,
and what they do around sampling: check every output path first, make sure the ``--max-copy`` index is at
hand, order the takes for ``--rank``, then write the previews.

``compose`` writes a piece of its own; the others write new notes into the user's file, so their help
says "new pitch" and that the same *input* + style + seed gives the same file (``for_input``).
"""
from __future__ import annotations

from pathlib import Path

import click


def option_group(*options):
    """One decorator applying ``options`` in the order given (the order ``--help`` lists them)."""
    def apply(command):
        for option in reversed(options):
            command = option(command)
        return command
    return apply


def style_option(for_input: bool):
    verb = "write" if for_input else "compose"
    return click.option("--style", required=True, help=f"Style bundle to {verb} in (see `midigen styles list`).")


def key_option(for_input: bool):
    if for_input:
        return click.option("--key", help="Key of the input, e.g. \"D minor\" (default: its key signature, else found from its notes).")
    return click.option("--key", help='Key, e.g. "D minor", "F# major", "Bbm" (default: the style\'s most common).')


def range_option(for_input: bool):
    pitch = "new pitch" if for_input else "pitch"
    return click.option("--range", "range_", help=f"Every {pitch} inside this range, e.g. C3-C6.")


def _max_copy(ctx, param, value):
    from ..tasks.guard import parse_max_copy

    return parse_max_copy(value)


def sampling_options(for_input: bool):
    """--seed, --temperature, --top-p, --variations, --strict-key and --max-copy: their parameters are named as
    the fields of ``tasks.request.SamplingRequest``, so a command hands them on whole (``**sampling``)."""
    same, pitch = ("input + style", "new pitch") if for_input else ("style", "pitch")
    return option_group(
        click.option("--seed", type=int, default=0, show_default=True, help=f"Same {same} + seed + options = the same file."),
        click.option("--temperature", type=float, default=1.0, show_default=True, help="0 is greedy; higher is wilder."),
        click.option("--top-p", type=float, default=0.95, show_default=True, help="Nucleus sampling mass."),
        click.option("--variations", type=int, default=1, show_default=True,
                     help="Write K takes (OUT-1.mid ... OUT-K.mid) in one batched pass."),
        click.option("--strict-key", is_flag=True, help=f"Every {pitch} in the key (minor: natural minor plus raised 6th and 7th)."),
        click.option("--max-copy", default="auto", show_default=True, callback=_max_copy, metavar="N|auto|off",
                     help="No run of more than N notes of one part copied from the style's training pieces (auto: the "
                          "style's own N, which its held-out real pieces rarely exceed; off: no guard)."),
    )


rank_option = click.option("--rank", is_flag=True, help="Write the variations best first by style fit (real-vs-generated "
                                                        "classifier, feature distance to the corpus, model likelihood); "
                                                        "each take's score goes into its provenance.")


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def prepare_sampling(style: str, styles_dir, max_copy, rank: bool):
    """Before sampling: the --max-copy index built from the corpus if the style has none at hand (a warning
    when it cannot be and the guard is on by default); for --rank, the bundle loaded once (else the name)."""
    from ..tasks.guard import has_copy_index

    if max_copy is not None and not has_copy_index(style, styles_dir):
        from ..evalsuite.copyindex import prepare_copy_index

        warning = prepare_copy_index(style, styles_dir, max_copy, progress=echo_err)
        if warning:
            echo_err(f"Warning: {warning}")
    if not rank:
        return style
    from ..tasks.takes import sampling_bundle

    return sampling_bundle(style, styles_dir)


def ranked(bundle, takes: list, rank: bool) -> list:
    """The takes best first by style fit (``evalsuite.rank``), or as sampled."""
    if not rank:
        return takes
    from ..evalsuite.rank import rank_takes

    return rank_takes(bundle, takes, progress=echo_err)


def fit_note(take) -> str:
    """", style fit +0.42 (rank 1)" for a ranked take, else nothing."""
    fit = take.provenance.get("style_fit")
    return f", style fit {fit['score']:+.2f} (rank {take.provenance['rank']})" if fit else ""


output_options = option_group(
    click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="MIDI file to write."),
    click.option("--force", is_flag=True, help="Overwrite existing output files."),
    click.option("--wav", type=click.Path(dir_okay=False), help="Also render the (first) take to this WAV file with FluidSynth."),
    click.option("--png", type=click.Path(dir_okay=False), help="Also draw the (first) take's piano roll to this PNG file."),
    click.option("--soundfont", type=click.Path(exists=True, dir_okay=False), help="General MIDI soundfont for --wav."),
    click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look for styles here first."),
)


def check_outputs(output: str, variations: int, force: bool, wav: str | None, png: str | None) -> None:
    """Refuse before sampling when any file the command would write is in the way."""
    from ..tasks.takes import check_outputs, output_paths

    check_outputs(output_paths(output, variations) + [Path(p) for p in (wav, png) if p], force)


def write_previews(take, wav: str | None, png: str | None, soundfont: str | None) -> None:
    """--wav and --png: the (first) take as audio and as a piano roll."""
    if wav:
        from ..media.render import render_wav

        click.echo(f"{render_wav(take.piece, wav, soundfont=soundfont)}: audio preview")
    if png:
        from ..media.plot import plot_piano_roll

        click.echo(f"{plot_piano_roll(take.piece, png)}: piano roll")
