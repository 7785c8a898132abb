"""``midigen corpus``: import music21's corpora, show a folder's statistics, split it by tune family."""
from __future__ import annotations

import json

import click

from .progress import progress_bar


def register(main: click.Group) -> None:
    main.add_command(corpus)


@click.group()
def corpus() -> None:
    """Build and inspect corpora (folders of music to train a style on)."""


@corpus.group("import")
def import_() -> None:
    """Import a corpus from a source that ships with an installed package."""


@import_.command("music21")
@click.argument("collection")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--workers", default=2, show_default=True, help="Processes parsing in parallel.")
@click.option("--limit", type=click.IntRange(min=1), help="Import only the first N pieces.")
def import_music21(collection: str, out_dir: str, workers: int, limit: int | None) -> None:
    """Write one MIDI file per piece of a music21 corpus COLLECTION into OUT_DIR, with manifest.json.

    Collections: bach-chorales, irish-oneills, fiddle-ryans, essen-german, essen-chinese, palestrina.

    Example: midigen corpus import music21 bach-chorales corpora/bach-chorales
    """
    from ..corpus.music21_import import import_collection

    with progress_bar(f"import {collection}") as progress:
        report = import_collection(collection, out_dir, workers=workers, limit=limit, progress=progress)
    click.echo(f"{report.written} written, {report.skipped_existing} already there, {len(report.failed)} failed "
               f"-> {report.manifest_path}")
    for failure in report.failed:
        click.echo(f"  failed: {failure['source']}: {failure['reason']}")


@corpus.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--workers", default=2, show_default=True, help="Processes tokenizing in parallel.")
def stats(path: str, as_json: bool, workers: int) -> None:
    """Pieces, notes, bars, keys, meters, tempos and programs of a folder, and the files skipped with why.

    Example: midigen corpus stats corpora/bach-chorales
    """
    from ..corpus.dataset import build_dataset
    from ..corpus.stats import CorpusStats

    with progress_bar("reading") as progress:
        dataset = build_dataset(path, workers=workers, progress=progress)
    result = CorpusStats.of(dataset.records, dataset.skipped)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1))
    else:
        click.echo("\n".join(result.summary_lines()))


@corpus.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--seed", default=0, show_default=True, help="Seed of the family order.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def split(path: str, seed: int, as_json: bool) -> None:
    """Split a folder into train/valid/test by tune family and record it in its manifest.json.

    Example: midigen corpus split corpora/bach-chorales --seed 0
    """
    from ..corpus.split import split_folder

    result = split_folder(path, seed=seed)
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        sizes = result["sizes"]
        click.echo(f"train {sizes['train']}, valid {sizes['valid']}, test {sizes['test']} pieces "
                   f"({result['n_families']} families; {result['n_grouped']} pieces share a "
                   f"{result['run_notes']}-note run with another) -> {result['manifest']}")
