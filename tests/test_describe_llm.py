"""The llm / vlm writers against a real OpenAI-compatible HTTP server started here
(http.server on 127.0.0.1, random port), with scripted answers: good JSON, malformed
JSON, contradictions, wrong language, timeouts, 500s, 429 + Retry-After, a server that
rejects response_format, and a closed port. Plus the pure checks in writing/validate.py."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from ocula.config import Settings
from ocula.image import load_image
from ocula.results import (Analysis, Color, ColorsResult, FacesResult, ImageInfo, Label, MetadataResult,
                           OCRResult)
from ocula.writing import validate
from ocula.writing.base import DescribeRequest, Draft, WriterError, WriterUnavailable
from ocula.writing.llm import LLMWriter, VLMWriter, facts_json, image_data_url

# pytest-socket blocks sockets suite-wide; these tests may reach 127.0.0.1 only.
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


# --- the server -------------------------------------------------------------------------

class FakeLLM:
    """Scripted chat-completions server. Each request takes the next step of the script
    (the last step repeats). A step: status, content (the assistant's text), delay,
    headers, reject_formats (response_format types answered with 400)."""

    def __init__(self):
        self.script: list[dict] = []
        self.requests: list[dict] = []
        self.times: list[float] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep pytest output clean
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                fake.times.append(time.monotonic())
                step = fake.script[min(len(fake.requests) - 1, len(fake.script) - 1)] if fake.script else {}
                rf = (body.get("response_format") or {}).get("type")
                if rf in step.get("reject_formats", ()):
                    return self._send(400, {"error": {"message": f"response_format {rf} is not supported"}})
                for param in step.get("reject_params", ()):
                    if param in body:
                        return self._send(400, {"error": {"message": f"Unsupported parameter: '{param}' is "
                                                                     f"not supported with this model."}})
                if step.get("delay"):
                    time.sleep(step["delay"])
                status = step.get("status", 200)
                if status != 200:
                    return self._send(status, {"error": {"message": step.get("message", "boom")}},
                                      step.get("headers", {}))
                content = step.get("content", "")
                if not isinstance(content, str):
                    content = json.dumps(content, ensure_ascii=False)
                self._send(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": step.get("finish", "stop"),
                                              "message": {"role": "assistant", "content": content}}]})

            def _send(self, status, obj, headers=None):
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def user_text(self, i: int = 0) -> str:
        content = self.requests[i]["body"]["messages"][1]["content"]
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content)
        return content


@pytest.fixture
def llm():
    server = FakeLLM()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def settings_for(server: FakeLLM, **kw) -> Settings:
    values = dict(llm_url=server.url, llm_model="test-llm", vlm_model="test-vlm", llm_timeout=2.0)
    values.update(kw)
    return Settings(**values)


def writer(server: FakeLLM, cls=LLMWriter, **kw) -> LLMWriter:
    return cls(settings_for(server, **kw), backoff=0.05)


# --- facts ------------------------------------------------------------------------------

def info(name="chelsea.jpg", w=451, h=300) -> ImageInfo:
    return ImageInfo(source=name, format="JPEG", width=w, height=h, mode="RGB")


def cat_facts(**kw) -> Analysis:
    """What analyze says about chelsea.jpg (a tabby cat): no faces, no text."""
    im = info()
    values = dict(
        image=im, classifier="efficientnet-lite0",
        labels=[Label(index=281, name="tabby cat", name_zh="虎斑猫", category="animal", score=0.55),
                Label(index=282, name="tiger cat", name_zh="虎猫", category="animal", score=0.22),
                Label(index=285, name="Egyptian cat", name_zh="埃及猫", category="animal", score=0.11)],
        faces=FacesResult(image=im, model="haar", faces=[]),
        text=OCRResult(image=im, engine="rapidocr", lines=[], text=""),
        colors=ColorsResult(image=im, colors=[
            Color(hex="#8a6d55", rgb=(138, 109, 85), fraction=0.45, name="brown", name_zh="棕色"),
            Color(hex="#7f7f7f", rgb=(127, 127, 127), fraction=0.3, name="grey", name_zh="灰色")],
            brightness=0.45, colorfulness=20.0),
    )
    values.update(kw)
    return Analysis(**values)


def text_facts(text="OPEN DAILY 9-5") -> Analysis:
    im = info("sign.jpg", 640, 480)
    return Analysis(image=im, classifier="efficientnet-lite0",
                    labels=[Label(index=919, name="street sign", category="object", score=0.7)],
                    faces=FacesResult(image=im, model="haar", faces=[]),
                    text=OCRResult(image=im, engine="rapidocr", text=text))


GOOD_ALT = {"text": "A tabby cat lies on a brown blanket, looking at the camera."}


# --- good answers and the request sent --------------------------------------------------

def test_good_answer_is_used_and_request_is_grounded(llm):
    llm.script = [{"content": GOOD_ALT}]
    w = LLMWriter(settings_for(llm, llm_api_key="sk-test"))
    draft = w.write(cat_facts(), DescribeRequest(purpose="alt"), None)
    assert draft.text == GOOD_ALT["text"]
    assert 0 < draft.confidence <= 1 and draft.warnings == []
    assert draft.tags == []  # describe() adds the builtin writer's ranked keywords
    req = llm.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "test-llm" and body["stream"] is False
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["required"] == ["text"]
    system, user = body["messages"][0]["content"], llm.user_text()
    assert "Alt text" in system and "125" in system and "English" in system
    facts = json.loads(user.split("Facts: ", 1)[1].split("\n", 1)[0])
    assert facts["labels"][0] == {"name": "tabby cat", "zh": "虎斑猫", "category": "animal", "score": 0.55}
    assert facts["faces"] == 0 and facts["text"] == "" and facts["colors"][0]["name"] == "brown"


def test_openai_api_key_only_goes_to_openai(llm, monkeypatch):
    # OPENAI_API_KEY must not leak to whatever server llm_url names
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    llm.script = [{"content": GOOD_ALT}]
    writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert "Authorization" not in llm.requests[0]["headers"]
    openai = LLMWriter(Settings(llm_url="https://api.openai.com/v1", llm_model="gpt-4o-mini"))
    assert openai.api_key == "sk-env"


def test_no_api_key_no_header(llm):
    llm.script = [{"content": GOOD_ALT}]
    writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert "Authorization" not in llm.requests[0]["headers"]


def test_product_social_tags_shapes(llm):
    llm.script = [{"content": {"title": "Tabby Cat Print", "text": "A tabby cat on a brown blanket.",
                               "bullets": ["Tabby cat", "Brown and grey tones", "Relaxed pose"]}}]
    d = writer(llm).write(cat_facts(), DescribeRequest(purpose="product", length="short"), None)
    assert d.title == "Tabby Cat Print" and len(d.bullets) == 3
    assert llm.requests[0]["body"]["response_format"]["json_schema"]["schema"]["required"] == ["title", "text", "bullets"]

    llm.requests.clear()
    llm.script = [{"content": {"text": "Lazy afternoon with this tabby.", "hashtags": ["cat", "#tabby", "cats of instagram"]}}]
    d = writer(llm).write(cat_facts(), DescribeRequest(purpose="social", tone="playful"), None)
    assert d.hashtags == ["#cat", "#tabby", "#catsofinstagram"]
    assert llm.requests[0]["body"]["temperature"] > 0.5  # playful

    llm.requests.clear()
    llm.script = [{"content": {"tags": ["猫", "虎斑猫", "宠物", "棕色"]}}]
    d = writer(llm).write(cat_facts(), DescribeRequest(purpose="tags", language="zh", length="short"), None)
    assert d.tags[0] == "猫" and d.text == "猫、虎斑猫、宠物、棕色"


def test_chinese_answer_accepted(llm):
    llm.script = [{"content": {"text": "一只虎斑猫趴在棕色的毯子上，看着镜头。"}}]
    d = writer(llm).write(cat_facts(), DescribeRequest(purpose="caption", language="zh"), None)
    assert "猫" in d.text
    assert "Simplified Chinese" in llm.requests[0]["body"]["messages"][0]["content"]


def test_markdown_fenced_json_and_image_of_opening_are_tidied(llm):
    llm.script = [{"content": "```json\n{\"text\": \"Image of a tabby cat lying on a blanket.\"}\n```"}]
    d = writer(llm).write(cat_facts(), DescribeRequest(purpose="alt"), None)
    assert d.text == "A tabby cat lying on a blanket."


# --- bad answers ------------------------------------------------------------------------

def test_malformed_json_retried_then_writer_error(llm):
    llm.script = [{"content": "{\"text\": \"A tabby cat"}]  # truncated JSON, every time
    w = writer(llm)
    with pytest.raises(WriterError) as e:
        w.write(cat_facts(), DescribeRequest(), None)
    assert not isinstance(e.value, WriterUnavailable)
    assert "not valid JSON" in str(e.value) and "3 attempts" in str(e.value)
    assert len(llm.requests) == 3
    # the model was shown its answer and told what was wrong
    follow = llm.requests[1]["body"]["messages"]
    assert follow[2]["role"] == "assistant" and "rejected" in follow[3]["content"]


def test_malformed_then_good_recovers(llm):
    llm.script = [{"content": "Sure! Here is your alt text"}, {"content": GOOD_ALT}]
    d = writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert d.text == GOOD_ALT["text"] and "needed 2 attempts" in d.warnings[0]


def test_contradiction_dog_for_a_cat_rejected(llm):
    llm.script = [{"content": {"text": "A golden dog sleeps on a brown blanket."}}]
    with pytest.raises(WriterError) as e:
        writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert '"dog"' in str(e.value) and "tabby cat" in str(e.value)
    assert len(llm.requests) == 3


def test_people_without_faces_rejected(llm):
    llm.script = [{"content": {"text": "A woman holds a tabby cat on a blanket."}}]
    with pytest.raises(WriterError, match="no face was found"):
        writer(llm, ).write(cat_facts(), DescribeRequest(), None)


def test_quote_not_in_ocr_rejected(llm):
    llm.script = [{"content": {"text": 'A street sign reading "CLOSED SUNDAYS".'}}]
    with pytest.raises(WriterError, match="not the text read"):
        writer(llm).write(text_facts(), DescribeRequest(), None)
    llm.requests.clear()
    llm.script = [{"content": {"text": 'A street sign reading "Open daily 9-5".'}}]
    d = writer(llm).write(text_facts(), DescribeRequest(), None)
    assert "Open daily" in d.text


def test_wrong_language_rejected(llm):
    llm.script = [{"content": {"text": "A tabby cat lies on a brown blanket."}}]
    with pytest.raises(WriterError, match="should be Chinese"):
        writer(llm).write(cat_facts(), DescribeRequest(language="zh", purpose="caption"), None)
    llm.requests.clear()
    llm.script = [{"content": {"text": "一只虎斑猫趴在毯子上。"}}]
    with pytest.raises(WriterError, match="should be English"):
        writer(llm).write(cat_facts(), DescribeRequest(language="en", purpose="caption"), None)


def test_alt_too_long_rejected(llm):
    llm.script = [{"content": {"text": "A tabby cat " + "with a very long description " * 5 + "on a blanket."}}]
    with pytest.raises(WriterError, match="at most 125 characters"):
        writer(llm).write(cat_facts(), DescribeRequest(purpose="alt"), None)


def test_news_invented_name_place_date_rejected_placeholders_kept(llm):
    facts = cat_facts()
    llm.script = [{"content": {"text": "A tabby cat rests at the Louvre in Paris on 3 May 2021."}}]
    with pytest.raises(WriterError, match="year 2021|names"):
        writer(llm).write(facts, DescribeRequest(purpose="news"), None)
    llm.requests.clear()
    llm.script = [{"content": {"text": "A tabby cat rests on a blanket at [WHERE]."}}]
    d = writer(llm).write(facts, DescribeRequest(purpose="news"), None)
    assert "[WHERE]" in d.text
    assert "[WHO]" in llm.requests[0]["body"]["messages"][0]["content"]
    # the context and EXIF may supply what the image cannot
    exif = MetadataResult(image=facts.image, datetime_original="2021-05-03T10:00:00", camera_make="Canon")
    llm.requests.clear()
    llm.script = [{"content": {"text": "Mimi the tabby cat rests at the Louvre in Paris on May 3, 2021."}}]
    d = writer(llm).write(facts.model_copy(update={"metadata": exif}),
                          DescribeRequest(purpose="news", context="Mimi, the Louvre's cat, Paris"), None)
    assert "Mimi" in d.text
    assert "Mimi, the Louvre's cat" in llm.user_text()


def person_facts(*names: str, faces: int = 1) -> Analysis:
    """A portrait: ``faces`` faces, the first recognised as people the user named."""
    from ocula.results import Face, NamedPerson

    im = info("portrait.jpg", 600, 800)
    found = [Face(box=(50 + 200 * k, 100, 150, 180), score=0.99) for k in range(faces)]
    return Analysis(image=im, classifier="efficientnet-lite0",
                    labels=[Label(index=652, name="military uniform", name_zh="军装", category="clothing", score=0.7)],
                    faces=FacesResult(image=im, model="mtcnn", faces=found),
                    people=[NamedPerson(name=n, person=k + 1, box=found[k].box, distance=0.3)
                            for k, n in enumerate(names)])


def test_named_people_reach_the_prompt_and_only_they_may_be_named(llm):
    facts = person_facts("Grace Hopper")
    llm.script = [{"content": {"text": "Grace Hopper in a military uniform."}}]
    d = writer(llm).write(facts, DescribeRequest(purpose="alt"), None)
    assert d.text == "Grace Hopper in a military uniform."
    sent = json.loads(llm.user_text().split("Facts: ", 1)[1].split("\n", 1)[0])
    assert sent["people"] == ["Grace Hopper"] and sent["faces"] == 1
    assert '"people"' in llm.requests[0]["body"]["messages"][0]["content"]
    # a name the facts do not give is rejected, in every purpose: asked again, then the error
    llm.requests.clear()
    llm.script = [{"content": {"text": "Grace Hopper stands beside Barack Obama."}}]
    with pytest.raises(WriterError, match='names "Barack Obama"'):
        writer(llm).write(person_facts("Grace Hopper", faces=2), DescribeRequest(purpose="caption"), None)
    assert "rejected" in llm.requests[1]["body"]["messages"][-1]["content"]
    # nobody named: a guessed name is rejected, a person is fine
    llm.script = [{"content": {"text": "Grace Hopper in a military uniform."}}]
    with pytest.raises(WriterError, match="names"):
        writer(llm).write(person_facts(), DescribeRequest(purpose="alt"), None)
    llm.script = [{"content": {"text": "A person in a military uniform."}}]
    assert writer(llm).write(person_facts(), DescribeRequest(purpose="alt"), None).text.startswith("A person")


def test_news_who_is_filled_only_by_named_people(llm):
    llm.script = [{"content": {"text": "Grace Hopper, in a military uniform, is seen at [WHERE]."}}]
    d = writer(llm).write(person_facts("Grace Hopper"), DescribeRequest(purpose="news"), None)
    assert "[WHO]" not in d.text
    assert "Name the people listed in" in llm.requests[0]["body"]["messages"][0]["content"]
    # a second, unnamed face keeps its placeholder
    llm.requests.clear()
    llm.script = [{"content": {"text": "Grace Hopper and a colleague are seen at [WHERE]."}}]
    with pytest.raises(WriterError, match=r"\[WHO\] placeholder"):
        writer(llm).write(person_facts("Grace Hopper", faces=2), DescribeRequest(purpose="news"), None)
    llm.script = [{"content": {"text": "Grace Hopper and [WHO] are seen at [WHERE]."}}]
    assert writer(llm).write(person_facts("Grace Hopper", faces=2), DescribeRequest(purpose="news"), None)
    # Chinese text may carry the name as recognised (Latin letters are not a script error)
    llm.script = [{"content": {"text": "图为身穿军装的Grace Hopper在[地点]。"}}]
    d = writer(llm).write(person_facts("Grace Hopper"), DescribeRequest(purpose="news", language="zh"), None)
    assert "Grace Hopper" in d.text


def test_refusal_rejected(llm):
    llm.script = [{"content": {"text": "I'm sorry, but I can't help with describing this image."}}]
    with pytest.raises(WriterError, match="refused"):
        writer(llm).write(cat_facts(), DescribeRequest(), None)


# --- transport failures -----------------------------------------------------------------

def test_timeout_bounded(llm):
    llm.script = [{"delay": 1.5, "content": GOOD_ALT}]
    w = writer(llm, llm_timeout=0.25)
    t0 = time.monotonic()
    with pytest.raises(WriterError, match="no answer within 0.25 s"):
        w.write(cat_facts(), DescribeRequest(), None)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.2  # two tries of 0.25 s, no third wait on a slow model
    assert len(llm.requests) == 2


def test_500_then_good_retries(llm):
    llm.script = [{"status": 500, "message": "CUDA out of memory"}, {"content": GOOD_ALT}]
    d = writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert d.text == GOOD_ALT["text"] and len(llm.requests) == 2
    assert "needed 2 attempts" in d.warnings[0]


def test_500_every_time_gives_writer_error(llm):
    llm.script = [{"status": 502, "message": "bad gateway"}]
    with pytest.raises(WriterError, match="server error 502"):
        writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert len(llm.requests) == 3
    gaps = [b - a for a, b in zip(llm.times, llm.times[1:])]
    # backoff 0.05 s doubling, equal jitter: waits of at least 0.025 s, then 0.05 s
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05, gaps


def test_429_retry_after_honoured(llm):
    llm.script = [{"status": 429, "message": "slow down", "headers": {"Retry-After": "1"}}, {"content": GOOD_ALT}]
    d = writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert d.text == GOOD_ALT["text"]
    assert llm.times[1] - llm.times[0] >= 0.95


def test_retry_after_too_long_gives_up(llm):
    llm.script = [{"status": 503, "message": "loading model", "headers": {"Retry-After": "3600"}}]
    t0 = time.monotonic()
    with pytest.raises(WriterError, match="asks to wait 3600 s"):
        writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert time.monotonic() - t0 < 1 and len(llm.requests) == 1


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_server_down_is_one_clear_error():
    port = closed_port()
    w = LLMWriter(Settings(llm_url=f"http://127.0.0.1:{port}/v1", llm_timeout=1.0))
    t0 = time.monotonic()
    with pytest.raises(WriterUnavailable) as e:
        w.write(cat_facts(), DescribeRequest(), None)
    assert str(e.value) == f"no LLM server at http://127.0.0.1:{port}/v1 (is it running? set --llm-url or OCULA_LLM_URL)"
    assert "\n" not in str(e.value) and time.monotonic() - t0 < 1


def test_server_down_default_url_names_ollama():
    s = socket.socket()
    try:
        if s.connect_ex(("127.0.0.1", 11434)) == 0:
            pytest.skip("something is listening on Ollama's port 11434 here")
    finally:
        s.close()
    with pytest.raises(WriterUnavailable) as e:
        LLMWriter(Settings()).write(cat_facts(), DescribeRequest(), None)
    assert str(e.value) == ("no LLM server at http://127.0.0.1:11434/v1 (is Ollama running? "
                            "set --llm-url or OCULA_LLM_URL)")


def test_unknown_model_is_unavailable(llm):
    llm.script = [{"status": 404, "message": 'model "test-llm" not found, try pulling it first'}]
    with pytest.raises(WriterUnavailable, match="ollama pull test-llm"):
        writer(llm).write(cat_facts(), DescribeRequest(), None)
    assert len(llm.requests) == 1


def test_response_format_fallbacks(llm):
    llm.script = [{"reject_formats": ["json_schema"], "content": GOOD_ALT}]
    w = writer(llm)
    assert w.write(cat_facts(), DescribeRequest(), None).text == GOOD_ALT["text"]
    kinds = [(r["body"].get("response_format") or {}).get("type") for r in llm.requests]
    assert kinds == ["json_schema", "json_object"]
    w.write(cat_facts(), DescribeRequest(), None)  # remembered: no second 400
    assert llm.requests[-1]["body"]["response_format"] == {"type": "json_object"}

    llm.requests.clear()
    llm.script = [{"reject_formats": ["json_schema", "json_object"], "content": "A tabby cat lies on a blanket."}]
    w = writer(llm)
    d = w.write(cat_facts(), DescribeRequest(purpose="alt"), None)
    assert d.text == "A tabby cat lies on a blanket."
    assert "response_format" not in llm.requests[-1]["body"]
    assert any("does not support JSON" in x for x in d.warnings)


def test_reasoning_model_parameters(llm):
    llm.script = [{"reject_params": ["max_tokens", "temperature"], "content": GOOD_ALT}]
    w = writer(llm)
    assert w.write(cat_facts(), DescribeRequest(), None).text == GOOD_ALT["text"]
    last = llm.requests[-1]["body"]
    assert "max_tokens" not in last and last["max_completion_tokens"] > 0 and "temperature" not in last
    assert last["response_format"]["type"] == "json_schema"  # not mistaken for a format problem


def test_offline_refuses_remote_server():
    w = LLMWriter(Settings(offline=True, llm_url="https://api.openai.com/v1"))
    with pytest.raises(WriterUnavailable, match="OCULA_OFFLINE"):
        w.write(cat_facts(), DescribeRequest(), None)


# --- vlm --------------------------------------------------------------------------------

def test_vlm_sends_image_as_jpeg_data_url(llm):
    big = Image.new("RGB", (2400, 1200), (200, 120, 40))
    loaded = load_image(big)
    llm.script = [{"content": GOOD_ALT}]
    w = writer(llm, cls=VLMWriter)
    d = w.write(cat_facts(), DescribeRequest(), loaded)
    assert d.text == GOOD_ALT["text"]
    body = llm.requests[0]["body"]
    assert body["model"] == "test-vlm"
    parts = body["messages"][1]["content"]
    assert parts[0]["type"] == "text" and "tabby cat" in parts[0]["text"]
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.format == "JPEG" and max(sent.size) == 1024 and sent.size[0] == 2 * sent.size[1]
    assert "You can see the photo" in body["messages"][0]["content"]


def test_vlm_without_image_is_an_error(llm):
    with pytest.raises(WriterError, match="needs the image"):
        writer(llm, cls=VLMWriter).write(cat_facts(), DescribeRequest(), None)


def test_image_data_url_keeps_small_images():
    loaded = load_image(SAMPLES / "chelsea.jpg")
    url = image_data_url(loaded)
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == loaded.size


# --- overhead ---------------------------------------------------------------------------

def test_overhead_is_measured_and_small(llm):
    llm.script = [{"content": GOOD_ALT}]
    w = writer(llm)
    for _ in range(5):
        w.write(cat_facts(), DescribeRequest(), None)
    assert w.stats["images"] == 5 and w.stats["requests"] == 5
    per_image = w.stats["overhead_s"] / 5
    assert 0 < per_image < 0.05, per_image  # prompt building + validation, excluding the server


# --- validate.py, pure ------------------------------------------------------------------

def d(text, **kw) -> Draft:
    return Draft(text=text, confidence=0.5, **kw)


def test_validate_animals():
    facts = cat_facts()
    assert validate.check_animals(d("A kitten on a blanket."), facts) == []
    assert validate.check_animals(d("一只虎斑猫。"), facts) == []
    assert validate.check_animals(d("A hot dog stand? No, a tabby cat."), facts) == []
    assert validate.check_animals(d("A dog and a cat."), facts)[0].startswith('mentions "dog"')
    assert validate.check_animals(d("一只狗在睡觉。"), facts)
    assert validate.check_animals(d("一只熊猫。"), facts)  # a panda is not a cat
    dog = Analysis(image=info(), classifier="efficientnet-lite0",
                   labels=[Label(index=207, name="golden retriever", category="animal", score=0.8)])
    assert validate.check_animals(d("A happy dog on the grass."), dog) == []  # breed label, ImageNet range
    cup = text_facts()
    assert validate.check_animals(d("A pet sits by the sign."), cup)
    assert validate.check_animals(d("A dog."), Analysis(image=info())) == []  # no classifier: nothing to check


def test_validate_people():
    facts = cat_facts()
    assert validate.check_people(d("A woman and her cat."), facts)
    assert validate.check_people(d("No people, just a cat."), facts) == []
    assert validate.check_people(d("一位女士抱着猫。"), facts)
    assert validate.check_people(d("画面中没有人，只有一只猫。"), facts) == []
    assert validate.check_people(d("The cat stretches her paws."), facts) == []
    one_face = cat_facts(faces=FacesResult(image=info(), model="haar", faces=[
        {"box": (1, 1, 20, 20), "score": 0.9}]))
    assert validate.check_people(d("A woman and her cat."), one_face) == []
    assert validate.check_people(d("A man."), cat_facts(faces=None)) == []  # faces not checked


def test_validate_quotes_and_script():
    facts = text_facts("Caf\u00e9 OPEN\nDaily 9-5")
    assert validate.check_quotes(d('A sign: "Café open daily 9-5".'), facts) == []
    assert validate.check_quotes(d('A sign: \u201cOPEN\u201d.'), facts) == []
    assert validate.check_quotes(d('A sign: "SALE 50%".'), facts)
    assert validate.check_quotes(d('A cat by a sign reading "Hello".'), cat_facts())[0].endswith("no text was read in the image")
    assert validate.check_script(d('一块写着"OPEN DAILY"的招牌。'), "zh") == []
    assert validate.check_script(d("A sign saying 营业中 in red."), "en") == []  # a few CJK letters are fine
    assert validate.check_script(d("A sign."), "zh")


def test_validate_news_dates():
    facts = cat_facts()
    req = DescribeRequest(purpose="news")
    assert validate.check_news_specifics(d("A cat on a blanket at [WHERE] on Monday."), facts, req)
    assert validate.check_news_specifics(d("2019年5月,一只猫在[WHERE]休息。"), facts, req)
    assert validate.check_news_specifics(d("A cat may rest at [WHERE] in March."), facts, req)[0].startswith("gives a month")
    exif = facts.model_copy(update={"metadata": MetadataResult(image=facts.image, datetime_original="2019-05-06T08:00:00")})
    assert validate.check_news_specifics(d("2019年5月6日，一只猫在[WHERE]休息。"), exif, req) == []
    assert validate.check_news_specifics(d("A cat rests at [WHERE] on Monday, May 6, 2019."), exif, req) == []
    assert validate.check_news_specifics(d("A cat rests on a blanket."), facts, req)[0].endswith("[WHERE] placeholder")


def test_facts_json_is_compact_and_complete():
    s = facts_json(cat_facts())
    assert "\n" not in s and " " not in s.replace("tabby cat", "").replace("tiger cat", "").replace("Egyptian cat", "")
    obj = json.loads(s)
    assert set(obj) == {"labels", "faces", "text", "colors", "size"}
    assert len(s) < 600


# --- through describe(): fallback to the builtin writer ---------------------------------

CHELSEA = SAMPLES / "chelsea.jpg"


def run_describe(server: FakeLLM, writer_name: str = "llm", **kw):
    from ocula.tasks.describe import describe

    settings = kw.pop("settings", None) or settings_for(server, llm_timeout=kw.pop("timeout", 2.0))
    return describe(CHELSEA, writer=writer_name, facts=kw.pop("facts", cat_facts()), settings=settings, **kw)


def test_describe_uses_good_llm_answer(llm):
    llm.script = [{"content": GOOD_ALT}]
    desc = run_describe(llm, purpose="alt")
    assert desc.writer == "llm" and desc.text == GOOD_ALT["text"] and desc.warnings == []
    assert desc.tags[0] == "cat"  # keywords from the builtin writer, main subject first


@pytest.mark.parametrize("content, reason", [
    ("this is not json at all {", "not valid JSON"),
    ({"text": "A golden dog sleeps on a brown blanket."}, '"dog"'),
    ({"text": "一只虎斑猫趴在毯子上。"}, "should be English"),
])
def test_describe_falls_back_to_builtin_with_warning(llm, content, reason):
    llm.script = [{"content": content}]
    desc = run_describe(llm, purpose="alt")
    assert desc.writer == "builtin"
    assert "cat" in desc.text.lower() and len(desc.text) <= 125
    assert desc.warnings[0].startswith("the llm writer failed") and reason in desc.warnings[0]
    assert len(llm.requests) == 3


def test_describe_timeout_falls_back_quickly(llm):
    llm.script = [{"delay": 1.5, "content": GOOD_ALT}]
    t0 = time.monotonic()
    desc = run_describe(llm, timeout=0.25)
    assert time.monotonic() - t0 < 1.5
    assert desc.writer == "builtin" and "no answer within 0.25 s" in desc.warnings[0]


def test_describe_server_down_single_image_is_one_clear_error():
    from ocula.tasks.describe import describe, describe_many

    port = closed_port()
    s = Settings(llm_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(WriterUnavailable) as e:
        describe(CHELSEA, writer="llm", facts=cat_facts(), settings=s)
    assert str(e.value).startswith(f"no LLM server at http://127.0.0.1:{port}/v1")
    # in a batch the builtin writer takes over, with the reason in each result
    out = describe_many([CHELSEA, SAMPLES / "coffee.jpg"], writer="llm", settings=s, steps=["colors"])
    descs = [x for _, x in out]
    assert len(descs) == 2 and all(x.writer == "builtin" for x in descs)
    assert all("no LLM server" in x.warnings[0] for x in descs)


def test_describe_vlm_sends_the_image(llm):
    llm.script = [{"content": GOOD_ALT}]
    desc = run_describe(llm, "vlm", purpose="alt")
    assert desc.writer == "vlm"
    parts = llm.requests[0]["body"]["messages"][1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert llm.requests[0]["body"]["model"] == "test-vlm"
