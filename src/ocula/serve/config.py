"""What the operator of `ocula serve` decides: limits, workers, folders, access."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from ..config import Settings, get_settings

MiB = 1024 * 1024


def default_workers(settings: Settings) -> int:
    # About cores / threads per model, but at least two where there are two cores: a call is not
    # parallel all through (decoding, colours, quality and Python run on one core), and a second
    # worker fills the idle core. On 2 cores with 2 threads per model, analyze served 6.3 req/s
    # with one worker against 8.8 in-process from 4 threads; two workers served 8.9-9.1 with the
    # same one-request latency (bench/serve.py).
    cores = os.cpu_count() or 1
    return max(min(2, cores), cores // max(1, settings.threads))


class ServeConfig(BaseModel):
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=0, le=65535)
    api_key: str | None = Field(None, description="when set, every /api call needs it (Bearer or X-API-Key)")
    workers: int | None = Field(None, ge=1, le=64,
                                description="inference threads (default: cores / threads per model, at least 2)")
    queue_size: int | None = Field(None, ge=0, description="jobs that may wait for a worker before 429 (default: 8 per worker)")
    max_request_bytes: int = Field(50 * MiB, gt=0, description="largest request body (413 above)")
    # 50 MP: a 48-50 MP phone photo passes; what any image under it costs is bounded by the loader
    # (reduced decoding, README "Limits"), so a small file cannot make a request expensive
    max_pixels: int = Field(50_000_000, gt=0, description="largest image width*height (422 above)")
    timeout: float = Field(120.0, gt=0, description="seconds a synchronous request may take, waiting included (504)")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS (none by default)")
    folders: list[Path] = Field(default_factory=list, description="folders POST /index indexes and thumbnails come from")
    db: Path | str | None = Field(None, description="index database: a file or a postgresql:// URL that replicas "
                                  "share (default: OCULA_DB, else the library's, under OCULA_HOME)")
    allow_urls: bool = Field(False, description="accept image_url inputs (fetched from allowlisted public hosts only)")
    url_allowlist: list[str] = Field(default_factory=list, description="host names image_url may fetch from")
    keep_jobs: int = Field(200, ge=1, description="finished jobs kept for GET /jobs/{id} (oldest dropped first)")
    access_log: bool = Field(True, description="one JSON line per request on the 'ocula.access' logger")
    # connection limits (serve/connections.py): slow or greedy clients cannot hold the server
    header_timeout: float = Field(10.0, gt=0, description="seconds a request head (line and headers) may take to arrive (408)")
    body_timeout: float = Field(20.0, gt=0, description="seconds a request body may take, plus 1 s per min_body_rate bytes received (408)")
    min_body_rate: int = Field(16 * 1024, gt=0, description="bytes per second an upload must keep up, past body_timeout")
    max_header_bytes: int = Field(16 * 1024, ge=1024, description="largest request head (431)")
    max_connections_per_client: int = Field(64, ge=0, description="connections one address may hold at once (429; "
                                                                   "0: no cap, e.g. behind a reverse proxy)")
    settings: Settings | None = Field(None, description="ocula settings (default: config file + OCULA_* env)")

    @field_validator("folders")
    @classmethod
    def _folders(cls, v: list[Path]) -> list[Path]:
        out = []
        for p in v:
            p = Path(p).expanduser().resolve()
            if not p.is_dir():
                raise ValueError(f"folder {p} does not exist or is not a folder")
            out.append(p)
        return out

    def library_settings(self) -> Settings:
        """The library settings the server's tasks run with: the server's pixel/byte limits apply."""
        base = self.settings or get_settings()
        return base.model_copy(update={"max_pixels": min(base.max_pixels, self.max_pixels),
                                       "max_bytes": min(base.max_bytes, self.max_request_bytes)})

    def connection_limits(self):
        from .connections import ConnectionLimits

        return ConnectionLimits(header_timeout=self.header_timeout, body_timeout=self.body_timeout,
                                min_body_rate=self.min_body_rate, max_header_bytes=self.max_header_bytes,
                                max_connections_per_client=self.max_connections_per_client)

    def worker_count(self) -> int:
        return self.workers or default_workers(self.library_settings())

    def queue_capacity(self) -> int:
        return self.queue_size if self.queue_size is not None else 8 * self.worker_count()
