"""The ``midigen`` command: a thin click layer over the library.

Errors are translated in one place (``_Group.invoke``): a ``MidigenError`` or a usage mistake prints one
line, ``Error: ...``, and exits with status 2; Ctrl-C exits with 130. No command holds logic.
"""
from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import MidigenError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Group(click.Group):
    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
            click.echo(f"Error: {e.format_message()}{hint}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as e:
            click.echo(f"Error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except MidigenError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="midigen")
def main() -> None:
    """Train a style from a folder of MIDI files, then compose new MIDI in that style."""


def _register() -> None:
    from . import compose_cmd, corpus_cmds, eval_cmd, media_cmds, serve_cmd, sketch_cmds, styles_cmds, tokenize_cmd, train_cmd

    for module in (corpus_cmds, tokenize_cmd, train_cmd, compose_cmd, sketch_cmds, eval_cmd, styles_cmds, media_cmds, serve_cmd):
        module.register(main)


_register()
