"""Commands where words drive the work: detect (COCO objects, or --find words), ask (a question
about an image) and redact (hide what words describe)."""

from __future__ import annotations

from typing import List, Optional

import typer

from .common import IMAGES_HELP, JSON_HELP, expand, fail, run_batch
from .enhance import _opts, _run

Images = typer.Argument(..., help=IMAGES_HELP, show_default=False)
FIND_HELP = "English words of what to find, comma-separated: 'red car, person with umbrella'."


def _split(words: Optional[str]) -> Optional[list[str]]:
    return None if words is None else [w for w in (p.strip() for p in words.split(",")) if w] or [words]


def detect(
    images: List[str] = Images,
    find: Optional[str] = typer.Option(None, "--find", "-f", help=FIND_HELP + " Without it: the 80 COCO classes.",
                                       show_default=False),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Detector: rtdetr-r50 (COCO), owlv2-base "
                                        "(--find), or a save_pretrained folder.", show_default=False),
    min_score: Optional[float] = typer.Option(None, "--min-score", min=0, max=1, show_default=False,
                                              help="Drop boxes scored below this (default 0.5; 0.2 with --find)."),
    annotate: Optional[str] = typer.Option(None, "--annotate", help="Write a copy with the boxes drawn here "
                                           "(a folder when several images are given).", show_default=False),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --annotate file."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Objects with boxes: the 80 COCO classes (RT-DETR), or with --find whatever the words describe (OWLv2)."""
    from ..errors import InvalidArgument
    from ..tasks.detect import detect as run, parse_find

    try:
        words = parse_find(_split(find)) if find is not None else None
    except InvalidArgument as e:
        fail(str(e))
    plan: dict = {}
    if annotate is not None:
        from ..output import plan_outputs

        from ..errors import OculaError

        files, batch = expand(images)
        try:
            plan = plan_outputs(files, annotate, "detected", batch=batch, overwrite=overwrite)
        except OculaError as e:
            fail(str(e).replace("-o path", "--annotate path"))
    run_batch(images, lambda p: run(p, find=words, model=model, min_score=min_score, annotate=plan.get(p),
                                    overwrite=overwrite), as_json=json)


def ask(
    image: str = typer.Argument(..., help="The image.", show_default=False),
    question: str = typer.Argument(..., help="The question, in English or Chinese.", show_default=False),
    model: str = typer.Option("auto", "--model", "-m", help="auto (vlm, then vqa, then facts), vlm, vqa, a VQA "
                              "model name or folder, or facts."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible server (OCULA_LLM_URL).",
                                          show_default=False),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Vision model on it (OCULA_VLM_MODEL).",
                                            show_default=False),
    steps: Optional[str] = typer.Option(None, "--steps", help="Analyze steps whose facts ground the answer "
                                        "(default: all installed).", show_default=False),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Answer a question about an image: a vision model (server or hub), grounded in the facts."""
    from ..errors import InvalidArgument
    from ..tasks.ask import ask as run, check_question

    try:
        check_question(question)
    except InvalidArgument as e:
        fail(str(e))
    run_batch([image], lambda p: run(p, question=question, model=model, steps=_split(steps), llm_url=llm_url,
                                     llm_model=llm_model), as_json=json)


o = _opts("redacted")


def redact(
    images: List[str] = Images,
    find: str = typer.Option(..., "--find", "-f", help="English words of what to hide: 'licence plate, screen'.",
                             show_default=False),
    method: str = typer.Option("blur", "--method", help="blur, pixelate or fill."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Open-vocabulary detector (owlv2-base) or a "
                                        "folder.", show_default=False),
    min_score: Optional[float] = typer.Option(None, "--min-score", min=0, max=1, show_default=False,
                                              help="Hide regions found with at least this score (default 0.2)."),
    grow: float = typer.Option(0.1, "--grow", min=0, max=1, help="Widen each box by this share of its sides."),
    output: str = o["output"], overwrite: bool = o["overwrite"], quality: int = o["quality"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Privacy: hide what words describe ('licence plate, screen'): blur, pixelate or fill each region found."""
    from ..errors import InvalidArgument
    from ..tasks.detect import parse_find
    from ..tasks.redact import ACTION, METHODS, redact as run

    if method not in METHODS:
        fail(f"unknown --method {method!r}; choose one of: {', '.join(METHODS)}")
    try:
        words = parse_find(_split(find))
    except InvalidArgument as e:
        fail(str(e))
    _run(images, output, "redacted", ACTION, overwrite=overwrite, as_json=json, sign=sign, watermark=watermark,
         work=lambda src, dst: run(src, find=words, method=method, model=model, min_score=min_score, grow=grow,
                                   output=dst, overwrite=overwrite, quality=quality, sign=sign, watermark=watermark))
