"""``midigen eval``: how good a style is, against real pieces, with 95 % confidence intervals."""
from __future__ import annotations

import json

import click


def register(main: click.Group) -> None:
    main.add_command(eval_)


@click.command("eval")
@click.option("--style", required=True, help="Style bundle to evaluate (see `midigen styles list`).")
@click.option("--samples", type=click.IntRange(min=1), default=200, show_default=True, help="Takes to compose and judge.")
@click.option("--bars", "bars", default="8,16,32", show_default=True, help="Lengths of the takes, in bars, comma-separated.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same style + seed + options = the same figures.")
@click.option("--strict-key", is_flag=True, help="Compose with --strict-key (the in-key target becomes 1.0).")
@click.option("--max-copy", default="auto", show_default=True, metavar="N|auto|off",
              help="Compose with this --max-copy (off: measure the model unguarded).")
@click.option("--rank", type=click.IntRange(min=1), default=1, show_default=True, metavar="K",
              help="Each take is the best of K variations by style fit (what `compose --rank` writes first).")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False),
              help="The style's corpus folder, where the path in its style.json does not lead to it.")
@click.option("--against", multiple=True, type=click.Path(file_okay=False),
              help="A corpus for the style classifier to tell the style from (repeatable; default: the corpora of the "
                   "installed styles and the imported corpora beside the style's own).")
@click.option("--key-profile", type=click.Choice(["krumhansl", "aarden", "temperley", "simple"]),
              help="Key-finding profile for key agreement (default: the one the corpus's keys were found with).")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False),
              help="Write PNGs of the feature distributions and piano rolls here.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look for styles here first.")
def eval_(style, samples, bars, seed, strict_key, max_copy, rank, corpus_dir, against, key_profile, plots_dir, device, as_json,
          styles_dir) -> None:
    """Evaluate a style: likelihood, constraint compliance, distribution match, originality and style.

    Example: midigen eval --style bach-chorales --samples 200 --bars 8,16,32 --plots eval-plots
    """
    from ..evalsuite.report import text_lines  # torch loads here, not when the CLI starts
    from ..evalsuite.suite import EvalConfig, parse_bar_counts, run_eval
    from ..tasks.guard import parse_max_copy

    config = EvalConfig(style=style, samples=samples, bar_counts=parse_bar_counts(bars), seed=seed, strict_key=strict_key,
                        corpus_dir=corpus_dir, against=tuple(against) or None, key_profile=key_profile,
                        styles_dir=styles_dir, plots_dir=plots_dir, device=device, max_copy=parse_max_copy(max_copy), rank=rank)
    report = run_eval(config, progress=lambda message: click.echo(message, err=True))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
    else:
        click.echo("\n".join(text_lines(report)))
