"""The task table: every task ocula has, in one place.

Each entry names the task, its module and entry function, its options (the keyword arguments
the shells expose, with their bounds and help), its result type, whether ``analyze`` runs it as
a step, and how it appears in the command line and the HTTP API. The Python API
(``ocula.__all__``), the CLI (``ocula --help``), the HTTP routes (``/api/v1/...`` and the
OpenAPI document) and ``analyze`` all read this table, so a new task is one module, one entry
here and its tests. Models a task can run are not listed here: they are catalogue entries
(``ocula.models.catalog``), each naming its backend.

Shells: ``cli=AUTO`` / ``route=AUTO`` build the command or route from the options (an image
or folder in, the typed result out; a task whose result is an image edit gets ``-o`` and the
output handling of ``ocula.cli.common`` / ``serve.routes``). A string ``"module:function"``
names a hand-made shell instead: a typer command function for the CLI, a ``fn(router, task)``
that adds the routes for HTTP. ``None``: not offered there.

This module is data and imports nothing heavy: ``ocula --help`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..vocabulary import LENGTHS, PURPOSES, PURPOSES_HELP, TONES

AUTO = "auto"


@dataclass(frozen=True)
class Option:
    """One keyword argument of a task's entry function, as every shell offers it."""

    name: str
    type: type = str                 # str, int, float, bool, list (comma-separated in the shells)
    default: Any = None
    help: str = ""
    flags: tuple[str, ...] = ()      # CLI flags; default --name-with-dashes (bool: --x/--no-x when default True)
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    choices: tuple[str, ...] | None = None
    max_length: int | None = None
    aliases: tuple[str, ...] = ()    # old names still accepted (deprecated), in every shell
    server: dict[str, Any] = field(default_factory=dict)  # what the HTTP API sets otherwise (e.g. {"le": 50}, {"default": True})
    cli: bool = True
    http: bool = True

    @property
    def cli_flags(self) -> tuple[str, ...]:
        if self.flags:
            return self.flags
        flag = "--" + self.name.replace("_", "-")
        if self.type is bool and self.default is True:
            return (f"{flag}/--no-{self.name.replace('_', '-')}",)
        return (flag,)


@dataclass(frozen=True)
class Task:
    """A task: one module, one entry function, one typed result."""

    name: str
    summary: str
    result: str                      # a class of ocula.results, or "module:Class"
    options: tuple[Option, ...] = ()
    module: str = ""                 # default: ocula.tasks.<name>
    function: str = ""               # default: the name (dashes -> underscores)
    many: str | None = None          # a batch function in the module: (input, result) pairs in input order
    exports: tuple[str, ...] = ()    # more public names from the module
    group: str = "recognize"         # CLI help panel and OpenAPI tag
    step: str | None = None          # the Analysis field it fills when analyze runs it
    step_fields: tuple[tuple[str, str], ...] = ()  # (Analysis field, result attribute) when not the whole result
    requires: str | None = None      # a module whose absence keeps the step out of analyze's defaults
    cli: str | None = AUTO
    cli_name: str = ""               # default: the name; "a b" puts command b in group a
    route: str | None = AUTO
    image: str = "required"          # HTTP: "required", "optional" or "none"
    writes_image: bool = False       # the result is an image edit (output file, sign, watermark)

    @property
    def module_name(self) -> str:
        return self.module or f"ocula.tasks.{self.name.replace('-', '_')}"

    @property
    def function_name(self) -> str:
        return self.function or self.name.replace("-", "_")

    @property
    def command(self) -> str:
        return self.cli_name or self.name

    @property
    def public_names(self) -> tuple[str, ...]:
        return (self.function_name, *((self.many,) if self.many else ()), *self.exports)

    def load(self) -> Any:
        """The entry function (imports the task's module)."""
        from importlib import import_module

        return getattr(import_module(self.module_name), self.function_name)

    def load_many(self) -> Any:
        from importlib import import_module

        return getattr(import_module(self.module_name), self.many) if self.many else None

    def result_type(self) -> type:
        from importlib import import_module

        module, _, name = self.result.rpartition(":")
        return getattr(import_module(module or "ocula.results"), name)

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)


# --- shared options -----------------------------------------------------------------------

def _top_k(help: str = "How many labels to return.") -> Option:
    return Option("top_k", int, 5, help, flags=("--top-k", "-k"), ge=1, le=1000, server={"le": 50})


STEPS_HELP = ("Analyze steps to run (default: all installed): classify (or labels), ocr (or text), faces, colors, "
              "quality, metadata, moderate (or moderation).")
MIN_SCORE_HELP = "Drop results scored below this (0..1)."
PLACE_HELP = ("Name the place the GPS points at (city, region, country in English and Chinese), offline, "
              "without the coordinates.")
LABELS = Option("labels", list, None, "Score these words instead of ImageNet's classes (zero-shot, CLIP/SigLIP): "
                "'kitchen, beach, 猫, receipt'.", max_length=1000)
LABELS_FILE = Option("labels_file", str, None, "A file of labels to score, one per line.", http=False)
MAX_FIND = 50
FIND = Option("find", list, None, "English words of what to find: 'red car, person with umbrella' "
              "(open-vocabulary detection).", max_length=MAX_FIND)
ENHANCE = "enhance"
# every task that writes an image marks it the same way (provenance/marking.py); the hand-made
# commands declare these flags themselves
MARKS = (
    Option("sign", bool, False, "Sign the output with C2PA content credentials recording what was done "
           "(the server's certificate: OCULA_C2PA_CERT/KEY, else its development certificate).", cli=False),
    Option("watermark", str, None, "Embed this text as an invisible watermark in the output.", max_length=200,
           cli=False),
)
PROVENANCE = "provenance"
PRODUCT = "product"
PEOPLE = "people"


def _db() -> Option:
    return Option("db", str, None, "Index file (default: OCULA_HOME/index.db).", http=False)


_TASKS: list[Task] = [
    # --- recognize -------------------------------------------------------------------
    Task("analyze", "All facts about each image in one pass: labels, text, faces, colours, quality, metadata.",
         "Analysis", many="analyze_many", exports=("default_steps",), options=(
             Option("steps", list, None, STEPS_HELP),
             _top_k("Labels per image."),
             Option("gps", bool, False, "Include GPS coordinates from EXIF (private: off by default)."),
             Option("place", bool, False, PLACE_HELP, server={"default": True}),
             LABELS, LABELS_FILE,
             Option("jobs", int, None, "Images decoded in parallel (OCULA_JOBS).", flags=("--jobs", "-j"), ge=1,
                    http=False),
         )),
    Task("classify", "What is in the picture: ImageNet labels in English and Chinese, with a coarse category.",
         "Classification", step="labels", step_fields=(("labels", "labels"), ("classifier", "model")),
         exports=("classify_batch",), options=(
             _top_k(),
             Option("model", str, None, "A registered classifier, or a MODEL_DIR from `ocula train classifier` "
                    "(with --labels: the CLIP/SigLIP model).", flags=("--model", "-m"), max_length=500),
             LABELS, LABELS_FILE,
         )),
    Task("ocr", "Read the text in the picture (Chinese and English), line by line in reading order.",
         "OCRResult", step="text", options=(
             Option("model", str, None, "OCR model: rapidocr (PP-OCRv4, default) or tesseract.",
                    flags=("--model", "-m"), aliases=("engine",), max_length=100),
             Option("language", str, "auto", "auto, en or zh (picks Tesseract's language data).",
                    flags=("--language", "-l"), choices=("auto", "en", "zh")),
             Option("min_score", float, 0.5, "Drop lines read with less confidence (0..1).", ge=0, le=1,
                    aliases=("min_confidence",)),
         )),
    Task("faces", "Find faces: boxes, scores and five landmarks (MTCNN).", "FacesResult", step="faces", options=(
        Option("model", str, None, "Face detector: mtcnn or haar-frontalface (default: best installed).",
               flags=("--model", "-m"), max_length=100),
        Option("min_score", float, 0.9, MIN_SCORE_HELP, ge=0, le=1),
        Option("min_size", int, 20, "Smallest face side sought, in pixels of the full image.", ge=1,
               server={"le": 10000}),
    )),
    # people (issue 15): the recognition core, offered in Python; the commands are the people tasks below
    Task("face-embeddings", "Faces with 128-d embeddings (dlib ResNet) and a quality score, to tell who is pictured.",
         "FaceEmbeddingsResult", many="face_embeddings_many", cli=None, route=None, options=(
             Option("detector", str, None, "Face detector: mtcnn or haar-frontalface (default: best installed).",
                    max_length=100),
             Option("min_score", float, 0.9, MIN_SCORE_HELP, ge=0, le=1),
             Option("min_size", int, 20, "Smallest face side sought, in pixels of the full image.", ge=1,
                    server={"le": 10000}),
         )),
    Task("colors", "Dominant colours with their share of the picture and names in English and Chinese.",
         "ColorsResult", step="colors", options=(
             Option("count", int, 5, "How many dominant colours.", flags=("--count", "-n"), ge=1, le=16),
         )),
    Task("quality", "Technical quality: sharpness, exposure, contrast, noise, BRISQUE, resolution, a verdict.",
         "QualityResult", step="quality", options=(
             Option("brisque", bool, True, "Also compute BRISQUE (slower)."),
         )),
    Task("metadata", "Camera, lens, time (and, asked, the place) from EXIF.", "MetadataResult", step="metadata",
         options=(Option("gps", bool, False, "Include GPS coordinates (private: off by default)."),
                  Option("place", bool, False, PLACE_HELP, server={"default": True}))),
    Task("moderate", "NSFW scores (NudeNet; optional extra `pip install 'ocula[moderation]'`, AGPL-3.0).",
         "ModerationResult", step="moderation", requires="nudenet", options=(
             Option("threshold", float, 0.5, "Score that counts as unsafe.", gt=0, le=1),
         )),
    Task("detect", "Objects with boxes: the 80 COCO classes (RT-DETR), or with --find whatever the words "
                   "describe (OWLv2).", "DetectResult", step="objects", requires="model:detect",
         cli="ocula.cli.words:detect", options=(
             FIND,
             Option("model", str, None, "Detector: a catalogue name (rtdetr-r50; owlv2-base with --find) or a folder.",
                    flags=("--model", "-m"), max_length=500),
             Option("min_score", float, None, "Drop boxes scored below this (default 0.5; 0.2 with --find).", ge=0,
                    le=1),
         )),
    Task("ask", "Answer a question about an image: a vision model (server or hub), grounded in the facts.",
         "Answer", cli="ocula.cli.words:ask", options=(
             Option("question", str, None, "The question, in English or Chinese.", max_length=2000),
             Option("model", str, "auto", "auto (vlm, then vqa, then facts), vlm (the OpenAI-compatible server), "
                    "vqa (a hub model: blip-vqa-base) or facts (answers from the analysis alone).",
                    flags=("--model", "-m"), max_length=500),
             Option("steps", list, None, STEPS_HELP),
         )),
    # --- write -----------------------------------------------------------------------
    Task("describe", "Write text from images: alt text, captions, product copy, social posts, news captions, "
                     "travel posts, keywords.", "Description", group="write", many="describe_many",
         cli="ocula.cli.describe:describe", route="ocula.serve.routes.recognize:describe_route", image="optional",
         options=(
             Option("purpose", str, "alt", PURPOSES_HELP, choices=PURPOSES),
             Option("language", str, "en", "en or zh (zh-CN, 中文 ... accepted).", max_length=20),
             Option("length", str, "medium", "short, medium or long.", choices=LENGTHS),
             Option("tone", str, "neutral", "neutral, friendly, formal or playful.", choices=TONES),
             Option("context", str, None, "What the photo cannot show: names, place, date, product details.",
                    max_length=2000),
             Option("writer", str, "builtin", "builtin (offline), llm, vlm (OpenAI-compatible server) or captioner.",
                    max_length=100),
             Option("steps", list, None, STEPS_HELP),
             Option("place", bool, True, "Name where the photo was taken from its GPS (offline; no coordinates "
                    "in the text); --no-place keeps the [WHERE] placeholder."),
             Option("people", bool, True, "Name the people you named in the index when their faces are "
                    "recognised (OCULA_PEOPLE=0: nobody is)."),
             _db(),
         )),
    # --- search ----------------------------------------------------------------------
    Task("index", "Build or update a search index; only new or changed images are analysed.", "IndexReport",
         group="search", exports=("remove", "stats"), cli="ocula.cli.search:index",
         route="ocula.serve.routes.search:index_route", image="none", options=(
             Option("db", str, None, "Index file or postgresql:// URL (default: OCULA_DB, else OCULA_HOME/index.db).", http=False),
             Option("exclude", list, None, "Globs of names or paths to skip."),
             Option("hidden", bool, False, "Also index hidden files and folders."),
             Option("jobs", int, None, "Images decoded in parallel (OCULA_JOBS).", ge=1),
             Option("steps", list, None, STEPS_HELP),
             Option("batch_size", int, 8, "Images per committed batch.", ge=1),
             LABELS, LABELS_FILE,
             Option("people", bool, True, "Find faces and group them into people (OCULA_PEOPLE=0 or --no-people: "
                    "no face embedding is computed)."),
             Option("ray", str, None, "Run on a Ray cluster: auto, local or ray://HOST:PORT (SOURCE may then be a "
                    "list file or an s3:// / gs:// URL).", http=False),
         )),
    Task("search", "Search an index by words (English, Chinese, ...) or by an example image.", "SearchResult",
         group="search", exports=("search_image",), cli="ocula.cli.search:search",
         route="ocula.serve.routes.search:search_route", image="optional", options=(
             Option("db", str, None, "Index file or postgresql:// URL (default: OCULA_DB, else OCULA_HOME/index.db).", http=False),
             Option("top_k", int, 10, "How many results.", flags=("--top-k", "-k"), ge=1, le=1000,
                    server={"le": 200}),
             Option("has_text", bool, None, "Only images with (or without) text in them."),
             Option("faces", bool, None, "Only images with (or without) faces."),
             Option("min_quality", str, None, "good or acceptable.", choices=("poor", "acceptable", "good")),
             Option("folder", str, None, "Only images under this folder.", http=False),
             Option("after", str, None, "Taken on or after (2024, 2024-05, 2024-05-31).", max_length=32),
             Option("before", str, None, "Taken before this date.", max_length=32),
             Option("near", str, None, "Only photos taken near a place: a town or city ('Shanghai', '巴黎') or "
                    "LAT,LON.", max_length=200),
             Option("within_km", float, 20.0, "How near, in km (with near).", gt=0, le=20_000),
             Option("moment", str, None, "Only the photos of this moment (ids: ocula moments).", max_length=64),
             Option("person", str, None, "Only photos of this person (name, alias or id; matched exactly).",
                    max_length=200),
             Option("with_people", list, None, "Only photos showing all of these people.", flags=("--with",)),
         )),
    Task("moments", "Photos grouped into events (a trip, an afternoon) with titles in English and Chinese.",
         "MomentsResult", group="search", cli="ocula.cli.search:moments", route="ocula.serve.routes.search:moments_route",
         image="none", options=(
             Option("db", str, None, "Index file (default: OCULA_HOME/index.db).", http=False),
         )),
    Task("dupes", "Groups of exact and near-duplicate images (resized, recompressed, lightly cropped).",
         "DupesResult", group="search", cli="ocula.cli.search:dupes", route="ocula.serve.routes.search:dupes_route",
         image="none", options=(
             Option("db", str, None, "Index file or postgresql:// URL (default: OCULA_DB, else OCULA_HOME/index.db).", http=False),
             Option("threshold", int, 16, "Largest perceptual-hash difference (bits of 64) for near duplicates.",
                    flags=("--threshold", "-t"), ge=0, le=64),
             Option("min_similarity", float, 0.85, "Smallest image-embedding cosine for near duplicates.", ge=-1,
                    le=1),
         )),
    # --- enhance ---------------------------------------------------------------------
    Task("upscale", "Enlarge images 2-4x with Real-ESRGAN super-resolution (CPU, tiled, alpha kept).",
         "UpscaleResult", group=ENHANCE, writes_image=True, cli="ocula.cli.enhance:upscale",
         route="ocula.serve.routes.enhance:upscale_route", options=(
             Option("scale", int, 4, "2, 3 or 4.", flags=("--scale", "-s"), ge=2, le=4),
             Option("model", str, "realesrgan-x4plus", "realesrgan-x4plus (photos), realesr-animevideov3 (drawings; "
                    "~30x faster), lanczos (no model) or swin2sr-x4 (hub model).", flags=("--model", "-m")),
             Option("tile", int, 128, "Tile side in input pixels (0: whole image at once).", ge=0, le=1024),
             Option("tile_pad", int, 4, "Context overlap per tile side, blended.", ge=0, http=False),
             *MARKS,
         )),
    Task("denoise", "Remove noise (non-local means), its strength set from the noise measured in each image.",
         "DenoiseResult", group=ENHANCE, writes_image=True, cli="ocula.cli.enhance:denoise", options=(
             Option("strength", float, 1.0, "Multiplies the strength estimated from the measured noise.", gt=0,
                    le=5),
             Option("h", float, None, "Filter strength set by hand (overrides the estimate; 3-5 light, 10 strong).",
                    gt=0, le=100, http=False),
             *MARKS,
         )),
    Task("inpaint", "Fill a region (mask or box) from its surroundings: blemishes, wires, stamps.", "InpaintResult",
         group=ENHANCE, writes_image=True, cli="ocula.cli.enhance:inpaint",
         route="ocula.serve.routes.enhance:inpaint_route", options=(
             Option("mask", str, None, "Mask image the size of the picture: white (or opaque) = fill.", http=False),
             Option("box", str, None, "Region to fill as x,y,w,h in pixels.", max_length=64),
             Option("find", list, None, "Fill what these English words describe ('power lines'), found by detect.",
                    max_length=MAX_FIND),
             Option("method", str, "telea", "telea, ns (OpenCV, offline) or lama (hub model, for large regions).",
                    choices=("telea", "ns", "lama")),
             Option("radius", int, 5, "Neighbourhood used by telea/ns, pixels.", ge=1, le=50),
             Option("grow", int, 2, "Widen the mask by this many pixels.", ge=0, le=50),
             *MARKS,
         )),
    Task("restore", "Fix exposure, colour balance and contrast automatically; says what it changed.",
         "RestoreResult", group=ENHANCE, writes_image=True, cli="ocula.cli.enhance:restore", options=(
             Option("fixes", list, None, "Any of exposure, white-balance, contrast, clahe, or all "
                    "(default: contrast,exposure,clahe).", aliases=("steps",)),
             Option("white_balance", str, "grey-world", "grey-world or percentile (with the white-balance fix).",
                    choices=("grey-world", "percentile")),
             Option("force", bool, False, "Apply every chosen fix even when the measures say it is not needed.",
                    http=False),
             *MARKS,
         )),
    Task("blur-faces", "Privacy: blur (or pixelate) every face found; reports the regions hidden.",
         "BlurFacesResult", group=ENHANCE, writes_image=True, cli="ocula.cli.enhance:blur_faces", options=(
             Option("method", str, "blur", "blur or pixelate.", choices=("blur", "pixelate"), cli=False),
             Option("model", str, None, "Face detector: mtcnn or haar-frontalface.", http=False),
             Option("min_score", float, 0.9, "Hide faces detected with at least this score (lower hides more).",
                    ge=0, le=1),
             *MARKS,
         )),
    Task("redact", "Privacy: hide what words describe ('licence plate, screen'): blur, pixelate or fill each "
                   "region found.", "RedactResult", group=ENHANCE, writes_image=True, cli="ocula.cli.words:redact",
         options=(
             FIND,
             Option("method", str, "blur", "blur, pixelate or fill.", choices=("blur", "pixelate", "fill")),
             Option("model", str, None, "Open-vocabulary detector: a catalogue name (owlv2-base) or a folder.",
                    http=False),
             Option("min_score", float, None, "Hide regions found with at least this score (default 0.2).", ge=0,
                    le=1),
             Option("grow", float, 0.1, "Widen each box by this share of its sides.", ge=0, le=1),
             *MARKS,
         )),
    Task("strip", "Privacy: remove EXIF (GPS, camera, serials), XMP, IPTC and comments.", "StripResult",
         group=ENHANCE, writes_image=True, cli="ocula.cli.enhance:strip", route="ocula.serve.routes.enhance:strip_route",
         options=MARKS),
    # --- product photos (issue 19): background removal, subject-aware crops, listings --
    Task("cutout", "Remove the background (U²-Net-p, offline): the subject on transparency, white, a colour or a "
                   "blur.", "CutoutResult", group=PRODUCT, writes_image=True, cli="ocula.cli.product:cutout",
         route="ocula.serve.routes.product:cutout_route", options=(
             Option("background", str, "transparent", "transparent, white, #RRGGBB (or a colour name), blur, or an "
                    "image file (the HTTP API takes no file names).", flags=("--background", "-b"), max_length=500,
                    server={"max_length": 32}),
             Option("shadow", bool, False, "Add a soft contact shadow under the subject."),
             Option("mask_only", bool, False, "Write the matte itself (white = subject)."),
             Option("refine", str, "guided", "Edge refinement: guided (soft edges at full resolution) or none "
                    "(the network's mask).", choices=("guided", "none")),
             *MARKS,
         )),
    Task("crop", "Crop to an aspect ratio around the subject (its cut-out and whole heads), with a margin.",
         "CropResult", group=PRODUCT, writes_image=True, cli="ocula.cli.product:crop",
         route="ocula.serve.routes.product:crop_route", options=(
             Option("aspect", str, "1:1", "Width:height of the crop, e.g. 1:1, 4:5, 16:9.", flags=("--aspect", "-a"),
                    max_length=16),
             Option("margin", str, "8%", "Space around the subject on each side, as a share of the crop (0% to "
                    "40%).", flags=("--margin", "-m"), max_length=8),
             Option("size", int, None, "Longer side of the output in pixels (resampled with Lanczos).",
                    flags=("--size", "-s"), ge=16, le=20000),
             Option("faces", bool, True, "Find faces and keep heads whole."),
             *MARKS,
         )),
    Task("product", "A marketplace listing per photo: cut out, square on pure white, title, bullets and keywords "
                    "(en + zh).", "ProductResult", group=PRODUCT, writes_image=True, exports=("write_listing_csv",),
         cli="ocula.cli.product:product", route="ocula.serve.routes.product:product_route", options=(
             Option("size", int, 2000, "Side of the square listing photo in pixels.", flags=("--size", "-s"), ge=16,
                    le=20000, server={"le": 8000}),
             Option("margin", str, "7%", "White space on each side (7%: the product fills 86% of the frame).",
                    flags=("--margin", "-m"), max_length=8),
             Option("languages", list, None, "Languages of the copy (default en,zh).", flags=("--language", "-l")),
             Option("upscale", bool, True, "Enlarge a small product with Real-ESRGAN (slow on a CPU) rather than "
                    "Lanczos."),
             Option("upscale_model", str, "realesrgan-x4plus", "realesrgan-x4plus (photos) or realesr-animevideov3 "
                    "(~30x faster).", choices=("realesrgan-x4plus", "realesr-animevideov3")),
             Option("writer", str, "builtin", "Who writes title and bullets: builtin (offline), llm or vlm (see "
                    "describe).", max_length=100),
             *MARKS,
         )),
    # --- provenance ------------------------------------------------------------------
    Task("sign", "Sign a copy of an image with C2PA content credentials: signer, actions, parent.", "SignResult",
         group=PROVENANCE, cli="ocula.cli.provenance:sign", route=None),
    Task("verify", "Check content credentials (C2PA), invisible watermark and camera metadata together.",
         "VerifyResult", group=PROVENANCE, cli="ocula.cli.provenance:verify",
         route="ocula.serve.routes.provenance:verify_route", options=(
             Option("check_watermark", bool, True, "Also look for an invisible watermark.", aliases=("watermark",)),
             Option("watermark_method", str, "dwtDctSvd", "dwtDctSvd, rivaGan or all.",
                    choices=("dwtDctSvd", "rivaGan", "all")),
             Option("payload", str, None, "A watermark text to compare with.", aliases=("candidate",),
                    max_length=500),
             Option("check_metadata", bool, True, "Also read the camera metadata.", aliases=("metadata",)),
         )),
    Task("watermark", "Hide a payload in an image's pixels; it survives JPEG re-encoding (quality 75).",
         "WatermarkEmbedResult", group=PROVENANCE, cli="ocula.cli.provenance:embed", cli_name="watermark embed",
         route=None, exports=("detect_watermark",)),
    Task("detect-watermark", "Read an ocula watermark; says 'no watermark' when the check fails.",
         "WatermarkDetection", group=PROVENANCE, module="ocula.tasks.watermark", cli="ocula.cli.provenance:detect",
         cli_name="watermark detect", route="ocula.serve.routes.provenance:detect_route", options=(
             Option("method", str, "dwtDctSvd", "dwtDctSvd, rivaGan or all.", choices=("dwtDctSvd", "rivaGan", "all")),
             Option("payload", str, None, "A text to compare with (needed to confirm a payload stored as a hash).",
                    aliases=("candidate",), max_length=500),
         )),
    # --- people (issue 15): faces grouped into people in the index, named by you ----------
    Task("people", "The people in the index: id, name, faces, photos and a sample photo.", "PeopleList",
         group=PEOPLE, cli="ocula.cli.people:people_list", route="ocula.serve.routes.people:people_route",
         image="none", options=(_db(),)),
    Task("people-show", "One person's photos (by id, name or alias).", "PersonDetail", group=PEOPLE,
         cli="ocula.cli.people:show", cli_name="people show", route="ocula.serve.routes.people:show_route",
         image="none", options=(_db(),)),
    Task("people-name", "Name a face (an indexed image, --box when it has several) or a person (its id).",
         "NameResult", group=PEOPLE, cli="ocula.cli.people:name", cli_name="people name",
         route="ocula.serve.routes.people:name_route", image="none", options=(
             Option("box", str, None, "The face to name as x,y,w,h in pixels, when the image has several.",
                    max_length=64),
             Option("face", int, None, "A stored face's id (what the web page sends).", ge=1, cli=False),
             Option("alias", bool, False, "Add the name as another name of the person instead of renaming."),
             _db(),
         )),
    Task("people-split", "Not this person: a face leaves a person for good (later runs never put it back).",
         "NameResult", group=PEOPLE, cli="ocula.cli.people:split", cli_name="people split",
         route="ocula.serve.routes.people:split_route", image="none", options=(
             Option("box", str, None, "The face as x,y,w,h in pixels, when the image has several.", max_length=64),
             Option("face", int, None, "A stored face's id (what the web page sends).", ge=1, cli=False),
             _db(),
         )),
    Task("people-merge", "Two people are one: the second's faces move to the first; its name stays an alias.",
         "MergeResult", group=PEOPLE, cli="ocula.cli.people:merge", cli_name="people merge",
         route="ocula.serve.routes.people:merge_route", image="none", options=(_db(),)),
    Task("people-forget", "Erase a person's (or everyone's) faces, embeddings and names from the index.",
         "ForgetReport", group=PEOPLE, cli="ocula.cli.people:forget", cli_name="people forget",
         route="ocula.serve.routes.people:forget_route", image="none", options=(_db(),)),
    Task("people-export", "Write named faces into the photos' XMP (MWG regions + PersonInImage).", "ExportReport",
         group=PEOPLE, cli="ocula.cli.people:export", cli_name="people export", route=None, image="none", options=(
             Option("xmp", bool, False, "Write XMP sidecars beside the photos (photo.jpg.xmp)."),
             Option("embed", bool, False, "Write into the photos themselves (JPEG/PNG/WebP; needs exiftool)."),
             _db(),
         )),
    Task("who", "Who is in a photo: each face with the index's person and distance, or unknown and why.",
         "WhoResult", group=PEOPLE, many="who_many", route="ocula.serve.routes.people:who_route",
         options=(_db(),)),
    # --- generate and train ----------------------------------------------------------
    Task("generate", "Make images from a prompt: text-to-image, image-to-image, inpainting, ControlNet.",
         "GenerateResult", group="generate", cli="ocula.cli.generate:generate_cmd",
         route="ocula.serve.routes.generate:generate_route", image="optional"),
    Task("train", "Train a classifier on labelled folders and export it (ONNX, int8) for `ocula classify --model`.",
         "TrainReport", group="train", function="train_classifier", cli="ocula.cli.train:classifier",
         cli_name="train classifier", route=None),
]

_BY_NAME: dict[str, Task] = {}


def _index() -> dict[str, Task]:
    if len(_BY_NAME) != len(_TASKS):
        _BY_NAME.clear()
        _BY_NAME.update({t.name: t for t in _TASKS})
    return _BY_NAME


def register(task: Task) -> Task:
    """Add a task (a plugin, a test): every shell built after this call offers it."""
    if task.name in _index():
        raise ValueError(f"a task named {task.name!r} is registered already")
    _TASKS.append(task)
    _index()
    return task


def unregister(name: str) -> None:
    _TASKS[:] = [t for t in _TASKS if t.name != name]
    _BY_NAME.clear()


def tasks() -> Iterator[Task]:
    return iter(list(_TASKS))


def get(name: str) -> Task:
    try:
        return _index()[name]
    except KeyError:
        raise KeyError(f"no task named {name!r}; tasks: {', '.join(_index())}") from None


def steps() -> list[Task]:
    """The tasks analyze can run, in the order it runs them."""
    return [t for t in _TASKS if t.step]


def api_names() -> dict[str, str]:
    """Public name -> module, for ``ocula.__getattr__``."""
    return {name: t.module_name for t in _TASKS for name in t.public_names}


def old_names(name: str) -> dict[str, str]:
    """{old keyword: new keyword} of a task's renamed options, for ``ocula.deprecation.renamed``."""
    return {old: o.name for o in get(name).options for old in o.aliases}
