"""``midigen styles``: list, show and remove installed style bundles."""
from __future__ import annotations

import json

import click


def register(main: click.Group) -> None:
    main.add_command(styles)


@click.group()
def styles() -> None:
    """Manage style bundles (searched in --styles-dir, styles/, $MIDIGEN_STYLES, then the per-user folder)."""


@styles.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look here first.")
def list_(as_json: bool, styles_dir: str | None) -> None:
    """List installed styles: name, pieces, parameters, test bits/note, date.

    Example: midigen styles list
    """
    from .. import style_info

    rows = style_info.list_styles(styles_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo("no styles installed (train one with `midigen train --style NAME DIR`)")
        return
    click.echo(f"{'name':20s} {'pieces':>7s} {'params':>8s} {'test bits/note':>15s} {'n-gram':>7s}  created     path")
    for r in rows:
        bits = f"{r['test_bits_per_note']:.3f}" if r["test_bits_per_note"] is not None else "-"
        ngram = f"{r['ngram_bits_per_note']:.3f}" if r["ngram_bits_per_note"] is not None else "-"
        click.echo(f"{r['name']:20s} {r['pieces']:>7d} {r['params'] / 1e6:>7.2f}M {bits:>15s} {ngram:>7s}  "
                   f"{r['created'][:10]}  {r['path']}")


@styles.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the whole style.json.")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look here first.")
def show(name: str, as_json: bool, styles_dir: str | None) -> None:
    """Show a style: corpus, defaults the sampler uses, training, metrics and licence.

    Example: midigen styles show bach-chorales
    """
    from .. import style_info

    meta = style_info.show_style(name, styles_dir)
    click.echo(json.dumps(meta, indent=1) if as_json else "\n".join(style_info.describe(meta)))


@styles.command()
@click.argument("name")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look here first.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rm(name: str, styles_dir: str | None, yes: bool) -> None:
    """Remove an installed style bundle.

    Example: midigen styles rm my-style --yes
    """
    from .. import style_info

    path = style_info.style_path(name, styles_dir)
    if not yes:
        click.confirm(f"Remove {path}?", abort=True)
    style_info.remove_style(name, styles_dir)
    click.echo(f"removed {path}")
