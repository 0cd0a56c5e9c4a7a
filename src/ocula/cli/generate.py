"""`ocula generate`: images from prompts (text, image-to-image, inpainting, ControlNet), one
at a time or from a YAML/JSONL batch file with a contact sheet."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any, Optional

import typer

from .common import JSON_HELP, dump_json, err, fail, out, print_result
from .render import render

# keys a batch item may set; the rest come from the command line
ITEM_KEYS = ("prompt", "negative", "seed", "denoising_steps", "steps", "guidance", "size", "n", "model", "strength",
             "init_image", "mask", "control", "control_image", "control_model")


def load_batch(path: Path) -> list[dict]:
    """Items of a .yaml/.yml (a list, or a mapping with `prompts:` and optional `defaults:`) or
    .jsonl file (one object or string a line). Relative image paths are taken from the file's folder."""
    from ..errors import InvalidArgument

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidArgument(f"batch file {path} could not be read: {e.strerror or e}") from None
    defaults: dict = {}
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise InvalidArgument("reading YAML needs PyYAML (`pip install pyyaml`); or write the batch as .jsonl") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise InvalidArgument(f"batch file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
        if isinstance(data, dict):
            defaults = data.get("defaults") or {}
            data = data.get("prompts")
        if not isinstance(data, list):
            raise InvalidArgument(f"batch file {path}: expected a list of prompts (or `prompts:` with a list)")
        raw = data
    elif path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        raw = []
        for no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw.append(json.loads(line))
            except ValueError as e:
                raise InvalidArgument(f"{path}:{no}: not a JSON value ({e})") from None
    else:
        raise InvalidArgument(f"batch file {path}: use a .yaml, .yml or .jsonl file")
    items = []
    for no, entry in enumerate(raw, 1):
        item = {"prompt": entry} if isinstance(entry, str) else entry
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str) or not item["prompt"].strip():
            raise InvalidArgument(f"{path}: item {no} needs a `prompt` text")
        item = {**defaults, **item}
        bad = sorted(set(item) - set(ITEM_KEYS))
        if bad:
            raise InvalidArgument(f"{path}: item {no} has unknown keys {bad}; valid keys: {', '.join(ITEM_KEYS)}")
        if "steps" in item:  # the short name batch files have used since the first release
            item.setdefault("denoising_steps", item.pop("steps"))
        for key in ("init_image", "mask", "control_image"):
            if item.get(key) and not Path(item[key]).expanduser().is_absolute():
                item[key] = str(path.parent / item[key])
        items.append(item)
    if not items:
        raise InvalidArgument(f"batch file {path} holds no prompts")
    return items


def write_contact_sheet(folder: Path, entries: list[dict], title: str = "ocula generate") -> Path:
    """index.html: a grid of the images (relative links), alt text = the prompt."""
    cells = []
    for e in entries:
        if not e.get("path"):
            label = e.get("action", "not written")
            cells.append(f'<figure class="missing"><div>{html.escape(label)}</div>'
                         f'<figcaption>{html.escape(e["prompt"])}<br><small>seed {e["seed"]}</small></figcaption></figure>')
            continue
        rel = os.path.relpath(e["path"], folder)
        href = html.escape(Path(rel).as_posix(), quote=True)
        flag = f' <b>{html.escape(e["action"])}</b>' if e.get("action") not in (None, "none") else ""
        cells.append(f'<figure><a href="{href}"><img src="{href}" alt="{html.escape(e["prompt"], quote=True)}" '
                     f'loading="lazy"></a><figcaption>{html.escape(e["prompt"])}<br><small>seed {e["seed"]}'
                     f'{flag}</small></figcaption></figure>')
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; background: #fafafa; color: #222; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 1rem; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }}
img {{ width: 100%; height: auto; image-rendering: pixelated; display: block; }}
figcaption {{ font-size: .85rem; margin-top: .4rem; overflow-wrap: anywhere; }}
.missing div {{ aspect-ratio: 1; display: grid; place-items: center; background: #eee; color: #a00; }}
</style></head><body>
<h1>{html.escape(title)}</h1><p>{len(entries)} image(s)</p>
<div class="grid">
{chr(10).join(cells)}
</div></body></html>
"""
    from ..output import replace_file

    return replace_file(folder / "index.html", page)  # the sheet is ocula's own file: replaced on every run


class _StepBar:
    """A rich progress bar over all denoising steps of the call, on stderr."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and err.is_terminal
        self.bar = None
        self.task = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=err, transient=True)
            self.bar.start()
        return self

    def __call__(self, step: int, steps: int, image: int, images: int) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task("generating", total=steps * images)
        self.bar.update(self.task, total=steps * images, completed=(image - 1) * steps + step,
                        description=f"image {image}/{images}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def generate_cmd(
    prompts: Optional[list[str]] = typer.Argument(None, help="What to draw; several prompts make several images."),
    negative: Optional[str] = typer.Option(None, "--negative", help="What to keep out of the image."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Catalogue name (sd-turbo, sdxl-turbo, stable-diffusion-v1-5, "
                                             "sd-inpainting) or a local diffusers folder."),
    denoising_steps: Optional[int] = typer.Option(None, "--denoising-steps",
                                                  help="Denoising steps (default: 1 for turbo models, else 25)."),
    steps: Optional[int] = typer.Option(None, "--steps", hidden=True, help="Old name of --denoising-steps."),
    guidance: Optional[float] = typer.Option(None, "--guidance", "-g",
                                             help="Prompt adherence (default: 0 for turbo models, else 7.5)."),
    size: Optional[str] = typer.Option(None, "--size", help="WIDTHxHEIGHT, multiples of 8 (default: the model's own)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the first image; image k uses seed+k."),
    n: int = typer.Option(1, "-n", help="Images per prompt."),
    init_image: Optional[Path] = typer.Option(None, "--init-image", help="Start from this image (image-to-image)."),
    strength: Optional[float] = typer.Option(None, "--strength", help="How much of --init-image is repainted, (0, 1]."),
    mask: Optional[Path] = typer.Option(None, "--mask", help="Inpainting mask, white = repaint (same size as --init-image)."),
    control: Optional[str] = typer.Option(None, "--control", help="canny or scribble: follow the edges of --control-image."),
    control_image: Optional[Path] = typer.Option(None, "--control-image", help="Image the control map is computed from."),
    control_model: Optional[str] = typer.Option(None, "--control-model", help="ControlNet: catalogue name or folder."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or mps."),
    dtype: str = typer.Option("auto", "--dtype", help="auto, float32, float16 or bfloat16 (CPU: float32)."),
    safety: str = typer.Option("flag", "--safety", help="flag, blur, block or off: what to do with unsafe prompts/images."),
    blocklist: Optional[Path] = typer.Option(None, "--blocklist", help="File of blocked prompt terms, one a line (OCULA_BLOCKLIST)."),
    metadata: bool = typer.Option(True, "--metadata/--no-metadata", help="Store the prompt, seed and settings in the file."),
    sign: bool = typer.Option(False, "--sign", help="Sign with C2PA content credentials (trainedAlgorithmicMedia)."),
    watermark: Optional[str] = typer.Option(None, "--watermark", help="Embed this invisible watermark text."),
    fmt: str = typer.Option("png", "--format", help="png, jpg or webp."),
    output: Path = typer.Option(Path("generated"), "-o", "--output", help="Folder for the images."),
    batch: Optional[Path] = typer.Option(None, "--from", help="YAML or JSONL file of prompts with per-prompt settings "
                                                               "(resumable; writes index.html)."),
    enhance_prompt: bool = typer.Option(False, "--enhance-prompt", help="Let the configured LLM turn each prompt "
                                        "into a detailed English one, and show it (Chinese prompts are translated "
                                        "by it anyway)."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible server (OCULA_LLM_URL).",
                                          show_default=False),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model on it (OCULA_LLM_MODEL).",
                                            show_default=False),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Generate images from text prompts (English, or Chinese translated by an LLM), optionally from an init
    image, a mask or an edge map."""
    from ..errors import OculaError
    from ..tasks.generate import generate

    if steps is not None:
        err.print("note: --steps is deprecated; use --denoising-steps", markup=False)
        denoising_steps = steps if denoising_steps is None else denoising_steps
    common: dict[str, Any] = dict(negative=negative, model=model, denoising_steps=denoising_steps, guidance=guidance,
                                  size=size, seed=seed, n=n, init_image=init_image, strength=strength, mask=mask,
                                  control=control, control_image=control_image, control_model=control_model,
                                  device=device, dtype=dtype, safety=safety, blocklist=blocklist,
                                  metadata=metadata, sign=sign, watermark=watermark, format=fmt, out_dir=output,
                                  enhance_prompt=enhance_prompt, llm_url=llm_url, llm_model=llm_model)
    if batch is None:
        if not prompts:
            fail("give a prompt, e.g. ocula generate \"a red apple\" -o out/, or --from prompts.yaml")
        with _StepBar(True) as bar:
            res = generate(prompts, progress=bar, **common)
        print_result(res, as_json)
        return

    if prompts:
        fail("give prompts either as arguments or with --from, not both")
    items = load_batch(batch)
    output.mkdir(parents=True, exist_ok=True)
    results, failures, sheet = [], [], []
    index = 1
    with _StepBar(True) as bar:
        for no, item in enumerate(items, 1):
            opts = dict(common)
            opts.update({k: v for k, v in item.items() if k != "prompt"})
            count = int(opts.get("n") or 1) if str(opts.get("n") or 1).isdigit() else 1
            if opts.get("seed") is None:
                # a stable seed per position, so a rerun finds (and keeps) what it made before
                opts["seed"] = (seed or 0) + index - 1
            try:
                res = generate(item["prompt"], progress=bar, start_index=index, resume=True, **opts)
            except OculaError as e:
                failures.append({"item": no, "prompt": item["prompt"], "error": str(e)})
                index += count
                continue
            index += count
            results.append(res)
            for im in res.images:
                sheet.append({"path": im.path, "prompt": im.prompt, "seed": im.seed,
                              "action": im.safety.action if im.safety else None})
    page = write_contact_sheet(output, sheet, title=f"ocula generate — {batch.name}")
    if as_json:
        dump_json({"results": [r.model_dump(mode="json") for r in results], "failures": failures,
                   "contact_sheet": str(page)})
    else:
        for r in results:
            for line in render(r):
                out.print(line, markup=False)
        out.print(f"contact sheet: {page}", markup=False)
    if failures:
        err.print(f"{len(failures)} of {len(items)} prompt(s) failed:", markup=False)
        for f in failures:
            err.print(f"  item {f['item']} ({f['prompt']!r}): {f['error']}", markup=False)
        raise typer.Exit(1)
