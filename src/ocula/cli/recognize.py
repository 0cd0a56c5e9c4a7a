"""Recognition commands: classify, ocr, faces, colors, quality, metadata, moderate, analyze."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from .common import IMAGES_HELP, JSON_HELP, run_batch

Images = typer.Argument(..., help=IMAGES_HELP, show_default=False)
Json = typer.Option(False, "--json", help=JSON_HELP)


def register(app: typer.Typer) -> None:
    @app.command()
    def classify(
        images: List[str] = Images,
        top_k: int = typer.Option(5, "--top-k", "-k", min=1, max=1000, help="How many labels to return."),
        model: str = typer.Option(None, "--model", "-m", help="A registered classifier, or a MODEL_DIR from `ocula train classifier`."),
        json: bool = Json,
    ) -> None:
        """What is in the picture: ImageNet labels in English and Chinese, with a coarse category."""
        from ..tasks.classify import classify as run

        run_batch(images, lambda p: run(p, top_k=top_k, model=model), as_json=json)

    @app.command()
    def ocr(
        images: List[str] = Images,
        engine: str = typer.Option(None, "--engine", "-e", help="rapidocr (default) or tesseract."),
        language: str = typer.Option("auto", "--language", "-l", help="auto, en or zh."),
        min_confidence: float = typer.Option(0.5, "--min-confidence", min=0, max=1,
                                             help="Drop lines read with less confidence."),
        json: bool = Json,
    ) -> None:
        """Read the text in the picture (Chinese and English), line by line in reading order."""
        from ..tasks.ocr import ocr as run

        run_batch(images, lambda p: run(p, engine=engine, language=language, min_confidence=min_confidence),
                  as_json=json)

    @app.command()
    def faces(
        images: List[str] = Images,
        model: str = typer.Option(None, "--model", "-m", help="mtcnn, haar-frontalface (default: best installed)."),
        min_score: float = typer.Option(0.9, "--min-score", min=0, max=1, help="Drop weaker detections."),
        json: bool = Json,
    ) -> None:
        """Find faces: boxes, scores and five landmarks (MTCNN)."""
        from ..tasks.faces import faces as run

        run_batch(images, lambda p: run(p, model=model, min_score=min_score), as_json=json)

    @app.command()
    def colors(
        images: List[str] = Images,
        count: int = typer.Option(5, "--count", "-n", min=1, max=16, help="How many dominant colours."),
        json: bool = Json,
    ) -> None:
        """Dominant colours with their share of the picture and names in English and Chinese."""
        from ..tasks.colors import colors as run

        run_batch(images, lambda p: run(p, count=count), as_json=json)

    @app.command()
    def quality(
        images: List[str] = Images,
        brisque: bool = typer.Option(True, "--brisque/--no-brisque", help="Also compute BRISQUE (slower)."),
        json: bool = Json,
    ) -> None:
        """Technical quality: sharpness, exposure, contrast, noise, BRISQUE, resolution, a verdict."""
        from ..tasks.quality import quality as run

        run_batch(images, lambda p: run(p, brisque=brisque), as_json=json)

    @app.command()
    def metadata(
        images: List[str] = Images,
        gps: bool = typer.Option(False, "--gps", help="Include GPS coordinates (private: off by default)."),
        json: bool = Json,
    ) -> None:
        """Camera, lens, time, software and exposure from EXIF."""
        from ..tasks.metadata import metadata as run

        run_batch(images, lambda p: run(p, gps=gps), as_json=json)

    @app.command()
    def moderate(
        images: List[str] = Images,
        threshold: float = typer.Option(0.5, "--threshold", min=0, max=1, help="Score that counts as unsafe."),
        json: bool = Json,
    ) -> None:
        """NSFW scores (NudeNet; optional extra `pip install 'ocula\\[moderation]'`, AGPL-3.0)."""
        from ..tasks.moderate import moderate as run

        run_batch(images, lambda p: run(p, threshold=threshold), as_json=json)

    @app.command()
    def analyze(
        images: List[str] = Images,
        steps: str = typer.Option(None, "--steps", help="Comma-separated subset: classify,ocr,faces,colors,"
                                                        "quality,metadata,moderate (default: all installed)."),
        top_k: int = typer.Option(5, "--top-k", "-k", min=1, max=1000, help="Labels per image."),
        gps: bool = typer.Option(False, "--gps", help="Include GPS coordinates from EXIF."),
        jobs: int = typer.Option(None, "--jobs", "-j", min=1, help="Images decoded in parallel (OCULA_JOBS)."),
        json: bool = Json,
    ) -> None:
        """All facts about each image in one pass: labels, text, faces, colours, quality, metadata."""
        from ..tasks.analyze import analyze_many

        step_list = steps.split(",") if steps else None

        def stream(files: list[Path]):
            return analyze_many(files, steps=step_list, top_k=top_k, gps=gps, jobs=jobs)

        run_batch(images, as_json=json, stream=stream)
