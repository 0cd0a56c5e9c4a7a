"""`ocula mcp`: serve ocula's tasks as Model Context Protocol tools (stdio, or streamable HTTP
on loopback)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import err, fail

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def mcp(
    allow_dir: List[Path] = typer.Option([], "--allow-dir", help="Folder tools may read images from (repeat; "
                                         "default: the current folder). Nothing outside is read or written."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Folder edited and generated images are "
                                              "written to, inside an allowed folder (default: the first "
                                              "--allow-dir).", show_default=False),
    db: Optional[Path] = typer.Option(None, "--db", help="Index the search and index tools use (default: "
                                      "OCULA_HOME/index.db).", show_default=False),
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address for --http (loopback unless --api-key is set)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port for --http."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OCULA_API_KEY", show_default=False,
                                          help="Require this key on /mcp (Bearer or X-API-Key), as `ocula serve` does."),
    workers: int = typer.Option(2, "--workers", min=1, max=16, help="Tool calls run at once."),
) -> None:
    """Serve ocula's tools to assistants over the Model Context Protocol (stdio by default)."""
    try:
        import anyio

        from ..mcp.server import http_app, serve_stdio
        from ..mcp.tools import Folders, Toolbox
    except ImportError as e:
        fail(f"the MCP server needs the mcp extra ({e.name} is missing): pip install 'ocula[mcp]'")
    from ..errors import InvalidArgument

    try:
        folders = Folders(allow_dir or None, output_dir)
    except InvalidArgument as e:
        fail(str(e))
    toolbox = Toolbox(folders, db=str(db) if db else None)
    if not http:
        anyio.run(serve_stdio, toolbox, workers)
        return
    if host not in LOOPBACK and not api_key:
        fail(f"--host {host} reaches beyond this machine: set --api-key (or OCULA_API_KEY) too")
    import uvicorn

    err.print(f"ocula mcp: http://{host if ':' not in host else f'[{host}]'}:{port}/mcp  "
              f"(allowed: {', '.join(map(str, folders.allow))})")
    uvicorn.run(http_app(toolbox, api_key=api_key, host=host, workers=workers), host=host, port=port,
                log_level="warning")
