"""Generation benchmark: seconds per denoising step and peak memory of an SD-Turbo-class model
(the real Stable Diffusion 2.1 UNet, VAE and OpenCLIP-H text encoder architectures, random
weights built from their configs: nothing is downloaded) at 512x512, through ``ocula.generate``
next to a bare diffusers pipeline call on the same components.

    python bench/generate.py                 # CPU, 1 and 2 steps; table + bench/results/generate.json
    python bench/generate.py --device cuda   # on a GPU (float16), more steps

- bare: ``pipe(prompt, num_inference_steps=k, guidance_scale=0, generator=...)`` on the pipeline;
- ocula: ``generate(prompt, steps=k, guidance=0, safety="off")`` on the same pipeline object (put
  into ocula's model cache, so both run the same weights with the same CPU memory settings:
  attention slicing and VAE tiling), no file written; and once more with everything a user gets by
  default (PNG + recipe metadata + safety flag with the moderation extra), for information.
- seconds per step = t(2 steps) - t(1 step); fixed = t(1) - per step (text encoder + VAE decode).
  Wall and process CPU time are both recorded (CPU time is steadier on a shared machine).
- peak memory: resident memory sampled every 20 ms during the call, above the level before it.
- overhead = ocula / bare - 1 at the largest step count (target <= 5%).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_json  # noqa: E402

PROMPT = "a photograph of an astronaut riding a horse"

# Stable Diffusion 2.1 / SD-Turbo UNet (stabilityai/sd-turbo unet/config.json)
UNET_CONFIG = dict(
    sample_size=64, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    only_cross_attention=False, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    downsample_padding=1, mid_block_scale_factor=1, act_fn="silu", norm_num_groups=32, norm_eps=1e-5,
    cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
    upcast_attention=False, dual_cross_attention=False,
)
# the SD 2.x VAE (kl-f8)
VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, sample_size=768, layers_per_block=2, act_fn="silu",
    block_out_channels=(128, 256, 512, 512), norm_num_groups=32,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
)
# OpenCLIP ViT-H/14 text tower as transformers' CLIPTextModel (SD 2.x text_encoder/config.json)
TEXT_CONFIG = dict(
    vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
    max_position_embeddings=77, hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=512,
    bos_token_id=0, eos_token_id=1, pad_token_id=1,
)


def _tokenizer():
    """A byte-level CLIP tokenizer from a local vocabulary (speed does not depend on the vocabulary)."""
    from transformers import CLIPTokenizer

    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    chars = [chr(c) for c in cs]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars + [c + "</w>" for c in chars]:
        vocab.setdefault(c, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build_pipeline(device: str, dtype: str):
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**UNET_CONFIG)
    vae = AutoencoderKL(**VAE_CONFIG)
    text = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG))
    # SD-Turbo's scheduler: Euler, trailing timesteps
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                   timestep_spacing="trailing", prediction_type="epsilon", steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=_tokenizer(), scheduler=sched,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe = pipe.to(device, getattr(torch, dtype))
    n_unet = sum(p.numel() for p in unet.parameters())
    return pipe, n_unet


class _PeakRSS:
    """Resident memory above the level at entry, sampled in a thread (torch allocs bypass tracemalloc)."""

    def __init__(self, device: str):
        import psutil

        self.proc = psutil.Process()
        self.device = device
        self.peak = 0

    def __enter__(self):
        self.base = self.proc.memory_info().rss
        self.stop = threading.Event()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
            self.cuda_base = torch.cuda.memory_allocated()

        def watch():
            while not self.stop.wait(0.02):
                self.peak = max(self.peak, self.proc.memory_info().rss - self.base)

        self.t = threading.Thread(target=watch, daemon=True)
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss - self.base)
        self.mb = round(self.peak / 2**20)
        if self.device.startswith("cuda"):
            import torch

            self.mb = round((torch.cuda.max_memory_allocated() - self.cuda_base) / 2**20)
        return False


def _timed(fn, device: str) -> dict:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    with _PeakRSS(device) as mem:
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_mb": mem.mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, nargs="+", default=None, help="step counts (default 1 2 on CPU, 1 4 on GPU)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()

    import torch

    from ocula import backends
    from ocula.backends import diffusion as dif
    from ocula.config import load_settings
    from ocula.tasks.generate import generate

    torch.set_num_threads(args.threads)
    dtype = "float32" if args.device == "cpu" else "float16"
    steps = args.steps or ([1, 2] if args.device == "cpu" else [1, 4])
    settings = load_settings(threads=args.threads, device=args.device if args.device != "auto" else "cpu")

    t0 = time.perf_counter()
    pipe, n_unet = build_pipeline(args.device, dtype)
    pipe = dif._prepare(pipe, args.device)
    build_s = time.perf_counter() - t0
    print(f"built SD-Turbo-class pipeline (UNet {n_unet / 1e6:.0f} M parameters, {dtype}) in {build_s:.0f}s",
          file=sys.stderr)

    folder = Path(tempfile.mkdtemp(prefix="ocula-bench-sd-turbo-"))
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    ref = dif.resolve_model(folder, "text2img", settings)
    backends.cached_model(("diffusion", str(ref.path), args.device, dtype, "base"), lambda: pipe)
    size = f"{args.size}x{args.size}"

    def bare(k: int):
        gen = torch.Generator(args.device).manual_seed(0)
        with torch.inference_mode():
            pipe(PROMPT, num_inference_steps=k, guidance_scale=0.0, width=args.size, height=args.size,
                 generator=gen)

    def ours(k: int, **extra):
        generate(PROMPT, model=folder, steps=k, guidance=0.0, size=size, seed=0, device=args.device,
                 dtype=dtype, settings=settings, **({"safety": "off"} | extra))

    # warm-up at one step (first-call allocations, kernel selection) on both paths
    bare(1)
    ours(1)
    rows = []
    for k in steps:
        for name, fn in (("bare diffusers", lambda k=k: bare(k)), ("ocula.generate", lambda k=k: ours(k))):
            r = _timed(fn, args.device)
            rows.append({"path": name, "steps": k, **r})
            print(f"  {name:15s} {k} step(s): {r['wall_s']:.1f}s wall, {r['cpu_s']:.1f}s CPU, +{r['peak_mb']} MB",
                  file=sys.stderr)
    out = Path(tempfile.mkdtemp(prefix="ocula-bench-out-"))
    r = _timed(lambda: ours(steps[0], safety="flag", out_dir=out), args.device)
    rows.append({"path": "ocula.generate (PNG + metadata + safety flag)", "steps": steps[0], **r})

    def get(path: str, k: int, key: str) -> float:
        return next(x[key] for x in rows if x["path"] == path and x["steps"] == k)

    lo, hi = steps[0], steps[-1]
    summary = {}
    for path in ("bare diffusers", "ocula.generate"):
        for key in ("wall_s", "cpu_s"):
            per = (get(path, hi, key) - get(path, lo, key)) / (hi - lo)
            summary[f"{path} s/step ({key[:-2]})"] = round(per, 3)
            summary[f"{path} fixed s ({key[:-2]})"] = round(get(path, lo, key) - lo * per, 3)
    for key in ("wall_s", "cpu_s"):
        summary[f"overhead at {hi} steps ({key[:-2]})"] = round(get("ocula.generate", hi, key)
                                                                 / get("bare diffusers", hi, key) - 1, 4)
    print(table(rows, ["path", "steps", "wall_s", "cpu_s", "peak_mb"]))
    print()
    for k, v in summary.items():
        print(f"{k:45s} {v}")
    path = write_json("generate", {
        "what": f"SD-Turbo-class pipeline (SD 2.1 UNet {n_unet / 1e6:.0f} M params, random weights), "
                f"{args.size}x{args.size}, guidance 0, {dtype} on {args.device}, {args.threads} threads",
        "device": args.device, "dtype": dtype, "threads": args.threads, "build_s": round(build_s, 1),
        "rows": rows, "summary": summary, "target_overhead": 0.05,
        "note": "both paths share one pipeline object with ocula's CPU settings (attention slicing, VAE tiling); "
                "model loading from disk is not measured (random weights are built in memory)",
    })
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
