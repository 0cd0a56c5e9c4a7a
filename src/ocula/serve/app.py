"""Assembly: the FastAPI app with its routes, limits, error handlers, docs and web page."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..version import __version__
from .config import ServeConfig
from .jobs import JobManager
from .limits import AccessLog, ApiKey, BodyLimit
from .problems import MEDIA_TYPE, Problem, ProblemDetails, from_exception, hide_paths
from .run import ServerState

PREFIX = "/api/v1"
STATIC = Path(__file__).parent / "static"
log = logging.getLogger("ocula.serve")
# the page loads only its own files; inline scripts and other origins are refused
PAGE_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _problem_response(request: Request, problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(request.url.path), status_code=problem.status, headers=problem.headers,
                        media_type=MEDIA_TYPE)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return _problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return _problem_response(request, Problem(422, detail, title="Invalid option", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404 and not detail.strip() or detail == "Not Found":
            detail = f"no route {request.method} {request.url.path}; the API is listed at /docs"
        return _problem_response(request, Problem(exc.status_code, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return _problem_response(request, from_exception(exc))


def _install_pages(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_CSP,
                                                              "X-Content-Type-Options": "nosniff"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    try:  # Swagger UI's files, shipped in a package (FastAPI's default fetches them from a CDN)
        import fastapi_offline

        assets = Path(fastapi_offline.__file__).parent / "static"
        app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")
    except ImportError:
        assets = None

    @app.get("/docs", include_in_schema=False)
    async def docs():
        if assets is None:
            return HTMLResponse("<p>Swagger UI is not installed (pip install fastapi-offline); the spec is at "
                                "<a href='/openapi.json'>/openapi.json</a>.</p>")
        return get_swagger_ui_html(openapi_url="/openapi.json", title="ocula API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon.png")


def create_app(config: ServeConfig | None = None) -> FastAPI:
    """The ocula HTTP app. Worker threads start here and stop when the app shuts down."""
    config = config or ServeConfig()
    settings = config.library_settings()
    from ..index import location

    jobs = JobManager(config.worker_count(), config.queue_capacity(), keep=config.keep_jobs, prefix=PREFIX)
    state = ServerState(config=config, settings=settings, jobs=jobs,
                        db=location(config.db, settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        jobs.shutdown()

    app = FastAPI(title="ocula", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Offline-first AI on images: recognize, describe, search, enhance, generate and "
                              "verify. Images go in as multipart (field `image`) or base64 JSON; long work runs "
                              "as jobs (`?async=true`) with progress as Server-Sent Events.")
    app.state.ocula = state
    hide_paths({**{str(f): f.name for f in config.folders}, str(state.db): "index", str(settings.home): "OCULA_HOME"})
    _install_handlers(app)
    from .routes import jobs as job_routes, people, search, system, task_router

    # the task routes are made from the task table now, so a task registered before this call is served
    for router in (system.router, task_router(), search.router, people.router, job_routes.router):
        app.include_router(router, prefix=PREFIX)
    _install_pages(app)
    # the problem schema is referenced by every route's error responses
    app.openapi_schema = None
    _openapi = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = _openapi()
            schema.setdefault("components", {}).setdefault("schemas", {})["ProblemDetails"] = \
                ProblemDetails.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(ApiKey, key=config.api_key)
    app.add_middleware(BodyLimit, limit=config.max_request_bytes)
    if config.cors_origins:  # outside the key and size checks: their 401 and 413 carry CORS headers too
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])
    if config.access_log:
        app.add_middleware(AccessLog)
    return app
