"""`ocula train classifier`: a classifier of your own from labelled folders (see tasks/train.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import JSON_HELP, dump_json, err, out
from .render import render

def _progress_printer(enabled: bool):
    """A progress bar per stage on stderr; training epochs show loss and accuracy."""
    if not enabled:
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err, transient=False)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int, info: dict) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=max(total, 1), info="")
        text = ""
        if "loss" in info:
            text = f"loss {info['loss']:.3f} acc {info['acc']:.1%}"
            if "val_loss" in info:
                text += f"  val loss {info['val_loss']:.3f} acc {info['val_acc']:.1%}"
        bar.update(tasks[stage], completed=done, total=max(total, 1), info=text)

    bar.start()
    return update, bar.stop


def classifier(
    data_dir: Path = typer.Argument(..., help="One folder per class (DATA_DIR/cat/*.jpg ...) or a CSV of path,label.",
                                    show_default=False),
    output: Path = typer.Option(..., "--output", "-o", help="MODEL_DIR to write (model, ONNX, report)."),
    val_split: float = typer.Option(0.2, "--val-split", min=0.0, max=0.9,
                                    help="Share of each class held out for validation."),
    epochs: int = typer.Option(None, "--epochs", min=1, help="Most epochs (default: linear 100, finetune 8; "
                                                             "training stops early when validation stops improving)."),
    mode: str = typer.Option("linear", "--mode", help="linear (probe on cached features, fast), finetune "
                                                      "(also the last blocks, slower) or fewshot (prototypes, "
                                                      ">= 3 images per class)."),
    augment: str = typer.Option("none", "--augment", help="none, standard (crop, flip, colour), mixup or cutmix."),
    seed: int = typer.Option(0, "--seed", min=0, help="Fixes the split, the augmentation and the training."),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore checkpoints in MODEL_DIR and start over."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Train an image classifier from labelled folders; writes ONNX fp32 + int8 and an evaluation report.

    Then: ocula classify IMAGES --model MODEL_DIR
    """
    from ..tasks.train import train_classifier

    update, stop = _progress_printer(err.is_terminal and not json)
    try:
        report = train_classifier(data_dir, output, val_split=val_split, epochs=epochs, mode=mode,
                                  augment=augment, seed=seed, resume=not fresh,
                                  progress=update)
    finally:
        stop()
    if json:
        dump_json(report.model_dump(mode="json"))
    else:
        for line in render(report):
            out.print(line, markup=False)
        out.print(f"\nnext: ocula classify IMAGES --model {output}", markup=False)

