"""``midigen styles``: list, show, remove, export and import style bundles."""
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
    from ..styles import info as style_info

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
    from ..styles import info as style_info

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
    from ..styles import info as style_info

    path = style_info.style_path(name, styles_dir)
    if not yes:
        click.confirm(f"Remove {path}?", abort=True)
    style_info.remove_style(name, styles_dir)
    click.echo(f"removed {path}")


@styles.command("export")
@click.argument("name")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look here first.")
@click.option("--force", is_flag=True, help="Overwrite ARCHIVE if it exists.")
def export(name: str, archive: str, styles_dir: str | None, force: bool) -> None:
    """Write a style bundle to a .tar.gz file to share (verified before it is written).

    Example: midigen styles export bach-chorales bach-chorales.tar.gz
    """
    from ..styles import archive as style_archive

    path = style_archive.export_style(name, archive, styles_dir=styles_dir, force=force)
    click.echo(f"exported {name} -> {path}")


@styles.command("import")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--name", help="Install under this name instead of the archive's.")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Install here (default: the per-user styles folder).")
@click.option("--force", is_flag=True, help="Replace an installed style of the same name.")
def import_(archive: str, name: str | None, styles_dir: str | None, force: bool) -> None:
    """Install a style bundle from a .tar.gz file, checked and verified before it is installed.

    Refuses links, paths outside the bundle, unknown or pickle files, oversize members and bundles
    whose weights do not match their SHA-256 or shapes.

    Example: midigen styles import bach-chorales.tar.gz --name bach-shared
    """
    from ..styles import archive as style_archive

    path = style_archive.import_style(archive, name=name, styles_dir=styles_dir, force=force)
    click.echo(f"imported {path.name} -> {path}")
