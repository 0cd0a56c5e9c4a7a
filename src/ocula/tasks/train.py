"""train: a classifier of your own from labelled folders, on EfficientNet-Lite0 features.

``train_classifier(DATA_DIR, MODEL_DIR)`` reads one folder per class (or a CSV path,label),
embeds the images once (cached in MODEL_DIR/cache), trains a head (linear probe by default;
``finetune`` also adapts the last blocks; ``fewshot`` takes class prototypes), evaluates it on
a held-out split and exports ONNX fp32 + int8. ``ocula classify --model MODEL_DIR`` then runs
it on onnxruntime alone.

MODEL_DIR afterwards: model.json (classes, files, metrics), model.onnx, model.int8.onnx,
head.npz, report/{eval.json, confusion.png, misclassified.html}, checkpoints/, cache/.

Not shipped: semi-supervised pseudo-labelling of an unlabelled folder (confident predictions,
p >= 0.9, at most as many per class as labelled, added to the training set). On MNIST digits
with 10 labelled per class and 1000 unlabelled it used 39 pseudo-labels and held-out accuracy
went from 0.785 to 0.76 (torch) / 0.79 to 0.765 (int8): it did not help, so it is not offered.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..output import replace_file
from ..results import ClassMetrics, Failure, TrainReport

MODES = ("linear", "finetune", "fewshot")
DEFAULT_EPOCHS = {"linear": 100, "finetune": 8, "fewshot": 0}
AUGMENT_VIEWS = 2          # augmented copies per training image for the linear probe
CALIBRATION_IMAGES = 48    # training images used to calibrate int8 activations
FORMAT_VERSION = 1
Progress = Callable[[str, int, int, dict], None]


def _check(mode: str, augment: str, val_split: float, epochs: int | None, seed: int) -> None:
    from ..train.augment import AUGMENTS

    if mode not in MODES:
        raise InvalidArgument(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if augment not in AUGMENTS:
        raise InvalidArgument(f"augment must be one of {', '.join(AUGMENTS)}, got {augment!r}")
    if not isinstance(val_split, (int, float)) or not 0 <= val_split < 1:
        raise InvalidArgument(f"val_split must be a fraction in [0, 1), got {val_split!r}")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 10000):
        raise InvalidArgument(f"epochs must be a whole number from 1 to 10000, got {epochs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed must be a whole number >= 0, got {seed!r}")


def _prepare_out(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidArgument(f"{out_dir} exists and is not a folder: choose another -o MODEL_DIR")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise InvalidArgument(f"cannot write to {out_dir}: {e.strerror or e}") from None


def _fingerprint(**parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _load_all(paths, settings: Settings) -> list:
    from ..train.features import load_rgb

    return [load_rgb(Path(p), settings) for p in paths]


def _preprocessed(images) -> np.ndarray:
    from ..backends.efficientnet import preprocess

    return np.stack([preprocess(im) for im in images]) if images else np.zeros((0, 3, 224, 224), np.float32)


def train_classifier(data_dir: str | Path, out_dir: str | Path, *, val_split: float = 0.2,
                     epochs: int | None = None, mode: Literal["linear", "finetune", "fewshot"] = "linear",
                     augment: str = "none", seed: int = 0, resume: bool = True, progress: Progress | None = None,
                     settings: Settings | None = None) -> TrainReport:
    """Train, evaluate and export a classifier; returns the report (also in MODEL_DIR)."""
    import torch

    from ..train import data, evaluate, export, fewshot, linear
    from ..train.features import extract

    _check(mode, augment, val_split, epochs, seed)
    settings = settings or get_settings()
    out = Path(out_dir).expanduser()
    _prepare_out(out)
    n_epochs = epochs if epochs is not None else DEFAULT_EPOCHS[mode]
    warnings: list[str] = []
    if mode == "fewshot" and epochs is not None:
        warnings.append("fewshot has no epochs: --epochs ignored")
    if mode == "fewshot" and augment != "none":
        warnings.append("fewshot uses the images as they are: --augment ignored")
        augment = "none"

    ds = data.load_dataset(data_dir)
    warnings += ds.warnings
    skipped = ds.skipped
    cache_dir = out / "cache"
    t0 = time.perf_counter()
    feats, bad = extract(ds.paths, cache_dir, settings=settings, progress=progress)
    ds = ds.drop(bad)
    feats = np.delete(feats, sorted(bad), axis=0) if bad else feats
    # a class whose every image was unreadable is left out, like an empty folder
    counts = ds.counts()
    if (counts == 0).any():
        gone = [c for c, n in zip(ds.classes, counts) if n == 0]
        warnings.append(f"no readable images in class(es) {', '.join(gone)}: left out")
        kept = [c for c, n in zip(ds.classes, counts) if n > 0]
        if len(kept) < 2:
            raise InvalidArgument(f"only {len(kept)} class(es) with readable images in {data_dir}; "
                                  "a classifier needs at least two (see the skipped files above)")
        remap = {ds.classes.index(c): i for i, c in enumerate(kept)}
        ds = data.Dataset(ds.paths, np.array([remap[v] for v in ds.labels], np.int64), kept, ds.skipped, ds.warnings)
    feature_seconds = time.perf_counter() - t0
    classes, k = ds.classes, len(ds.classes)

    idx_all = np.arange(len(ds.paths))
    tr_ds, va_ds = data.split(data.Dataset(list(idx_all), ds.labels, classes), val_split, seed)
    tr, va = np.array(tr_ds.paths, np.int64), np.array(va_ds.paths, np.int64)
    y_tr, y_va = ds.labels[tr], ds.labels[va]
    x_tr, x_va = feats[tr], feats[va]
    if mode == "fewshot":
        small = [c for c, n in zip(classes, np.bincount(y_tr, minlength=k)) if n < fewshot.MIN_PER_CLASS]
        if small:
            raise InvalidArgument(f"fewshot needs at least {fewshot.MIN_PER_CLASS} training images per class; "
                                  f"too few in {', '.join(small)} (add images or lower --val-split)")
    if not len(va):
        warnings.append("no validation images (--val-split 0 or one image per class): no accuracy measured, "
                        "no early stopping")
    class_w = data.class_weights(y_tr, k)
    torch.manual_seed(seed)
    fp = _fingerprint(paths=[str(p) for p in ds.paths], labels=ds.labels.tolist(), classes=classes, mode=mode,
                      augment=augment, seed=seed, epochs=n_epochs, val_split=val_split, version=FORMAT_VERSION)
    ck_dir = out / "checkpoints"

    t1 = time.perf_counter()
    hist = None
    backbone = None
    train_images: list | None = None
    if mode == "fewshot":
        W, b, _scale = fewshot.fit(x_tr, y_tr, k, x_va, y_va)
    else:
        x_fit, t_fit = x_tr, np.eye(k, dtype=np.float32)[y_tr]
        if augment != "none":
            from ..train import augment as aug
            from ..train.features import embed

            train_images = _load_all([ds.paths[i] for i in tr], settings)
            for view in range(AUGMENT_VIEWS):
                pil, tv = aug.views(train_images, y_tr, k, augment, np.random.default_rng([seed, 1000 + view]))
                x_fit = np.concatenate([x_fit, embed(pil, settings=settings)])
                t_fit = np.concatenate([t_fit, tv])
                if progress:
                    progress("augment", view + 1, AUGMENT_VIEWS, {})
        W, b, hist = linear.train_head(x_fit, t_fit, x_va, y_va, class_w, epochs=n_epochs if mode == "linear"
                                       else DEFAULT_EPOCHS["linear"], seed=seed,
                                       checkpoint=ck_dir / "linear.pt", fingerprint=fp, progress=progress,
                                       resume=resume)
        if mode == "finetune":
            from ..backends import efficientnet
            from ..train.finetune import finetune

            if train_images is None:
                train_images = _load_all([ds.paths[i] for i in tr], settings)
            val_x = _preprocessed(_load_all([ds.paths[i] for i in va], settings)) if len(va) else None
            backbone, W, b, hist = finetune(efficientnet.load(settings), lambda epoch: train_images, y_tr, val_x, y_va,
                                            W, b, class_w, epochs=n_epochs, seed=seed, augment_kind=augment,
                                            checkpoint=ck_dir / "finetune.pt", fingerprint=fp, progress=progress,
                                            resume=resume)
    train_seconds = time.perf_counter() - t1
    np.savez(out / "head.npz", W=W, b=b, classes=np.array(classes))

    # --- export -----------------------------------------------------------------------------
    import copy

    from ..backends import efficientnet

    t2 = time.perf_counter()
    if progress:
        progress("export", 0, 2, {})
    if backbone is None:
        backbone = copy.deepcopy(efficientnet.load(settings))
    module = export.classifier_module(backbone, W, b)
    export.export_onnx(module, out / "model.onnx")
    rng = np.random.default_rng([seed, 7])
    calib_idx = tr[rng.permutation(len(tr))[:CALIBRATION_IMAGES]]
    calib = _preprocessed(_load_all([ds.paths[i] for i in calib_idx], settings))
    x_val_img = _preprocessed(_load_all([ds.paths[i] for i in va], settings)) if len(va) else None
    int8_fp32_blocks, agree = export.quantize_guarded(out / "model.onnx", out / "model.int8.onnx", calib, x_val_img,
                                                      settings.threads)
    if agree is not None and agree < export.MIN_AGREEMENT:
        warnings.append(f"int8 agrees with fp32 on only {agree:.1%} of validation images (the best found, with "
                        f"{int8_fp32_blocks} early blocks in fp32): use model.onnx where every prediction matters")
    elif int8_fp32_blocks:
        warnings.append(f"int8: stem and first {int8_fp32_blocks} blocks kept in fp32 so that int8 agrees with "
                        f"fp32 on >= {export.MIN_AGREEMENT:.0%} of validation images (slower than all-int8)")
    if progress:
        progress("export", 2, 2, {})
    export_seconds = time.perf_counter() - t2

    # --- evaluation ---------------------------------------------------------------------------
    report_dir = out / "report"
    metrics = None
    onnx_acc = int8_acc = agreement = None
    if len(va):
        if mode == "finetune":
            with torch.no_grad():
                logits = torch.cat([module(torch.from_numpy(x_val_img[s:s + 32]))
                                    for s in range(0, len(x_val_img), 32)]).numpy()
        else:
            logits = x_va @ W.T + b
        probs = evaluate.softmax(logits)
        threads = settings.threads
        fp32_logits = export.run_logits(export.session(out / "model.onnx", threads), x_val_img)
        int8_logits = export.run_logits(export.session(out / "model.int8.onnx", threads), x_val_img)
        onnx_acc = float((fp32_logits.argmax(1) == y_va).mean())
        int8_acc = float((int8_logits.argmax(1) == y_va).mean())
        agreement = float((fp32_logits.argmax(1) == int8_logits.argmax(1)).mean())
        metrics = evaluate.write_report(report_dir, [str(ds.paths[i]) for i in va], y_va, probs, classes,
                                        {"onnx_fp32_accuracy": onnx_acc, "onnx_int8_accuracy": int8_acc,
                                         "int8_agreement_with_fp32": agreement, "int8_fp32_blocks": int8_fp32_blocks,
                                         "int8_ece": evaluate.ece(evaluate.softmax(int8_logits), y_va)})

    files = {"manifest": str(out / "model.json"), "onnx": str(out / "model.onnx"),
             "onnx_int8": str(out / "model.int8.onnx"), "head": str(out / "head.npz")}
    if metrics is not None:
        files.update(report_json=str(report_dir / "eval.json"), confusion_png=str(report_dir / "confusion.png"),
                     misclassified_html=str(report_dir / "misclassified.html"))
    report = TrainReport(
        model_dir=str(out), mode=mode, augment=augment, seed=seed, classes=classes,
        train_counts=np.bincount(y_tr, minlength=k).tolist(), val_counts=np.bincount(y_va, minlength=k).tolist(),
        skipped=[Failure(source=s, error=e, kind="Skipped") for s, e in skipped], warnings=warnings,
        epochs_run=len(hist.epochs) if hist else 0, best_epoch=hist.best_epoch if hist else 0,
        stopped_early=hist.stopped_early if hist else False, resumed_from=hist.resumed_from if hist else None,
        history=hist.epochs if hist else [],
        accuracy=metrics["accuracy"] if metrics else None, macro_f1=metrics["macro_f1"] if metrics else None,
        ece=metrics["ece"] if metrics else None,
        per_class=[ClassMetrics(**m) for m in metrics["per_class"]] if metrics else [],
        confusion=metrics["confusion"] if metrics else [], onnx_opset=export.OPSET, onnx_accuracy=onnx_acc,
        int8_accuracy=int8_acc, int8_agreement=agreement, int8_fp32_blocks=int8_fp32_blocks, files=files, feature_seconds=round(feature_seconds, 3),
        train_seconds=round(train_seconds, 3), export_seconds=round(export_seconds, 3))
    from ..backends.classifier_onnx import FORMAT, MANIFEST

    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "name": out.resolve().name, "classes": classes,
                "backbone": efficientnet.NAME, "mode": mode, "onnx": "model.onnx", "onnx_int8": "model.int8.onnx",
                "opset": export.OPSET, "int8_fp32_blocks": int8_fp32_blocks, "input": {"name": export.INPUT, "shape": [None, 3, 224, 224],
                                                 "scaling": "(pixel - 127) / 128, RGB, centre crop 224/256"},
                "output": export.OUTPUT, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "metrics": {"accuracy": report.accuracy, "int8_accuracy": int8_acc, "int8_agreement": agreement,
                            "ece": report.ece}}
    replace_file(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    replace_file(out / "train_report.json", report.model_dump_json(indent=2))
    return report


