"""``midigen serve``: the local studio page (``midigen.serve``)."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    main.add_command(serve)


@click.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this machine can reach 127.0.0.1; 0.0.0.0 opens the studio to your network.")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Also look for styles here first.")
@click.option("--soundfont", type=click.Path(exists=True, dir_okay=False), help="General MIDI soundfont for the audio.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
def serve(port, host, styles_dir, soundfont, open_browser) -> None:
    """Serve the studio page: compose, listen, regenerate bars and drag takes into your DAW.

    Example: midigen serve --open
    """
    from ..serve.server import serve as run  # starlette and uvicorn load here, not when the CLI starts

    def ready(url, studio) -> None:
        click.echo(f"midigen studio at {url} (Ctrl-C to stop)")
        click.echo(f"audio: {studio.audio.note}; takes are kept in {studio.store.folder} until the server stops")
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo(f"warning: listening on {host}: other machines that can reach it can use the studio", err=True)
        if open_browser:
            click.launch(url)

    run(host, port, styles_dir=styles_dir, soundfont=soundfont, on_ready=ready)
