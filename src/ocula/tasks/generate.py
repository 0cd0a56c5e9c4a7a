"""Generate images from prompts: text-to-image, image-to-image, inpainting and ControlNet.

Every image is made with its own generator seeded ``seed + k`` (k counts the images of the
call), so one image can be remade alone, and the same seed and settings give the same pixels
on the same device. Outputs carry their recipe (PNG text chunks, or EXIF for JPEG), can be
watermarked and signed (C2PA, trainedAlgorithmicMedia), and go through the safety checks:
a prompt blocklist and, with the moderation extra, a nudity score of the output.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from PIL import Image

from ..config import Settings, get_settings
from ..deprecation import renamed
from ..errors import InvalidArgument, MissingDependency, OculaError
from ..results import GeneratedImage, GenerateResult, SafetyDecision

MAX_SIDE: int | None = None  # init images and masks are used at full size, then resized to --size
SIZE_LIMIT = 2048            # per side: beyond this SD-class models tile badly and memory explodes
MIN_SIDE = 64
SAFETY_MODES = ("flag", "blur", "block", "off")
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp"}
_NAME = re.compile(r"^(\d{4,})-")

ProgressFn = Callable[[int, int, int, int], None]  # (step, steps, image number, images)


_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _pipe_lock(pipe: Any) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(pipe), threading.Lock())


class Cancelled(OculaError):
    """Generation was stopped by the caller; images finished before that are kept."""


# --- options ---------------------------------------------------------------------------

def parse_size(size: Any) -> tuple[int, int] | None:
    """'512x768', 512, (512, 768) -> (width, height), checked."""
    if size is None:
        return None
    if isinstance(size, str):
        m = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*", size)
        if not m:
            raise InvalidArgument(f"size must be WIDTHxHEIGHT such as 512x512, not {size!r}")
        w, h = int(m.group(1)), int(m.group(2) or m.group(1))
    elif isinstance(size, int):
        w = h = size
    else:
        w, h = (int(v) for v in size)
    for side in (w, h):
        if side % 8:
            raise InvalidArgument(f"size {w}x{h}: width and height must be multiples of 8 "
                                  f"(e.g. {max(MIN_SIDE, w // 8 * 8)}x{max(MIN_SIDE, h // 8 * 8)})")
        if not MIN_SIDE <= side <= SIZE_LIMIT:
            raise InvalidArgument(f"size {w}x{h}: each side must be {MIN_SIDE}..{SIZE_LIMIT} pixels")
    return w, h


def _fit_size(w: int, h: int, longest: int = 1024) -> tuple[int, int]:
    scale = min(1.0, longest / max(w, h))
    return max(MIN_SIDE, int(w * scale) // 8 * 8), max(MIN_SIDE, int(h * scale) // 8 * 8)


def slug(text: str, limit: int = 40) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return (s[:limit].rstrip("-") or "image")


def file_name(index: int, prompt: str, seed: int, suffix: str = ".png") -> str:
    return f"{index:04d}-{slug(prompt)}-s{seed}{suffix}"


def next_index(folder: Path) -> int:
    """1 + the highest number that starts a file name in ``folder`` (so new files sort last)."""
    best = 0
    if folder.is_dir():
        for p in folder.iterdir():
            m = _NAME.match(p.name)
            if m:
                best = max(best, int(m.group(1)))
    return best + 1


# --- safety ----------------------------------------------------------------------------

def load_blocklist(path: str | os.PathLike | None = None) -> list[str]:
    """Terms from ``path``, $OCULA_BLOCKLIST, or the packaged default list."""
    path = path or os.environ.get("OCULA_BLOCKLIST") or Path(__file__).parent.parent / "data" / "generate_blocklist.txt"
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidArgument(f"blocklist {path} could not be read: {e.strerror or e}") from None
    return [t.strip().lower() for t in text.splitlines() if t.strip() and not t.lstrip().startswith("#")]


def blocked_terms(prompt: str, terms: Iterable[str]) -> list[str]:
    low = prompt.lower()
    return [t for t in terms if re.search(r"(?<!\w)" + re.escape(t) + r"(?!\w)", low)]


# --- metadata ----------------------------------------------------------------------------

def recipe(*, prompt: str, negative: str | None, seed: int, steps: int, guidance: float, size: tuple[int, int],
           model: str, mode: str, strength: float | None, control: str | None) -> dict[str, str]:
    from ..version import __version__

    out = {"prompt": prompt, "negative_prompt": negative or "", "seed": str(seed), "steps": str(steps),
           "guidance": f"{guidance:g}", "size": f"{size[0]}x{size[1]}", "model": model, "mode": mode,
           "software": f"ocula {__version__}"}
    if strength is not None:
        out["strength"] = f"{strength:g}"
    if control:
        out["control"] = control
    return out


# the fields that decide the pixels: a resumed batch keeps a file only when all of them match
_SAME = ("prompt", "negative_prompt", "seed", "steps", "guidance", "size", "model", "mode", "strength", "control")


def read_recipe(path: str | os.PathLike) -> dict[str, str]:
    """The recipe ocula stored in a generated PNG (text chunks) or JPEG/WebP (EXIF UserComment)."""
    try:
        with Image.open(path) as im:
            text = dict(getattr(im, "text", {}) or {})
            if "parameters" in text:
                return json.loads(text["parameters"])
            exif = im.getexif()
            raw = exif.get_ifd(0x8769).get(0x9286)
    except (OSError, ValueError):
        return {}
    if isinstance(raw, bytes):
        raw = raw[8:] if raw[:8] in (b"ASCII\0\0\0", b"UNICODE\0", b"\0" * 8) else raw
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def _encode(img: Image.Image, suffix: str, meta: dict[str, str] | None) -> tuple[dict, bytes | None]:
    """(save params, exif bytes) carrying ``meta``."""
    params: dict = {}
    exif = None
    if meta is None:
        return params, None
    blob = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    if suffix == ".png":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for k, v in meta.items():
            info.add_itxt(k, v)  # iTXt: UTF-8, so any prompt survives
        info.add_itxt("parameters", blob)
        params["pnginfo"] = info
    else:
        ex = Image.Exif()
        ex[0x010E] = meta["prompt"]                      # ImageDescription
        ex[0x0131] = meta["software"]                    # Software
        ex.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + blob.encode("utf-16-be") if not blob.isascii() \
            else b"ASCII\0\0\0" + blob.encode()        # UserComment
        exif = ex.tobytes()
    return params, exif


def _write(img: Image.Image, path: Path, meta: dict[str, str] | None, *, overwrite: bool = False) -> Path:
    from ..output import image_format, write_atomic

    fmt = image_format(path)
    params, exif = _encode(img, path.suffix.lower(), meta)
    if exif:
        params["exif"] = exif
    if fmt == "JPEG":
        params.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        params.update(quality=95)

    def write(fh) -> None:
        img.save(fh, format=fmt, **params)

    return write_atomic(path, write, overwrite=overwrite)


WATERMARK_METHOD = "dwtDctSvd"


# --- the task ------------------------------------------------------------------------------
# check -> load inputs -> load pipeline -> per image: denoise -> safety -> write -> provenance


@dataclass
class _Plan:
    """Everything decided before a model loads: mode, sizes, steps, files."""

    prompts: list[str]
    mode: str
    suffix: str
    wanted: tuple[int, int] | None
    strength: float | None
    init: Image.Image | None = None
    mask: Image.Image | None = None
    control_source: Image.Image | None = None
    folder: Path | None = None
    terms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    asked: dict[str, str] = field(default_factory=dict)  # prompt used -> the user's prompt it was made from


def _check(prompts: str | list[str], *, n: int, safety: str, format: str, denoising_steps: int | None,
           guidance: float | None, seed: int | None, size: Any, watermark: str | None, init_image: Any,
           strength: float | None, mask: Any, control: str | None, control_image: Any) -> _Plan:
    """Every argument checked before any image is read or any model loads."""
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts or any(not isinstance(p, str) or not p.strip() for p in prompts):
        raise InvalidArgument("give at least one non-empty prompt")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
        raise InvalidArgument(f"n (images per prompt) must be 1..64, not {n!r}")
    if safety not in SAFETY_MODES:
        raise InvalidArgument(f"safety must be one of {', '.join(SAFETY_MODES)}, not {safety!r}")
    suffix = FORMATS.get(str(format).lower().lstrip("."))
    if suffix is None:
        raise InvalidArgument(f"format must be one of png, jpg, webp, not {format!r}")
    if denoising_steps is not None and (isinstance(denoising_steps, bool) or not isinstance(denoising_steps, int)
                                        or not 1 <= denoising_steps <= 500):
        raise InvalidArgument(f"denoising_steps must be 1..500, not {denoising_steps!r}")
    if guidance is not None and not 0 <= float(guidance) <= 50:
        raise InvalidArgument(f"guidance must be 0..50, not {guidance!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63 - 100):
        raise InvalidArgument(f"seed must be a non-negative integer, not {seed!r}")
    wanted = parse_size(size)
    if watermark is not None:
        from ..provenance import watermark as wm

        wm.encode_payload(watermark, WATERMARK_METHOD)  # a bad payload fails before any work
    if mask is not None and init_image is None:
        raise InvalidArgument("--mask needs --init-image (the image to repaint)")
    if control is not None:
        if control not in ("canny", "scribble"):
            raise InvalidArgument(f"control must be canny or scribble, not {control!r}")
        if control_image is None:
            raise InvalidArgument(f"--control {control} needs --control-image IMG (ocula computes the {control} map)")
        if init_image is not None:
            raise InvalidArgument("--control cannot be combined with --init-image; use one or the other")
    elif control_image is not None:
        raise InvalidArgument("--control-image needs --control canny|scribble")
    mode = ("control" if control else "inpaint" if mask is not None else "img2img" if init_image is not None
            else "text2img")
    if strength is not None:
        if mode not in ("img2img", "inpaint"):
            raise InvalidArgument("--strength applies to --init-image (image-to-image or inpainting) only")
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
            raise InvalidArgument(f"strength must be in (0, 1] (how much of the init image is repainted), "
                                  f"not {strength!r}")
    return _Plan(prompts=prompts, mode=mode, suffix=suffix, wanted=wanted, strength=strength)


def _load_inputs(plan: _Plan, *, init_image: Any, mask: Any, control_image: Any, safety: str,
                 blocklist: str | os.PathLike | None, out_dir: str | os.PathLike | None, settings: Settings) -> None:
    """The init image, mask and control source (sizes checked), the blocklist and the output folder."""
    if init_image is not None:
        plan.init = _load(init_image, "init image", settings).convert("RGB")
        if plan.wanted is None:
            plan.wanted = _fit_size(*plan.init.size)
    if mask is not None:
        mask_img = _load(mask, "mask", settings)
        if mask_img.size != plan.init.size:
            raise InvalidArgument(f"the mask is {mask_img.size[0]}x{mask_img.size[1]} but the init image is "
                                  f"{plan.init.size[0]}x{plan.init.size[1]}; they must be the same size")
        plan.mask = mask_img.convert("L")
    if control_image is not None:
        plan.control_source = _load(control_image, "control image", settings)
        if plan.wanted is None:
            plan.wanted = _fit_size(*plan.control_source.size, longest=768)
    plan.terms = load_blocklist(blocklist) if safety != "off" else []
    if out_dir is not None:
        plan.folder = Path(out_dir).expanduser()
        if plan.folder.exists() and not plan.folder.is_dir():
            raise InvalidArgument(f"-o must be a folder; {plan.folder} is a file")
        plan.folder.mkdir(parents=True, exist_ok=True)


def _prompt_words(plan: _Plan, *, model: str | os.PathLike | None, enhance_prompt: bool, llm_url: str | None,
                  llm_model: str | None, settings: Settings) -> None:
    """Prompts the model's text encoder can read: a prompt in Chinese (or another non-Latin
    script) for an English-only encoder is translated by the configured LLM, and with
    ``enhance_prompt`` every prompt is expanded into a detailed one; never fed unchanged."""
    from ..models.catalog import CATALOG
    from ._zeroshot import needs_multilingual

    spec = CATALOG.get(str(model)) if model is not None else None
    name = str(model) if model is not None else "the default model"
    reads_any = bool(spec and spec.multilingual)
    if not enhance_prompt and (reads_any or not any(needs_multilingual(p) for p in plan.prompts)):
        return
    from ..backends import diffusion as dif
    from ..writing.base import WriterError
    from ..writing.chat import english_prompt

    dif.require_diffusers()
    dif.resolve_model(model, plan.mode, settings)  # a model that is not here says so before the LLM is asked

    out = []
    for prompt in plan.prompts:
        foreign = needs_multilingual(prompt) and not reads_any
        if not (foreign or enhance_prompt):
            out.append(prompt)
            continue
        try:
            new, by = english_prompt(prompt, settings, expand=enhance_prompt, url=llm_url, model=llm_model)
        except (WriterError, OSError, RuntimeError) as e:  # RuntimeError: a sandbox that blocks sockets
            why = (f"the prompt {prompt[:40]!r} is not in English and {name}'s text encoder reads English only, "
                   f"so an LLM must translate it" if foreign else "--enhance-prompt needs an LLM")
            raise InvalidArgument(f"{why}: {e} — start an OpenAI-compatible server (`ollama pull "
                                  f"{llm_model or settings.llm_model}`; OCULA_LLM_URL) or write the prompt in "
                                  f"English") from None
        plan.asked[new] = prompt
        plan.notes.append(f"prompt {'expanded' if enhance_prompt else 'translated'} by {by}: {prompt!r} -> {new!r}")
        out.append(new)
    plan.prompts = out


def _load_pipeline(plan: _Plan, *, model: str | os.PathLike | None, control: str | None,
                   control_model: str | os.PathLike | None, device: str | None, dtype: str | None,
                   settings: Settings) -> tuple[Any, Any, str, str, float]:
    """(pipeline, model ref, device, dtype, seconds to load); one line naming `ocula models pull`
    when the weights are not here."""
    from ..backends import configure_threads
    from ..backends import diffusion as dif

    dif.require_diffusers()
    ref = dif.resolve_model(model, plan.mode, settings)
    control_ref = dif.resolve_control_model(control, control_model, settings) if control else None
    dev = dif.pick_device(device, settings)
    dt = dif.pick_dtype(dtype, dev)
    if dev == "cpu":
        configure_threads(settings.threads)
    t0 = time.perf_counter()
    pipe = dif.pipeline_for(ref, plan.mode, dev, dt, control_ref)
    return pipe, ref, dev, dt, time.perf_counter() - t0


def _pipeline_call(plan: _Plan, pipe: Any, ref: Any, *, denoising_steps: int | None, guidance: float | None,
                   negative: str | None, control: str | None) -> tuple[dict[str, Any], int, float]:
    """The keyword arguments every denoising call gets, with the steps and guidance settled
    (the model's defaults where not given)."""
    from ..backends import diffusion as dif

    if plan.wanted is None:
        plan.wanted = dif.native_size(pipe)
    width, height = plan.wanted
    steps = denoising_steps if denoising_steps is not None else ref.defaults["steps"]
    guidance = float(guidance) if guidance is not None else ref.defaults["guidance"]
    if plan.mode in ("img2img", "inpaint"):
        # diffusers' own defaults: repaint the masked area from scratch; keep a quarter of an init image
        plan.strength = float(plan.strength) if plan.strength is not None else (1.0 if plan.mode == "inpaint" else 0.75)
        if int(steps * plan.strength) < 1:
            if denoising_steps is not None:
                raise InvalidArgument(f"{steps} steps at strength {plan.strength:g} run no denoising step "
                                      f"(steps x strength < 1); use --denoising-steps {math.ceil(1 / plan.strength)} "
                                      "or more")
            steps = math.ceil(1 / plan.strength)
    if negative and guidance <= 1:
        plan.notes.append(f"the negative prompt has no effect at guidance {guidance:g} (needs > 1)")
    call: dict[str, Any] = {"num_inference_steps": steps, "guidance_scale": guidance}
    if plan.mode in ("img2img", "inpaint"):
        plan.init = plan.init.resize((width, height), Image.Resampling.LANCZOS)
        call.update(image=plan.init, strength=plan.strength)
        if plan.mode == "inpaint":
            plan.mask = plan.mask.resize((width, height), Image.Resampling.NEAREST).point(
                lambda v: 255 if v > 127 else 0)
            call.update(mask_image=plan.mask, width=width, height=height)
    else:
        call.update(width=width, height=height)
    if plan.mode == "control":
        from .control import control_map

        call["image"] = control_map(plan.control_source, control, (width, height))
    return call, steps, guidance


def _denoise(pipe: Any, prompt: str, negative: str | None, guidance: float, call: dict[str, Any], seed: int,
             gen_device: str, on_step: Callable) -> Image.Image | None:
    """One image; None when the caller cancelled."""
    import torch

    gen = torch.Generator(gen_device).manual_seed(seed)
    # pipelines keep per-call state (scheduler timesteps, the interrupt flag) and the modes share
    # one scheduler and UNet: one call per model at a time
    with _pipe_lock(getattr(pipe, "unet", pipe)), torch.inference_mode():
        out = pipe(prompt=prompt, negative_prompt=negative if guidance > 1 else None, generator=gen,
                   callback_on_step_end=on_step, **call)
        interrupted = bool(getattr(pipe, "_interrupt", False))
        pipe._interrupt = False
    return None if interrupted else out.images[0].convert("RGB")


def _safety(img: Image.Image, decision: SafetyDecision, found: list[str], *, safety: str, threshold: float,
            size: tuple[int, int], settings: Settings, state: dict[str, bool], notes: list[str]) -> Image.Image | None:
    """Score the output (moderation extra), then flag, blur or block it; None when blocked."""
    if safety != "off" and not state.get("moderation_missing"):
        try:
            from .moderate import moderate

            mod = moderate(img, threshold=threshold, settings=settings)
            decision.image_unsafe, decision.image_scores = mod.unsafe, mod.scores
        except MissingDependency:
            state["moderation_missing"] = True
            notes.append("outputs were not scored: the moderation extra is not installed "
                         "(`pip install 'ocula[moderation]'`); only the prompt blocklist was checked")
    if found or decision.image_unsafe:
        decision.flagged = True
        if safety == "block":
            decision.action = "blocked"
            return None
        if safety == "blur":
            from PIL import ImageFilter

            img = img.filter(ImageFilter.GaussianBlur(radius=max(size) / 16))
            decision.action = "blurred"
        else:
            decision.action = "flagged"
    return img


def _write_marked(img: Image.Image, target: Path, meta: dict[str, str] | None, *, suffix: str, sign: bool,
                  watermark: str | None, settings: Settings) -> tuple[Path, Any]:
    """Write the image (watermarked in its pixels before encoding, so the recipe chunks and the
    mark coexist), then seal it: read the mark back and sign (C2PA, trainedAlgorithmicMedia).
    The signature goes last: it seals the bytes, recipe chunks included."""
    from ..provenance.marking import embed_in_image, seal

    if target.exists():
        from ..output import default_output

        target = default_output(target, "", suffix, target.parent)
    if watermark is not None:
        img = embed_in_image(img, watermark, WATERMARK_METHOD, threads=settings.threads)
    path = _write(img, target, meta)
    report = None
    if sign or watermark is not None:
        report = seal(path, actions=["generated"], sign=sign, watermark=watermark, settings=settings,
                      method=WATERMARK_METHOD, generated=True)
    return path, report


def _load(src: Any, what: str, settings: Settings) -> Image.Image:
    from ..image import load_image

    return load_image(src, max_side=MAX_SIDE, settings=settings, name=None).image


@renamed(steps="denoising_steps")
def generate(prompts: str | list[str], *, negative: str | None = None, model: str | os.PathLike | None = None,
             denoising_steps: int | None = None, guidance: float | None = None, size: Any = None,
             seed: int | None = None, n: int = 1, init_image: Any = None, strength: float | None = None,
             mask: Any = None,
             control: str | None = None, control_image: Any = None, control_model: str | os.PathLike | None = None,
             device: str | None = None, dtype: str | None = None, safety: str = "flag",
             blocklist: str | os.PathLike | None = None, threshold: float = 0.5, metadata: bool = True,
             sign: bool = False, watermark: str | None = None, out_dir: str | os.PathLike | None = None,
             format: str = "png", start_index: int | None = None, resume: bool = False,
             progress: ProgressFn | None = None, cancel: Callable[[], bool] | None = None,
             enhance_prompt: bool = False, llm_url: str | None = None, llm_model: str | None = None,
             settings: Settings | None = None) -> GenerateResult:
    """Make ``n`` images for each prompt; write them to ``out_dir`` when given.

    Mode: text-to-image; image-to-image with ``init_image``; inpainting with ``init_image`` and
    ``mask`` (white = repaint; the unmasked pixels of the input are kept exactly); ControlNet with
    ``control`` ('canny' or 'scribble') and ``control_image`` (ocula computes the map).
    ``denoising_steps``: how many denoising steps (the model's default when None).
    ``progress(step, steps, image, images)`` is called after every denoising step;
    ``cancel()`` returning True stops at the next step (raises Cancelled).
    A prompt in Chinese for an English-only text encoder is translated by the configured LLM
    (``llm_url``/``llm_model`` override the settings); ``enhance_prompt`` expands every prompt.
    """
    t_start = time.perf_counter()
    settings = settings or get_settings()
    plan = _check(prompts, n=n, safety=safety, format=format, denoising_steps=denoising_steps, guidance=guidance,
                  seed=seed, size=size, watermark=watermark, init_image=init_image, strength=strength, mask=mask,
                  control=control, control_image=control_image)
    _load_inputs(plan, init_image=init_image, mask=mask, control_image=control_image, safety=safety,
                 blocklist=blocklist, out_dir=out_dir, settings=settings)
    _prompt_words(plan, model=model, enhance_prompt=enhance_prompt, llm_url=llm_url, llm_model=llm_model,
                  settings=settings)
    pipe, ref, dev, dt, load_seconds = _load_pipeline(plan, model=model, control=control,
                                                      control_model=control_model, device=device, dtype=dtype,
                                                      settings=settings)
    call, steps, guidance = _pipeline_call(plan, pipe, ref, denoising_steps=denoising_steps, guidance=guidance,
                                           negative=negative, control=control)
    width, height = plan.wanted
    if watermark is not None:
        from ..provenance import watermark as wm

        if width * height < wm.MIN_PIXELS:
            raise InvalidArgument(f"--watermark needs images of at least {wm.MIN_PIXELS} pixels (e.g. 256x256); "
                                  f"{width}x{height} is too small")

    base_seed = seed if seed is not None else secrets.randbelow(2**31)
    index = start_index if start_index is not None else (next_index(plan.folder) if plan.folder else 1)
    total = len(plan.prompts) * n
    gen_device = "cpu" if dev == "mps" else dev  # mps generators are not reproducible across runs
    result = GenerateResult(model=ref.name, mode=plan.mode, device=dev, dtype=dt, steps=steps, guidance=guidance,
                            width=width, height=height, strength=plan.strength if plan.mode in ("img2img", "inpaint")
                            else None, control=control, load_seconds=round(load_seconds, 3), notes=plan.notes)
    state: dict[str, bool] = {}
    step_time, step_count, k = 0.0, 0, 0
    for prompt in plan.prompts:
        found = blocked_terms(f"{prompt}\n{plan.asked.get(prompt, '')}", plan.terms)
        for _ in range(n):
            img_seed = base_seed + k
            k += 1
            meta_all = recipe(prompt=prompt, negative=negative, seed=img_seed, steps=steps, guidance=guidance,
                              size=(width, height), model=ref.name, mode=plan.mode, strength=result.strength,
                              control=control)
            item = GeneratedImage(prompt=prompt, negative=negative, seed=img_seed, index=index)
            decision = SafetyDecision(mode=safety, prompt_terms=found)
            item.safety = decision
            target = plan.folder / file_name(index, prompt, img_seed, plan.suffix) if plan.folder else None
            index += 1
            result.images.append(item)
            result._pils.append(None)
            if resume and target is not None and target.exists():
                have = read_recipe(target)
                if all(have.get(f, "") == meta_all.get(f, "") for f in _SAME):
                    item.path, item.skipped = str(target), True
                    continue
            if found and safety == "block":
                decision.flagged, decision.action = True, "blocked"
                continue

            stamps: list[float] = []

            def on_step(p, i, t, kw, _k=k, _stamps=stamps):
                _stamps.append(time.perf_counter())
                if progress is not None:
                    progress(i + 1, getattr(p, "num_timesteps", steps) or steps, _k, total)
                if cancel is not None and cancel():
                    p._interrupt = True
                return kw

            t0 = time.perf_counter()
            img = _denoise(pipe, prompt, negative, guidance, call, img_seed, gen_device, on_step)
            if img is None:
                result.images.pop()
                result._pils.pop()
                raise Cancelled(f"cancelled after {len([i for i in result.images if i.path])} image(s)")
            if plan.mode == "inpaint":
                # the VAE round trip shifts every pixel; outside the mask the input is kept exactly
                img = Image.composite(img, plan.init, plan.mask)
            item.seconds = round(time.perf_counter() - t0, 3)
            # UNet time alone: between step callbacks (the first step also holds the prompt encoding)
            if len(stamps) > 1:
                step_time += stamps[-1] - stamps[0]
                step_count += len(stamps) - 1
            elif stamps:
                step_time += stamps[0] - t0
                step_count += 1
            img = _safety(img, decision, found, safety=safety, threshold=threshold, size=(width, height),
                          settings=settings, state=state, notes=result.notes)
            if img is None:
                continue
            if target is not None:
                meta = dict(meta_all, safety=decision.action) if metadata else None
                path, item.provenance = _write_marked(img, target, meta, suffix=plan.suffix, sign=sign,
                                                      watermark=watermark, settings=settings)
                item.path = str(path)
            result._pils[-1] = img

    if step_count:
        result.seconds_per_step = round(step_time / step_count, 4)
    result.seconds = round(time.perf_counter() - t_start, 3)
    return result
