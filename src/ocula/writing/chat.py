"""Plain chat with the configured OpenAI-compatible server, for words that are not a written
description: answers to questions about a photo (``ask``) and prompts for an English-only
image generator (``generate --enhance-prompt``, Chinese prompts). The transport, retries, API
key and offline rule are the llm/vlm writers' (``writing.llm.ChatWriter``)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..results import Analysis
from ..vocabulary import has_han
from .base import DescribeRequest, WriterError
from .llm import _FORMATS, MAX_RETRY_AFTER, ChatWriter, _Rejected, _Retry, facts_json, image_data_url

if TYPE_CHECKING:
    from ..image import LoadedImage

PROMPT_WORDS = 75  # CLIP text encoders read 77 tokens: a longer prompt is cut off anyway


class TextChat(ChatWriter):
    """A chat model answering in plain text (no JSON schema)."""

    def __init__(self, settings: Settings | None = None, *, vision: bool = False, **options: Any):
        self.vision = vision
        super().__init__(settings, **options)
        self._format = len(_FORMATS) - 1  # plain text

    def _default_model(self) -> str:
        return self.settings.vlm_model if self.vision else self.settings.llm_model

    def complete(self, messages: list[dict]) -> str:
        """The model's answer, retried on busy or failing servers; WriterUnavailable when the
        server cannot be used at all, WriterError when it gave no answer."""
        self._check_offline()
        request = DescribeRequest(length="short")
        last = ""
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            try:
                return self._post(messages, request).strip()
            except _Rejected as rej:  # cut off at the token limit: what came is still an answer
                if rej.answer:
                    return rej.answer.strip()
                last = rej.reason
            except _Retry as r:
                last = r.reason
                wait = r.wait if r.wait is not None else (self._backoff(attempt) if r.backoff else 0.0)
                if attempt >= self.max_attempts or wait > MAX_RETRY_AFTER:
                    break
                time.sleep(wait)
        raise WriterError(f"{self.model} at {self.url} gave no answer after {attempt} attempt(s): {last}")


def answer_question(question: str, facts: Analysis, image: "LoadedImage | None", settings: Settings, *,
                    url: str | None = None, model: str | None = None) -> tuple[str, str]:
    """(answer, model) from a vision model that sees the picture and the facts."""
    chat = TextChat(settings, vision=True, url=url, model=model)
    language = "Chinese (简体中文)" if has_han(question) else "the language of the question"
    system = ("You answer questions about a photo. You can see it, and you get facts that detectors found in it: "
              "use them and never contradict them (counts of faces and objects, the text read, the date). "
              f"Answer in one or two short sentences, in {language}. If the photo does not show the answer, "
              "say so; never guess names, places or dates.")
    content: Any = f"Facts: {facts_json(facts)}\nQuestion: {question}"
    if image is not None:
        content = [{"type": "text", "text": content},
                   {"type": "image_url", "image_url": {"url": image_data_url(image)}}]
    try:
        answer = chat.complete([{"role": "system", "content": system}, {"role": "user", "content": content}])
    finally:
        chat.close()
    if not answer:
        raise WriterError(f"{chat.model} at {chat.url} answered with nothing")
    return answer, chat.model


def english_prompt(prompt: str, settings: Settings, *, expand: bool, url: str | None = None,
                   model: str | None = None) -> tuple[str, str]:
    """(prompt in English for a text-to-image model, model that wrote it): translated, and with
    ``expand`` turned from a short request into a detailed prompt."""
    chat = TextChat(settings, url=url, model=model)
    if expand:
        task = ("Turn the user's request into one detailed prompt for a text-to-image model: the subject, "
                "setting, lighting, composition and style, as comma-separated phrases. Keep everything the "
                "user asked for and add nothing that contradicts it.")
    else:
        task = "Translate the user's image prompt into English faithfully; add nothing."
    system = (f"{task} Write in English only, at most {PROMPT_WORDS} words, no quotes, no explanation: "
              "answer with the prompt alone.")
    try:
        answer = chat.complete([{"role": "system", "content": system}, {"role": "user", "content": prompt}])
    finally:
        chat.close()
    answer = re.sub(r"^(?:prompt|english)\s*:\s*", "", answer.strip().strip('"“”'), flags=re.I).strip()
    if not answer or has_han(answer):
        raise WriterError(f"{chat.model} did not answer with an English prompt (got {answer[:60]!r})")
    words = answer.split()
    if len(words) > 2 * PROMPT_WORDS:
        answer = " ".join(words[:2 * PROMPT_WORDS])
    return answer, chat.model
