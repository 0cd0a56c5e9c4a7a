"""Settings in one place: defaults < config file < environment (OCULA_*).

The config file is TOML at $OCULA_CONFIG or $OCULA_HOME/config.toml, with the same
keys as the fields below (e.g. ``max_pixels = 50_000_000``).
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from .errors import OculaError


def _default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class Settings(BaseModel):
    home: Path = Field(default_factory=lambda: Path.home() / ".ocula",
                       description="where ocula keeps indexes, caches and its config file")
    offline: bool = Field(False, description="never touch the network (also set by HF_HUB_OFFLINE=1)")
    max_bytes: int = Field(200 * 1024 * 1024, gt=0, description="largest input file accepted")
    max_pixels: int = Field(100_000_000, gt=0,
                            description="largest width*height decoded (decompression bomb guard)")
    max_frames: int = Field(10_000, gt=0, description="largest frame count of an animation")
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1, mps")
    threads: int = Field(default_factory=_default_threads, ge=1, description="threads per model")
    jobs: int | None = Field(None, ge=1, description="images worked on at once in batch commands (analyze, "
                                                     "describe, index); default: one per core, at most 4")
    classifier: str = Field("efficientnet-lite0", description="default classification model")
    face_detector: str = Field("auto", description="auto, mtcnn or haar-frontalface")
    people: bool = Field(True, description="face recognition (embeddings, people); false skips all of it")
    ocr_engine: str = Field("rapidocr", description="rapidocr or tesseract")
    llm_url: str = Field("http://127.0.0.1:11434/v1",
                         description="OpenAI-compatible endpoint for the llm/vlm writers (Ollama's default)")
    llm_model: str = Field("llama3.2", description="model name sent to the LLM server")
    llm_api_key: str | None = Field(None, description="bearer token for the LLM server (else OPENAI_API_KEY)")
    llm_timeout: float = Field(60.0, gt=0, description="seconds per LLM request")
    vlm_model: str = Field("llava", description="vision model name for the vlm writer")
    captioner: str = Field("blip-base", description="hub captioning model for the captioner writer")
    clip_model: str = Field("auto", description="image-text embedding for search: auto, off, a catalogue name or a folder")
    clip_text_model: str = Field("clip-multilingual-text", description="multilingual text tower for labels that "
                                 "are not English (zero-shot classify): a catalogue name or a folder")
    detector: str = Field("rtdetr-r50", description="COCO object detector (detect, analyze): a catalogue name or a folder")
    finder: str = Field("owlv2-base", description="open-vocabulary detector (detect --find): a catalogue name or a folder")
    vqa_model: str = Field("blip-vqa-base", description="hub question-answering model (ask): a catalogue name or a folder")
    index_place: bool = Field(True, description="the index keeps where photos were taken (place names from GPS, "
                                                "no coordinates); off: the next index run forgets them")
    index_gps: bool = Field(True, description="the index keeps GPS coordinates (for --near and moments); off: "
                                              "the next index run forgets them")
    raw_decode: Literal["auto", "preview", "demosaic"] = Field(
        "auto", description="RAW files: auto (the embedded JPEG preview when it is large enough, else demosaic), "
                            "preview (whatever its size), demosaic (always; slow)")
    video_every: float = Field(10.0, gt=0, description="seconds between the keyframes taken from a video when "
                                                       "its scene does not change")
    video_max_frames: int = Field(30, ge=1, le=1000, description="most keyframes taken from one video")
    video_timeout: float = Field(60.0, gt=0, description="most seconds spent decoding one video")
    db: str | None = Field(None, description="the search index: a file or a postgresql:// URL (default: home/index.db)")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        v = v.strip().lower()
        if not (v == "cpu" or v == "mps" or v.startswith("cuda")):
            raise ValueError("device must be cpu, cuda, cuda:N or mps")
        return v


_ENV = {
    "home": "OCULA_HOME", "offline": "OCULA_OFFLINE", "max_bytes": "OCULA_MAX_BYTES",
    "max_pixels": "OCULA_MAX_PIXELS", "max_frames": "OCULA_MAX_FRAMES", "device": "OCULA_DEVICE",
    "threads": "OCULA_THREADS", "jobs": "OCULA_JOBS", "classifier": "OCULA_CLASSIFIER",
    "face_detector": "OCULA_FACE_DETECTOR", "ocr_engine": "OCULA_OCR_ENGINE",
    "llm_url": "OCULA_LLM_URL", "llm_model": "OCULA_LLM_MODEL", "llm_api_key": "OCULA_LLM_API_KEY",
    "llm_timeout": "OCULA_LLM_TIMEOUT", "vlm_model": "OCULA_VLM_MODEL", "captioner": "OCULA_CAPTIONER",
    "clip_model": "OCULA_CLIP_MODEL", "people": "OCULA_PEOPLE", "clip_text_model": "OCULA_CLIP_TEXT_MODEL",
    "detector": "OCULA_DETECTOR", "finder": "OCULA_FINDER", "vqa_model": "OCULA_VQA_MODEL",
    "index_place": "OCULA_INDEX_PLACE", "index_gps": "OCULA_INDEX_GPS", "raw_decode": "OCULA_RAW_DECODE",
    "video_every": "OCULA_VIDEO_EVERY", "video_max_frames": "OCULA_VIDEO_MAX_FRAMES",
    "video_timeout": "OCULA_VIDEO_TIMEOUT", "db": "OCULA_DB",
}
_TRUE = {"1", "true", "yes", "on"}


def _config_file(env: dict[str, str]) -> Path | None:
    if env.get("OCULA_CONFIG"):
        return Path(env["OCULA_CONFIG"]).expanduser()
    home = Path(env.get("OCULA_HOME") or Path.home() / ".ocula").expanduser()
    p = home / "config.toml"
    return p if p.is_file() else None


def load_settings(env: dict[str, str] | None = None, **overrides) -> Settings:
    """Build settings from the config file, the environment and explicit overrides."""
    env = dict(os.environ if env is None else env)
    values: dict = {}
    path = _config_file(env)
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise OculaError(f"config file {path} does not exist (set by OCULA_CONFIG)") from None
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise OculaError(f"config file {path} could not be read: {e}") from None
        unknown = set(values) - set(Settings.model_fields)
        if unknown:
            raise OculaError(f"config file {path}: unknown keys {sorted(unknown)}; "
                             f"valid keys: {', '.join(Settings.model_fields)}")
    for field, var in _ENV.items():
        if env.get(var, "") != "":
            values[field] = env[var]
    if env.get("HF_HUB_OFFLINE", "").lower() in _TRUE:
        values["offline"] = True
    if isinstance(values.get("offline"), str):
        values["offline"] = values["offline"].strip().lower() in _TRUE
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        src = _ENV.get(field, field)
        raise OculaError(f"bad setting {src}={values.get(field)!r}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
