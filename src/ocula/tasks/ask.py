"""ask: a question about an image, answered by a vision model grounded in the analysis facts.

``model="auto"`` tries, in order: the VLM on the configured OpenAI-compatible server (it sees
the picture and the facts), a hub VQA model (BLIP; English questions), then the facts alone,
which answer what they know (how many faces or objects, what text, when taken, which
camera). When none can, one line says exactly what to configure. The answer names who
answered (``model``, ``source``)."""

from __future__ import annotations

import re
from typing import Iterable

from ..config import Settings, get_settings
from ..errors import InvalidArgument, ModelUnavailable, OculaError
from ..image import ImageInput, LoadedImage, load_image
from ..results import Analysis, Answer, ImageInfo
from ..vocabulary import has_han

MAX_SIDE: int | None = None  # set by the analyze steps it runs
VISION_SIDE = 1024
MAX_QUESTION = 2000
MODES = ("auto", "vlm", "vqa", "facts")


def check_question(question: str | None) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgument("ask needs a question: ocula ask IMAGE 'how many people are there?'")
    q = " ".join(question.split())
    if len(q) > MAX_QUESTION:
        raise InvalidArgument(f"the question is {len(q)} characters; keep it under {MAX_QUESTION}")
    if not any(ch.isalnum() for ch in q):
        raise InvalidArgument(f"the question {q[:40]!r} has no words")
    return q


# --- answers from the facts -----------------------------------------------------------------

def _counted(q: str, facts: Analysis, zh: bool) -> str | None:
    from .detect import plural

    objects = facts.objects.counts if facts.objects is not None else {}
    people = re.search(r"\b(people|persons?|faces?|humans?|men|women|kids|children)\b", q) or \
        re.search(r"(几个人|多少人|多少个人|几张脸|多少张脸|有人吗|几位)", q)
    if people:
        if "person" in objects:
            n = objects["person"]
            return f"画面中有{n}个人。" if zh else f"{n} {plural('person', n)} {'is' if n == 1 else 'are'} in the picture."
        if facts.faces is not None:
            n = facts.faces.count
            return f"检测到{n}张脸。" if zh else f"{n} face{'' if n == 1 else 's'} {'was' if n == 1 else 'were'} found."
        return None
    for label, n in objects.items():
        names = {label, plural(label, 2)}
        zh_name = next((o.name_zh for o in facts.objects.objects if o.label == label and o.name_zh), None)
        if any(re.search(rf"\b{re.escape(x)}\b", q) for x in names) or (zh_name and zh_name in q):
            return f"画面中有{n}个{zh_name or label}。" if zh else f"{n} {plural(label, n)}."
    m = re.search(r"\bhow many (\w+(?: \w+)?)", q)
    if facts.objects is not None and m and not zh:  # a COCO class the detector looked for and did not see
        from ..backends.rtdetr import COCO_ZH

        for label in COCO_ZH:
            if m.group(1) in (plural(label, 2), label) or m.group(1).split()[0] in (plural(label, 2), label):
                return f"No {plural(label, 2)} were found."
    return None


def answer_from_facts(question: str, facts: Analysis) -> str | None:
    """What the facts alone can say to the question, in its language (None: they do not say)."""
    zh = has_han(question)
    q = question.lower()
    if re.search(r"\bhow many\b|多少|几个|几张|几只|几位|有人吗", q):
        counted = _counted(q, facts, zh)
        if counted:
            return counted
    if re.search(r"\b(text|say|says|written|writing|read|words?|sign)\b|文字|写着|写的|写了|什么字", q):
        if facts.text is not None:
            text = facts.text.text.strip()
            if not text:
                return "图中没有识别到文字。" if zh else "No text was found in the picture."
            return f"图中的文字：{text[:500]}" if zh else f"The text reads: {text[:500]}"
    if re.search(r"\b(when|date|time|year|taken)\b|什么时候|哪天|日期|时间|哪一年|拍摄于", q):
        md = facts.metadata
        if md is not None:
            when = (md.time.local if md.time is not None and md.time.known else None) or md.datetime_original
            if when:
                return f"拍摄时间：{when}（相机记录）。" if zh else f"It was taken {when} (as the camera recorded it)."
            return "照片的元数据中没有拍摄时间。" if zh else "The photo's metadata records no capture time."
    if re.search(r"\b(camera|lens|phone)\b|相机|镜头|手机", q):
        md = facts.metadata
        if md is not None:
            cam = " ".join(x for x in (md.camera_make, md.camera_model) if x)
            if cam:
                return f"相机：{cam}。" if zh else f"It was taken with a {cam}."
            return "元数据中没有相机信息。" if zh else "The metadata names no camera."
    if re.search(r"\bwhat (is|'s) (this|in (the|this) (picture|photo|image))\b|这是什么|图片里有什么|照片里有什么", q):
        if facts.objects is not None and facts.objects.summary:
            return ("画面中有" + facts.objects.summary_zh + "。") if zh else f"{facts.objects.summary}."
        if facts.labels:
            top = facts.labels[0]
            hedge = "" if top.score >= 0.5 else ("似乎是" if zh else "what appears to be ")
            return f"{hedge}{top.name_zh or top.name}。" if zh else f"It shows {hedge}{_article(top.name)}."
    return None


def _article(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


# --- who answers ------------------------------------------------------------------------------

def ask(image: ImageInput, *, question: str | None = None, model: str = "auto", steps: Iterable[str] | None = None,
        facts: Analysis | None = None, llm_url: str | None = None, llm_model: str | None = None,
        settings: Settings | None = None) -> Answer:
    """Answer ``question`` about the image. ``model``: auto, vlm, vqa (or a VQA catalogue name
    or folder) or facts. ``facts``: an Analysis already made (else analyze runs ``steps``)."""
    from ..writing.base import WriterError
    from .analyze import analyze, check_steps, decode_side

    settings = settings or get_settings()
    q = check_question(question)
    choice = (model or "auto").strip()
    mode = choice.lower() if choice.lower() in MODES else "vqa"
    vqa_name = choice if mode == "vqa" and choice.lower() != "vqa" else settings.vqa_model
    chosen = check_steps(steps)
    side = decode_side(chosen)
    loaded = image if isinstance(image, LoadedImage) else load_image(
        image, max_side=None if side is None else max(VISION_SIDE, side), settings=settings)
    if facts is None:
        facts = analyze(loaded, steps=chosen, settings=settings)
    why: list[str] = []

    def done(text: str, by: str, source: str, grounded: bool) -> Answer:
        return Answer(image=ImageInfo.of(loaded), question=q, answer=text, model=by, source=source,
                      grounded=grounded, facts=facts, warnings=list(facts.warnings) + why)

    if mode in ("auto", "vlm"):
        from ..writing.chat import answer_question

        try:
            text, by = answer_question(q, facts, loaded, settings, url=llm_url, model=llm_model)
            return done(text, by, "vlm", True)
        except (WriterError, OSError, RuntimeError) as e:  # RuntimeError: a sandbox that blocks sockets
            if mode == "vlm":
                raise
            why.append(f"vlm: {e}")
    if mode in ("auto", "vqa"):
        from ..backends import vqa

        if has_han(q):
            reason = f"{vqa_name} answers English questions only"
            if mode == "vqa":
                raise InvalidArgument(f"{reason}; ask in English, or use a vision model on a server (--model vlm)")
            why.append(f"vqa: {reason}")
        else:
            try:
                answerer = vqa.load(vqa_name, settings)
                return done(answerer.answer(loaded.resized(VISION_SIDE), q), answerer.name, "vqa", False)
            except ModelUnavailable as e:
                if mode == "vqa":
                    raise
                why.append(f"vqa: {e}")
    text = answer_from_facts(q, facts)
    if text is not None:
        return done(text, "facts", "facts", True)
    raise OculaError(
        f"nothing here can answer {q[:60]!r}: the facts do not say, and no vision model is usable — start an "
        f"OpenAI-compatible server with a vision model (`ollama pull {settings.vlm_model}`; OCULA_LLM_URL, "
        f"OCULA_VLM_MODEL; now {settings.llm_url}) or `ocula models pull {settings.vqa_model}`")
