"""`maelstrom serve [--port P] [--host H] [STORE]`: browse a store in a web browser.

Runs newest first (verdict, workload, nodes, seed, duration), a filter for runs that are not
valid, each run's results, plots, message diagram, timelines, cluster view, logs, and the
command that replays it (maelstrom/reports/serve_app.py). Loopback only unless --host says
otherwise. Ctrl-C stops it (exit 130, as every command).
"""

from __future__ import annotations

from pathlib import Path

import click

from maelstrom.errors import BenchError, JepsenExit

__all__ = ["serve"]


class _ServeCommand(JepsenExit, click.Command):
    """Jepsen's exit statuses when run on its own."""


@click.command("serve", cls=_ServeCommand)
@click.argument("store", required=False, default="store", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="TCP port (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default; 0.0.0.0 for every interface).")
def serve(store: Path, port: int, host: str) -> None:
    """Serve the store's runs, results, plots and reports over HTTP."""
    from maelstrom.reports.serve_app import make_server

    if not store.is_dir():
        raise BenchError(f"{store}: no such store directory")
    try:
        server = make_server(store, host, port)
    except OSError as exc:
        raise BenchError(f"cannot listen on {host}:{port}: {exc}") from None
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"Serving {store} on http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
