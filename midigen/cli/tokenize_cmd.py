"""``midigen tokenize``: show the tokens of a file, or check the round trip of files."""
from __future__ import annotations

import json

import click

from ..corpus import roundtrip
from ..corpus.reader import find_music_files


def register(main: click.Group) -> None:
    main.add_command(tokenize)


@click.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--check-roundtrip", is_flag=True, help="Report notes in/out and whether decode(encode(x)) is exact, per file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tokenize(path: str, check_roundtrip: bool, as_json: bool) -> None:
    """Print the tokens of a music file, or check the tokenizer's round trip on a file or folder.

    Example: midigen tokenize song.mid
    """
    if not check_roundtrip:
        names = roundtrip.tokenize_file(path)
        click.echo(json.dumps(names) if as_json else " ".join(names))
        return
    results = [roundtrip.check_roundtrip(f) for f in find_music_files(path)]
    if as_json:
        click.echo(json.dumps(results, indent=1))
        return
    for r in results:
        status = "exact" if r["exact"] else ("skipped: " + r["error"].split(": ", 1)[-1] if r["error"] else "MISMATCH")
        click.echo(f"{r['path']}: notes in {r['notes_in']}, notes out {r['notes_out']}, {status}")
    exact = sum(r["exact"] for r in results)
    click.echo(f"{exact}/{len(results)} files round-trip exactly at the grid")
