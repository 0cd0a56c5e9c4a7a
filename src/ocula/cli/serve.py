"""`ocula serve`: the HTTP API and the web page."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import err, fail


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OCULA_API_KEY", show_default=False,
                                          help="Require this key on /api routes (or set OCULA_API_KEY)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=64, show_default=False,
                                          help="Inference threads (default: cores / threads per model, at least 2 on 2+ cores)."),
    folder: List[Path] = typer.Option([], "--folder", help="Folder to index and search (repeat for more)."),
    db: Optional[str] = typer.Option(None, "--db", help="Index file or postgresql:// URL shared by replicas "
                                     "(default: OCULA_DB, else OCULA_HOME/index.db).", show_default=False),
    queue: Optional[int] = typer.Option(None, "--queue", min=0, show_default=False,
                                        help="Jobs that may wait before new requests get 429 (default: 8 per worker)."),
    max_request_mb: float = typer.Option(50, "--max-request-mb", min=0.001, help="Largest request body (413)."),
    max_megapixels: float = typer.Option(50, "--max-megapixels", min=0.001, help="Largest image (422)."),
    timeout: float = typer.Option(120, "--timeout", min=0.1, help="Seconds a synchronous request may take (504)."),
    cors_origin: List[str] = typer.Option([], "--cors-origin", help="Origin allowed by CORS (off by default)."),
    allow_url: List[str] = typer.Option([], "--allow-url", help="Accept image_url from this host (repeat; "
                                                                "'.example.com' for its subdomains)."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    header_timeout: float = typer.Option(10, "--header-timeout", min=0.1,
                                         help="Seconds a request's head may take to arrive (408)."),
    body_timeout: float = typer.Option(20, "--body-timeout", min=0.1,
                                       help="Seconds a request body may take, plus 1 s per --min-upload-kbps KiB (408)."),
    min_upload_kbps: float = typer.Option(16, "--min-upload-kbps", min=0.001,
                                          help="KiB per second an upload must keep up past --body-timeout."),
    max_header_kb: float = typer.Option(16, "--max-header-kb", min=1, help="Largest request head in KiB (431)."),
    max_connections_per_client: int = typer.Option(64, "--max-connections-per-client", min=0,
                                                   help="Connections one address may hold at once (429); "
                                                        "0: no cap (behind a reverse proxy)."),
) -> None:
    """Serve every capability over HTTP (OpenAPI at /docs) and the web page at /."""
    import logging

    try:
        import uvicorn

        from ..serve.app import create_app
        from ..serve.config import ServeConfig
    except ImportError as e:
        fail(f"the server needs the serve extra ({e.name} is missing): pip install 'ocula[serve]'")
    from pydantic import ValidationError

    try:
        config = ServeConfig(host=host, port=port, api_key=api_key, workers=workers, folders=folder, db=db,
                             queue_size=queue, max_request_bytes=int(max_request_mb * 2**20),
                             max_pixels=int(max_megapixels * 1e6), timeout=timeout, cors_origins=cors_origin,
                             allow_urls=bool(allow_url), url_allowlist=allow_url, header_timeout=header_timeout,
                             body_timeout=body_timeout, min_body_rate=max(1, int(min_upload_kbps * 1024)),
                             max_header_bytes=int(max_header_kb * 1024),
                             max_connections_per_client=max_connections_per_client)
    except ValidationError as e:
        first = e.errors()[0]
        fail(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        fail(f"unknown log level {log_level!r}; choose debug, info, warning or error")
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        err.print(f"warning: listening on {host} without --api-key: anyone who can reach it can use it")
    app = create_app(config)
    err.print(f"ocula: http://{host if ':' not in host else f'[{host}]'}:{port}/  (API docs at /docs; "
              f"{config.worker_count()} worker(s), queue {config.queue_capacity()})")
    from ..serve.connections import uvicorn_config

    # uvicorn's own access log is off: ocula.access writes one JSON line per request
    uvicorn.Server(uvicorn_config(app, host=host, port=port, limits=config.connection_limits(),
                                  log_level=log_level, access_log=False, timeout_graceful_shutdown=10)).run()
