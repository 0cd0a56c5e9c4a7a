"""LLM and VLM writers: any OpenAI-compatible chat completions server (Ollama, vLLM,
llama.cpp server, OpenAI) writes the text, grounded in the facts and checked after.

Flow per image: facts -> compact JSON -> purpose-specific system prompt -> POST
/chat/completions asking for JSON (json_schema, else json_object, else plain text,
whichever the server accepts) -> parse -> validate.check_draft. A bad answer is sent
back once with the problems named; transport failures are retried with exponential
backoff and jitter (Retry-After honoured on 429/503). What still fails raises
WriterError (describe() then uses the builtin writer); a server that cannot be used at
all (connection refused, unknown model, refused key) raises WriterUnavailable.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import os
import random
import re
import threading
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import Settings, get_settings
from ..results import Analysis
from ..places import label, time_label
from ..vocabulary import ALT_MAX, ALT_MAX_ZH, BULLET_COUNTS, HASHTAG_COUNTS, PLACEHOLDERS, SENTENCES, TAG_COUNTS
from . import validate
from .base import DescribeRequest, Draft, WriterError, WriterUnavailable

if TYPE_CHECKING:
    import httpx

    from ..image import LoadedImage

DEFAULT_PORT_HINT = 11434  # Ollama
VLM_MAX_SIDE = 1024
MAX_RETRY_AFTER = 30.0  # seconds; a server asking for longer is treated as down for now

# --- facts ------------------------------------------------------------------------------


def facts_json(facts: Analysis, *, max_labels: int = 5, max_text: int = 600) -> str:
    """The facts a writer may use, as compact JSON. Absent keys mean "not checked"."""
    out: dict[str, Any] = {}
    labels = [lab for lab in facts.labels if lab.score >= 0.02][:max_labels]
    if labels:
        out["labels"] = [{"name": lab.name, **({"zh": lab.name_zh} if lab.name_zh else {}),
                          "category": lab.category, "score": round(lab.score, 2)} for lab in labels]
    elif facts.labels is not None and facts.classifier:
        out["labels"] = []
    if facts.faces is not None:
        out["faces"] = facts.faces.count
    if facts.people is not None:  # recognised people the user named (left to right); others stay unnamed
        out["people"] = [p.name for p in sorted(facts.people, key=lambda p: p.box[0])]
    if facts.text is not None:
        text = facts.text.text.strip()
        out["text"] = text[:max_text] + ("…" if len(text) > max_text else "")
        if text:
            out["text_language"] = facts.text.language
    if facts.colors is not None:
        out["colors"] = [{"name": c.name, "zh": c.name_zh, "share": round(c.fraction, 2)}
                         for c in facts.colors.colors[:4]]
        if facts.colors.is_grayscale:
            out["grayscale"] = True
    md = facts.metadata
    if md is not None:
        exif = {}
        when = md.time
        if when is not None:  # checked: a factory-default time gives no date at all
            if when.known and when.local:
                exif["date"] = when.local + (when.offset or "")
                out["time"] = {k: v for k, v in (("label", time_label(when)), ("label_zh", time_label(when, "zh")),
                                                 ("time_of_day", when.time_of_day), ("season", when.season))
                               if v}
        elif md.datetime_original:
            exif["date"] = md.datetime_original
        cam = " ".join(x for x in (md.camera_make, md.camera_model) if x)
        if cam:
            exif["camera"] = cam
        if exif:
            out["exif"] = exif
        if md.place is not None:  # named offline from the GPS: the same words the builtin writer uses
            out["place"] = {"en": label(md.place), "zh": label(md.place, "zh")}
    if facts.objects is not None:
        out["objects"] = facts.objects.counts  # detected, with counts: {"person": 3, "dog": 2}
    if facts.quality is not None and facts.quality.issues:
        out["quality_issues"] = facts.quality.issues
    out["size"] = [facts.image.width, facts.image.height]
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


# --- prompts ----------------------------------------------------------------------------

_TONES = {
    "neutral": "neutral and factual",
    "friendly": "warm and friendly",
    "formal": "formal and precise",
    "playful": "playful and light (still truthful)",
}

_PURPOSES = {
    "alt": ("Alt text for screen readers: one objective sentence of at most {alt} characters{alt_zh}. "
            "Say what the main subject is and what it does; quote short visible text if it matters. "
            "Do not start with \"image of\", \"picture of\" or \"photo of\". No opinions, no hashtags."),
    "caption": ("A caption for the photo, {sentences}. When \"place\" is given you may say where it was taken, "
                "with exactly that name."),
    "product": ("Product copy for an online shop: a short title (at most 60 characters) and exactly {bullets} "
                "bullet points about what is visible: the kind of product, its colours, text printed on it, "
                "and what the context says. \"text\" is a one or two sentence description. Do not invent "
                "prices, sizes, materials, brands or features."),
    "social": ("A social media post, {sentences}, plus {hashtags} hashtags in \"hashtags\" (one word each, "
               "no spaces). When \"place\" is given you may say where it was taken, with exactly that name."),
    "news": ("A news photo caption, {sentences}: what is shown, where and when. Never invent names, places, "
             "dates or events. Name the people listed in \"people\"; write the literal placeholder {who} for "
             "every other person unless the context names them; "
             "the place is the context's, else \"place\" (exactly that name), else the literal placeholder "
             "{where}; give a date only if the EXIF date or the context gives it. Keep the placeholders exactly "
             "as {who} and {where}."),
    "travel": ("A short introduction of the photo for a travel post, {sentences}: the place (the context's, "
               "else \"place\" with exactly that name, else the literal placeholder {where}), the time of day "
               "and season when \"time\" gives them, and what is pictured; plus {hashtags} hashtags in "
               "\"hashtags\" naming the place. Never name a landmark or place the facts or the context do not "
               "give."),
    "tags": ("Keywords for a photo library: {tags} keywords, most important first (the main subject first), "
             "single words or short noun phrases, no \"#\"."),
}

_SCHEMAS: dict[str, dict[str, Any]] = {
    "alt": {"text": {"type": "string"}},
    "caption": {"text": {"type": "string"}},
    "news": {"text": {"type": "string"}},
    "product": {"title": {"type": "string"}, "text": {"type": "string"},
                "bullets": {"type": "array", "items": {"type": "string"}}},
    "social": {"text": {"type": "string"}, "hashtags": {"type": "array", "items": {"type": "string"}}},
    "travel": {"text": {"type": "string"}, "hashtags": {"type": "array", "items": {"type": "string"}}},
    "tags": {"tags": {"type": "array", "items": {"type": "string"}}},
}

_SHAPES = {
    "alt": '{"text": "..."}',
    "caption": '{"text": "..."}',
    "news": '{"text": "..."}',
    "product": '{"title": "...", "text": "...", "bullets": ["...", "..."]}',
    "social": '{"text": "...", "hashtags": ["#...", "#..."]}',
    "travel": '{"text": "...", "hashtags": ["#...", "#..."]}',
    "tags": '{"tags": ["...", "..."]}',
}


def json_schema(purpose: str) -> dict[str, Any]:
    """The JSON schema of an answer (strict-mode compatible: every key required, no extras)."""
    props = _SCHEMAS[purpose]
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def system_prompt(request: DescribeRequest, *, vision: bool) -> str:
    n = SENTENCES[request.length]
    sentences = "one sentence" if n == 1 else f"{n} sentences at most"
    task = _PURPOSES[request.purpose].format(
        alt=ALT_MAX, alt_zh=f" (in Chinese about {ALT_MAX_ZH} characters)" if request.language == "zh" else "",
        sentences=sentences, bullets=BULLET_COUNTS[request.length],
        tags=TAG_COUNTS[request.length],
        hashtags=f"{min(HASHTAG_COUNTS.values())} to {max(HASHTAG_COUNTS.values())}", **PLACEHOLDERS[request.language])
    if vision:
        seeing = ("You can see the photo. The facts below come from detectors: use them, and never contradict "
                  "them (no animal or object the labels do not support, no people when faces is 0, no quoted "
                  "text other than the text read).")
    else:
        seeing = ("You cannot see the photo: you only get facts that detectors found in it. Write only what "
                  "the facts support: name an animal or object only when a label supports it, mention people "
                  "only when faces is more than 0, quote visible text only exactly as in \"text\".")
    hedge = ("When the best label's score is below 0.5, hedge (\"what appears to be ...\"). Never mention "
             "scores, detectors, labels, EXIF or \"the facts\". Never invent names, places, dates or brands. "
             "\"people\" lists, left to right, the people in the photo whom the user named: call them exactly "
             "so; never guess who anyone else is (they are \"a person\").")
    if request.language == "zh":
        lang = ("Write in Simplified Chinese (简体中文), as a native writer would, not a word-by-word "
                "translation; use the \"zh\" names of labels, colours and the place when given.")
    else:
        lang = "Write in English."
    tone = "" if request.purpose in ("alt", "tags") else f" Tone: {_TONES[request.tone]}."
    return (f"You write text about a photo. {seeing} {hedge}\n"
            f"Task: {task}{tone}\n{lang}\n"
            f"Answer with one JSON object only, no markdown, of this shape: {_SHAPES[request.purpose]}")


def user_prompt(facts_text: str, request: DescribeRequest) -> str:
    parts = [f"Facts: {facts_text}"]
    if request.context:
        parts.append(f"Context from the user (may name people, places, dates): {request.context.strip()}")
    parts.append(f"Write the {request.purpose} text now ({request.length}, {request.language}).")
    return "\n".join(parts)


def image_data_url(image: "LoadedImage", max_side: int = VLM_MAX_SIDE) -> str:
    """The image as a JPEG data URL, longer side at most ``max_side``."""
    pil = image.resized(max_side) if max(image.size) > max_side else image.image
    buf = io.BytesIO()
    pil.convert("RGB").save(buf, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --- transport --------------------------------------------------------------------------

_FORMATS = ("json_schema", "json_object", "text")


def _endpoint(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if urlsplit(url).path in ("", "/"):
        url += "/v1"  # Ollama, vLLM and llama.cpp all serve the API under /v1
    return url + "/chat/completions"


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".local"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _server_message(resp: "httpx.Response") -> str:
    try:
        body = resp.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message", err) if isinstance(err, dict) else err
        msg = str(msg)
    except ValueError:
        msg = resp.text
    return re.sub(r"\s+", " ", msg).strip()[:200]


class _Retry(Exception):
    """One attempt failed in a way worth another try."""

    def __init__(self, reason: str, wait: float | None = None, backoff: bool = True, timeout: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.backoff = backoff
        self.timeout = timeout


class ChatWriter:
    """Shared machinery of the llm and vlm writers."""

    name = "llm"
    vision = False

    def __init__(self, settings: Settings | None = None, *, model: str | None = None, url: str | None = None,
                 max_attempts: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 timeout: float | None = None):
        self.settings = settings or get_settings()
        self.url = url or self.settings.llm_url
        self.endpoint = _endpoint(self.url)
        self.model = model or self._default_model()
        self.timeout = float(timeout or self.settings.llm_timeout)
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        # OPENAI_API_KEY goes only to OpenAI itself, never to whatever server llm_url names
        openai_host = urlsplit(self.url).hostname == "api.openai.com"
        self.api_key = self.settings.llm_api_key or (os.environ.get("OPENAI_API_KEY") if openai_host else None) or None
        self._format = 0  # index into _FORMATS: the richest the server accepted so far
        self._tokens_key = "max_tokens"  # newer OpenAI models want max_completion_tokens
        self._temperature = True  # reasoning models refuse a temperature
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self.stats = {"images": 0, "requests": 0, "overhead_s": 0.0, "server_s": 0.0}

    def _default_model(self) -> str:
        return self.settings.llm_model

    # -- public ---------------------------------------------------------------------

    def write(self, facts: Analysis, request: DescribeRequest, image: "LoadedImage | None" = None) -> Draft:
        t0 = time.perf_counter()
        server = 0.0  # time in requests and backoff waits: not the writer's own overhead
        if self.vision and image is None:
            raise WriterError(f"the {self.name} writer needs the image itself, not only its facts")
        self._check_offline()
        ftext = facts_json(facts)
        content: Any = user_prompt(ftext, request)
        if self.vision:
            content = [{"type": "text", "text": content},
                       {"type": "image_url", "image_url": {"url": image_data_url(image)}}]
        messages = [{"role": "system", "content": system_prompt(request, vision=self.vision)},
                    {"role": "user", "content": content}]
        confidence = self._confidence(facts)
        last = ""
        timeouts = 0
        attempt = 0
        try:
            while attempt < self.max_attempts:
                attempt += 1
                try:
                    s0 = time.perf_counter()
                    try:
                        answer = self._post(messages, request)
                    finally:
                        server += time.perf_counter() - s0
                    draft = self._to_draft(answer, facts, request, confidence)
                    draft.warnings.extend(self._warnings(attempt))
                    return draft
                except _Retry as r:
                    last = r.reason
                    if r.timeout:
                        timeouts += 1
                        if timeouts >= 2:  # a slow model stays slow: do not wait a third time
                            break
                    if attempt >= self.max_attempts:
                        break
                    wait = r.wait if r.wait is not None else (self._backoff(attempt) if r.backoff else 0.0)
                    if wait > MAX_RETRY_AFTER:
                        last = f"{r.reason}; the server asks to wait {wait:.0f} s"
                        break
                    time.sleep(wait)
                    server += wait
                except _Rejected as rej:
                    last = rej.reason
                    if rej.answer is not None and attempt < self.max_attempts:
                        # show the model its answer and what was wrong with it
                        messages = messages[:2] + [
                            {"role": "assistant", "content": rej.answer},
                            {"role": "user", "content": f"That answer was rejected: {rej.reason}. "
                                                        f"Write it again following every rule; JSON only."}]
            tries = f"{attempt} attempt{'s' if attempt != 1 else ''}"
            raise WriterError(f"{self.name} writer ({self.model} at {self.url}) gave no usable answer "
                              f"after {tries}: {last}")
        finally:
            with self._lock:
                self.stats["images"] += 1
                self.stats["server_s"] += server
                self.stats["overhead_s"] += time.perf_counter() - t0 - server

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- steps ----------------------------------------------------------------------

    def _check_offline(self) -> None:
        if self.settings.offline and not _is_local(self.url):
            raise WriterUnavailable(f"OCULA_OFFLINE=1 forbids the remote LLM server at {self.url}; "
                                    f"use a local server (--llm-url http://127.0.0.1:11434/v1) or unset OCULA_OFFLINE")

    def _confidence(self, facts: Analysis) -> float:
        # How well grounded the text can be: the classifier's best score, lifted for a
        # vision model that also sees the picture. A heuristic, not a probability.
        top = max((lab.score for lab in facts.labels), default=0.5)
        return round(min(0.95, (0.6 + 0.35 * top) if self.vision else (0.5 + 0.4 * top)), 3)

    def _warnings(self, attempt: int) -> list[str]:
        out = []
        if attempt > 1:
            out.append(f"{self.name} writer needed {attempt} attempts")
        if self._format == 2:
            out.append(f"the server at {self.url} does not support JSON output; the answer was parsed from text")
        return out

    def _backoff(self, attempt: int) -> float:
        cap = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return cap / 2 + random.uniform(0, cap / 2)  # equal jitter: never zero, never in lockstep

    def _client_for(self) -> "httpx.Client":
        if self._client is None:
            import httpx

            with self._lock:
                if self._client is None:
                    headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                    # a local server is never reached through a proxy from the environment
                    self._client = httpx.Client(headers=headers, trust_env=not _is_local(self.url))
        return self._client

    def body(self, messages: list[dict], request: DescribeRequest, fmt: str) -> dict[str, Any]:
        max_tokens = {"short": 300, "medium": 600, "long": 1200}[request.length]
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": False,
                                self._tokens_key: max_tokens}
        if self._temperature:
            body["temperature"] = 0.7 if request.tone == "playful" and request.purpose != "alt" else 0.2
        if fmt == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": f"ocula_{request.purpose}", "strict": True, "schema": json_schema(request.purpose)}}
        elif fmt == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def _post(self, messages: list[dict], request: DescribeRequest) -> str:
        """One completion, stepping down the JSON modes the server rejects. Returns the
        answer's text; raises _Retry, WriterError or WriterUnavailable."""
        import httpx

        client = self._client_for()
        timeout = httpx.Timeout(self.timeout, connect=min(5.0, self.timeout))
        while True:
            fmt = _FORMATS[self._format]
            with self._lock:
                self.stats["requests"] += 1
            try:
                resp = client.post(self.endpoint, json=self.body(messages, request, fmt), timeout=timeout)
            except httpx.ConnectError:
                hint = "is Ollama running? " if urlsplit(self.url).port == DEFAULT_PORT_HINT else "is it running? "
                raise WriterUnavailable(f"no LLM server at {self.url} ({hint}set --llm-url or OCULA_LLM_URL)") \
                    from None
            except httpx.TimeoutException:
                raise _Retry(f"no answer within {self.timeout:g} s (raise OCULA_LLM_TIMEOUT)",
                             backoff=False, timeout=True) from None
            except httpx.HTTPError as e:  # connection reset, broken protocol
                raise _Retry(f"the connection failed ({type(e).__name__}: {e})") from None
            status = resp.status_code
            if status in (400, 422):
                msg = _server_message(resp).lower()
                if "max_tokens" in msg and self._tokens_key == "max_tokens":
                    self._tokens_key = "max_completion_tokens"
                    continue
                if "temperature" in msg and self._temperature:
                    self._temperature = False
                    continue
                if self._format < len(_FORMATS) - 1:
                    self._format += 1  # this server does not take that response_format: ask more simply
                    continue
            break
        if status == 200:
            return self._content(resp)
        msg = _server_message(resp)
        if status in (429, 503):
            raise _Retry(f"the server is busy ({status}{': ' + msg if msg else ''})",
                         wait=_retry_after(resp.headers.get("Retry-After")))
        if status >= 500:
            raise _Retry(f"server error {status}{': ' + msg if msg else ''}")
        if status in (401, 403):
            raise WriterUnavailable(f"the LLM server at {self.url} refused the API key ({status}: {msg}); "
                                    f"set OCULA_LLM_API_KEY")
        if status == 404:
            if "model" in msg.lower():
                raise WriterUnavailable(f"model {self.model!r} is not available at {self.url} ({msg}); "
                                        f"pull it (ollama pull {self.model}) or set --llm-model / OCULA_LLM_MODEL")
            raise WriterUnavailable(f"{self.endpoint} answered 404: is --llm-url right? (it usually ends in /v1)")
        raise WriterError(f"the LLM server at {self.url} refused the request ({status}: {msg})")

    def _content(self, resp: "httpx.Response") -> str:
        try:
            data = resp.json()
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise _Retry("the server's reply is not a chat completion") from None
        if message.get("refusal"):
            raise _Retry(f"the model refused: {str(message['refusal'])[:100]}", backoff=False)
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not content:
            raise _Retry("the answer is empty", backoff=False)
        if choice.get("finish_reason") == "length":
            raise _Rejected("the answer was cut off at the token limit", content)
        return content

    def _to_draft(self, answer: str, facts: Analysis, request: DescribeRequest, confidence: float) -> Draft:
        try:
            obj = validate.parse_json_object(answer)
        except ValueError as e:
            if self._format == 2 and request.purpose in ("alt", "caption", "news"):
                obj = {"text": answer.strip().strip('"')}  # a plain-text server answered in plain text
            else:
                raise _Rejected(str(e), answer) from None
        try:
            draft = validate.draft_from_json(obj, request, confidence)
        except ValueError as e:
            raise _Rejected(str(e), answer) from None
        problems = validate.check_draft(draft, facts, request)
        if problems:
            raise _Rejected(validate.first_problem(problems), answer)
        return draft


class _Rejected(Exception):
    """The server answered, but the answer is unusable; ``answer`` is shown back to the model."""

    def __init__(self, reason: str, answer: str | None):
        super().__init__(reason)
        self.reason = reason
        self.answer = answer


class LLMWriter(ChatWriter):
    """Text-only chat model; sees the facts, not the picture."""

    name = "llm"
    vision = False


class VLMWriter(ChatWriter):
    """Vision chat model (llava, qwen2.5-vl, gpt-4o ...): sees the facts and the picture."""

    name = "vlm"
    vision = True

    def _default_model(self) -> str:
        return self.settings.vlm_model
