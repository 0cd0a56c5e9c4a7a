"""The MCP server over the toolbox: the official SDK's low-level server, stdio or streamable
HTTP. Tasks run in worker threads; a running tool reports progress (its own steps where it has
them, else a heartbeat each second) to clients that ask for it."""

from __future__ import annotations

import time
from typing import Any

from ..errors import OculaError
from ..version import __version__
from .tools import Progress, Toolbox

HEARTBEAT = 1.0  # seconds between progress notes of a tool without steps of its own


def result_payload(result: Any) -> tuple[str, dict[str, Any]]:
    """(short text as the CLI prints it, the typed result as JSON)."""
    from ..cli.render import render

    data = result.model_dump(mode="json")
    text = "\n".join(render(result))
    return text, data


def build_server(toolbox: Toolbox, workers: int = 2) -> Any:
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    limiter = anyio.CapacityLimiter(max(1, workers))

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, description=t.description, input_schema=t.schema,
                       annotations=types.ToolAnnotations(read_only_hint=t.read_only, destructive_hint=False,
                                                         open_world_hint=False))
            for t in toolbox.tools.values()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        done = anyio.Event()
        portal_reports: list[tuple[float, float | None, str | None]] = []

        def report(progress: float, total: float | None, message: str | None) -> None:
            portal_reports.append((progress, total, message))  # sent by the event loop below

        async def beat() -> None:
            t0 = time.monotonic()
            sent = 0
            while not done.is_set():
                with anyio.move_on_after(HEARTBEAT / 4):
                    await done.wait()
                while portal_reports:
                    p, total, message = portal_reports.pop(0)
                    await ctx.session.report_progress(p, total, message)
                    sent = time.monotonic()
                if not done.is_set() and time.monotonic() - max(sent, t0) >= HEARTBEAT:
                    elapsed = time.monotonic() - t0
                    await ctx.session.report_progress(round(elapsed, 1), None, f"{params.name}: {elapsed:.0f} s")
                    sent = time.monotonic()

        def work() -> tuple[Any, BaseException | None]:
            try:
                return toolbox.call(params.name, params.arguments, Progress(report)), None
            except Exception as e:  # noqa: BLE001 - a tool must answer, not drop the connection
                return None, e

        async with anyio.create_task_group() as tg:
            tg.start_soon(beat)
            try:
                result, error = await anyio.to_thread.run_sync(work, limiter=limiter)
            finally:
                done.set()
        if error is not None:
            line = str(error) if isinstance(error, OculaError) else f"{type(error).__name__}: {error}"
            return types.CallToolResult(content=[types.TextContent(text=f"error: {line}")], is_error=True)
        text, data = result_payload(result)
        return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data)

    return Server("ocula", version=__version__, instructions=(
        "ocula recognizes, describes, searches, enhances and generates images on this machine. Paths must be "
        f"inside: {', '.join(map(str, toolbox.folders.allow))}; images ocula writes go to "
        f"{toolbox.folders.output}."), on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(toolbox: Toolbox, workers: int = 2) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(toolbox, workers)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def http_app(toolbox: Toolbox, *, api_key: str | None, host: str = "127.0.0.1", workers: int = 2) -> Any:
    """The streamable-HTTP app at /mcp, behind ``ocula serve``'s API-key check when a key is set."""
    from ..serve.limits import ApiKey

    server = build_server(toolbox, workers)
    app = server.streamable_http_app(host=host, json_response=False)
    return ApiKey(app, api_key, prefix="/mcp")
