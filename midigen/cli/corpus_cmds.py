"""``midigen corpus``: import music21's corpora, render MMA band grooves or take a game's music, show a folder's statistics, split it."""
from __future__ import annotations

import contextlib
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


def _names(text: str | None) -> tuple[str, ...] | None:
    """("jazz", "latin") from "jazz,latin"; None when not given."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    return names or None


@import_.command("mma")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--genres", help="Only these genres, comma-separated (e.g. jazz,latin).")
@click.option("--libraries", help="MMA groove libraries, comma-separated [default: stdlib,casio,yamaha,kara,pflib,alexis; "
              "zoom holds drum-machine patterns only].")
@click.option("--files", help="Only these groove files, comma-separated (e.g. stdlib/swing,stdlib/bossanova).")
@click.option("--songs-per-file", default=12, show_default=True, type=click.IntRange(min=1),
              help="Songs per groove file (at least one per main groove).")
@click.option("--seed", default=0, show_default=True, help="Seed of charts, keys, tempos and MMA's humanising.")
@click.option("--limit", type=click.IntRange(min=1), help="Render only the first N songs (one per groove file first).")
@click.option("--workers", default=2, show_default=True, help="mma processes running in parallel.")
def import_mma(out_dir: str, genres: str | None, libraries: str | None, files: str | None, songs_per_file: int, seed: int,
               limit: int | None, workers: int) -> None:
    """Render band grooves of MMA (Musical MIDI Accompaniment) over chord charts into OUT_DIR, with manifest.json.

    Needs the `mma` program (Debian/Ubuntu: sudo apt-get install mma). Genres: jazz, swing, trad-jazz,
    show, ballad, latin, rock, pop, funk, blues, country, waltz, march, folk, gospel, reggae, electronic.

    Example: midigen corpus import mma corpora/mma --genres jazz,latin
    """
    from ..corpus.mma import import_mma as run_import

    with contextlib.ExitStack() as scan_bar, progress_bar("render", unit="song") as render_progress:
        probe_progress = scan_bar.enter_context(progress_bar("scan grooves", unit="file"))

        def progress(done: int, total: int) -> None:
            scan_bar.close()  # the scan is over when rendering starts: finish its bar first
            render_progress(done, total)

        report = run_import(out_dir, genres=_names(genres), libraries=_names(libraries), files=_names(files),
                            songs_per_file=songs_per_file, seed=seed, limit=limit, workers=workers, progress=progress,
                            probe_progress=probe_progress)
    click.echo(f"{report.written} written, {report.skipped_existing} already there, {len(report.failed)} failed or not used "
               f"in {report.seconds:.0f} s -> {report.manifest_path}")
    click.echo("  " + ", ".join(f"{genre} {n}" for genre, n in report.genres.items()))
    for failure in report.failed:
        click.echo(f"  failed: {failure['source']}: {failure['reason']}")


@import_.command("wad")
@click.argument("wads", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--name", help="Collection name in the manifest [default: the first WAD's name].")
def import_wad(wads: tuple[str, ...], out_dir: str, name: str | None) -> None:
    """Write the MIDI music of Doom-engine game data files (WADs) into OUT_DIR, with manifest.json.

    Debian's freedoom and freedm packages install band music (rock, metal, ambient; drums on channel 10)
    under a BSD-style licence in /usr/share/games/doom/freedoom1.wad, freedoom2.wad and freedm.wad.

    Example: midigen corpus import wad /usr/share/games/doom/freedoom1.wad corpora/freedoom1
    """
    from ..corpus.wad_import import import_wads

    report = import_wads(list(wads), out_dir, name=name)
    click.echo(f"{report.written} written, {report.skipped_existing} already there, {len(report.failed)} not imported "
               f"-> {report.manifest_path}")
    for failure in report.failed:
        click.echo(f"  not imported: {failure['source']}: {failure['reason']}")


@corpus.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.argument("dst", type=click.Path(file_okay=False))
@click.option("--genres", required=True, help="Genres to keep, comma-separated (e.g. latin or rock,pop).")
@click.option("--name", help="Collection name of the subset [default: DST's folder name].")
def subset(src: str, dst: str, genres: str, name: str | None) -> None:
    """Make DST a corpus of some genres of SRC (hard links, manifest entries and held-out split kept).

    Example: midigen corpus subset corpora/mma corpora/mma-latin --genres latin
    """
    from ..corpus.subset import subset_corpus

    report = subset_corpus(src, dst, _names(genres) or (), name)
    genres_text = ", ".join(f"{g} {n}" for g, n in sorted(report.by_genre.items()))
    sizes = "/".join(str(report.sizes.get(s, 0)) for s in ("train", "valid", "test"))
    click.echo(f"{report.pieces} pieces ({genres_text}), split train/valid/test {sizes} -> {report.manifest_path}")


@corpus.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--workers", default=2, show_default=True, help="Processes tokenizing in parallel.")
def stats(path: str, as_json: bool, workers: int) -> None:
    """Pieces, notes, bars, keys (and how each was decided), meters, tempos and programs of a folder, the
    files whose key signature the notes contradict, and the files skipped with why.

    Example: midigen corpus stats corpora/bach-chorales
    """
    from ..corpus.dataset import build_dataset
    from ..corpus.stats import CorpusStats

    with progress_bar("reading") as progress:
        dataset = build_dataset(path, workers=workers, progress=progress)
    result = CorpusStats.of_dataset(dataset)
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
