"""`ocula mcp` driven by the official MCP SDK's own client over stdio: initialize, list the
tools, describe the cat, refuse paths outside --allow-dir and bad arguments, write outputs only
into the output folder, report progress; plus the HTTP transport's API key and tools that
follow the task table."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("mcp")
    photos = base / "photos"
    photos.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copy(ROOT / "samples" / name, photos / name)
    (base / "secret.jpg").write_bytes((ROOT / "samples" / "coffee.jpg").read_bytes())
    (photos / "link.jpg").symlink_to(base / "secret.jpg")
    return base


def server(folders: Path, home: Path) -> StdioServerParameters:
    env = {"PYTHONPATH": str(ROOT / "src"), "OCULA_HOME": str(home), "HF_HUB_OFFLINE": "1", "OCULA_THREADS": "2",
           "PATH": "/usr/bin:/bin"}
    return StdioServerParameters(command=sys.executable, cwd=str(folders),
                                 args=["-m", "ocula", "mcp", "--allow-dir", "photos", "--output-dir", "photos/out"],
                                 env=env)


def test_an_mcp_client_uses_ocula_over_stdio(folders, tmp_path):
    seen: dict = {}

    async def main() -> None:
        async with Client(server(folders, tmp_path)) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            seen["tools"] = names
            seen["describe"] = await client.call_tool("describe", {"image": "chelsea.jpg"})
            seen["analyze"] = await client.call_tool("analyze", {"image": str(folders / "photos" / "chelsea.jpg"),
                                                                 "steps": ["labels", "colors"]})
            seen["outside"] = await client.call_tool("describe", {"image": str(folders / "secret.jpg")})
            seen["dotdot"] = await client.call_tool("classify", {"image": "../secret.jpg"})
            seen["link"] = await client.call_tool("classify", {"image": "link.jpg"})
            seen["bad"] = await client.call_tool("classify", {"image": "chelsea.jpg", "top_k": 5000})
            seen["extra"] = await client.call_tool("classify", {"image": "chelsea.jpg", "path": "/etc"})
            seen["unknown"] = await client.call_tool("no_such_tool", {})
            seen["strip"] = await client.call_tool("strip", {"image": "coffee.jpg"})
            seen["strip_out"] = await client.call_tool("strip", {"image": "coffee.jpg", "output": "/tmp/x.jpg"})
            progress: list = []

            async def on_progress(done, total, message):
                progress.append((done, total, message))

            seen["index"] = await client.call_tool("index", {"folder": "."}, progress_callback=on_progress)
            seen["progress"] = progress
            seen["search"] = await client.call_tool("search", {"query": "cat"})

    anyio.run(main)
    tools = seen["tools"]
    assert {"describe", "analyze", "classify", "detect", "ask", "search", "index", "generate", "upscale"} <= set(tools)
    assert "face_embeddings" not in tools and "sign" not in tools
    d = seen["describe"]
    assert not d.is_error and "cat" in d.content[0].text.lower()
    assert d.structured_content["writer"] == "builtin" and "cat" in d.structured_content["text"].lower()
    a = seen["analyze"]
    assert not a.is_error and any("cat" in lab["name"] for lab in a.structured_content["labels"])
    for key in ("outside", "dotdot", "link"):
        r = seen[key]
        assert r.is_error and "outside the allowed folders" in r.content[0].text, (key, r.content[0].text)
    assert seen["bad"].is_error and "top_k" in seen["bad"].content[0].text
    assert seen["extra"].is_error and "path" in seen["extra"].content[0].text
    assert seen["unknown"].is_error and "no tool named" in seen["unknown"].content[0].text
    s = seen["strip"]
    assert not s.is_error and s.structured_content["output"] == str(folders / "photos" / "out" / "coffee.strip.jpg")
    assert (folders / "photos" / "out" / "coffee.strip.jpg").is_file()
    assert seen["strip_out"].is_error and "outside the output folder" in seen["strip_out"].content[0].text
    assert not Path("/tmp/x.jpg").exists() or Path("/tmp/x.jpg").stat().st_mtime < folders.stat().st_mtime
    i = seen["index"]
    assert not i.is_error and i.structured_content["analysed"] >= 2, i.content[0].text
    assert seen["progress"] and seen["progress"][-1][0] == seen["progress"][-1][1]
    hits = seen["search"].structured_content["hits"]
    assert hits and all(Path(h["path"]).resolve().is_relative_to(folders / "photos") for h in hits)


def test_tools_follow_the_task_table(tmp_path):
    from ocula.mcp.tools import Folders, Toolbox
    from ocula.tasks import registry

    task = registry.register(registry.Task("toy-words", "A toy.", "Classification", module="ocula.tasks.classify",
                                           function="classify", options=(registry.Option("top_k", int, 5, "k",
                                                                                         ge=1, le=9),)))
    try:
        box = Toolbox(Folders([tmp_path]))
        tool = box.tools["toy_words"]
        assert tool.schema["properties"]["top_k"] == {"type": "integer", "minimum": 1, "maximum": 9, "default": 5,
                                                      "description": "k"}
        assert tool.schema["required"] == ["image"] and task.summary == tool.description
    finally:
        registry.unregister("toy-words")


def test_http_transport_needs_the_api_key(tmp_path):
    from starlette.testclient import TestClient

    from ocula.mcp.server import http_app
    from ocula.mcp.tools import Folders, Toolbox

    app = http_app(Toolbox(Folders([tmp_path])), api_key="s3cret")
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream", "Host": "127.0.0.1:8765"}
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        r = client.post("/mcp", json=body, headers=headers)
        assert r.status_code == 401 and "API key" in r.json()["detail"]
        r = client.post("/mcp", json=body, headers={**headers, "Authorization": "Bearer s3cret"})
        assert r.status_code == 200, r.text
        assert "ocula" in r.text


def test_allowed_folders_are_checked(tmp_path):
    from ocula.errors import InvalidArgument
    from ocula.mcp.tools import Folders

    with pytest.raises(InvalidArgument, match="not a folder"):
        Folders([tmp_path / "nope"])
    with pytest.raises(InvalidArgument, match="outside the allowed folders"):
        Folders([tmp_path], output=tmp_path.parent)


def test_search_by_a_person_alone_and_one_error_for_nothing(tmp_path):
    """An assistant may search by person (or with_people, near, moment) without words, as the
    command line and the library may; a search given nothing is one line naming what to give."""
    pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
    from ocula.errors import InvalidArgument
    from ocula.mcp.tools import Folders, Toolbox
    from ocula.tasks.index import index
    from ocula.tasks.people_name import people_name

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("grace_hopper.jpg", "coffee.jpg"):
        shutil.copy(ROOT / "samples" / name, photos / name)
    db = str(tmp_path / "index.db")
    index([photos], db=db, steps=["faces"])
    people_name(photos / "grace_hopper.jpg", "Grace Hopper", db=db)
    box = Toolbox(Folders([photos]), db=db)
    assert box.tools["search"].schema["required"] == []

    found = box.call("search", {"person": "Grace Hopper"})
    assert [Path(h.path).name for h in found.hits] == ["grace_hopper.jpg"]
    assert [Path(h.path).name for h in box.call("search", {"query": None, "with_people": ["grace hopper"]}).hits] \
        == ["grace_hopper.jpg"]
    for nothing in ({}, {"query": None}, {"query": "  ", "top_k": 3}, {"with_people": []}):
        with pytest.raises(InvalidArgument) as e:
            box.call("search", nothing)
        assert str(e.value).startswith("search needs a query (words or a year) or one of person, with_people, "
                                       "near, moment"), (nothing, str(e.value))
