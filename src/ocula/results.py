"""Typed results. Every task returns one of these; the CLI prints them (``ocula.cli.render``),
the server returns them as JSON, the web page renders them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr

from .vocabulary import Language, Length, Purpose, Tone


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageInfo(Result):
    source: str
    format: str | None = None
    width: int
    height: int
    mode: str | None = None
    has_alpha: bool = False
    frames: int = 1
    bytes: int | None = None
    raw: str | None = Field(None, description="RAW files: what was decoded: the embedded preview (its size) or "
                                              "the sensor data, demosaiced")

    @classmethod
    def of(cls, loaded) -> "ImageInfo":
        return cls(**loaded.info())


# --- classification -------------------------------------------------------------------

Category = Literal["animal", "person", "vehicle", "food", "plant", "building", "clothing",
                   "furniture", "electronics", "instrument", "tool", "sport", "scene", "object"]


class Label(Result):
    index: int = Field(description="class index in the model's label set")
    name: str = Field(description="readable English name")
    name_zh: str | None = Field(None, description="Chinese name")
    category: str = Field("object", description="coarse category: animal, vehicle, food ...")
    score: float = Field(ge=0, le=1)


class Classification(Result):
    image: ImageInfo
    model: str
    labels: list[Label]
    none_score: float | None = Field(None, ge=0, le=1, description="zero-shot labels: the chance that none of "
                                     "the given labels applies (labels' scores and this sum to 1)")


# --- OCR ------------------------------------------------------------------------------

class TextLine(Result):
    text: str
    confidence: float = Field(ge=0, le=1)
    box: list[tuple[float, float]] = Field(description="4 corner points, clockwise from top-left, in pixels")
    bbox: tuple[int, int, int, int] = Field(description="x, y, width, height of the enclosing rectangle")
    order: int = Field(description="reading order, 0-based")
    language: str = Field("und", description="en, zh, mixed or und (undetermined)")


class OCRResult(Result):
    image: ImageInfo
    model: str = Field(validation_alias=AliasChoices("model", "engine"), description="the OCR model that read it")
    lines: list[TextLine] = Field(default_factory=list)
    text: str = Field("", description="lines joined in reading order, one per line")
    language: str = "und"

    @property
    def engine(self) -> str:
        """Deprecated: the name ``model`` has everywhere."""
        return self.model


# --- faces ----------------------------------------------------------------------------

class Face(Result):
    box: tuple[int, int, int, int] = Field(description="x, y, width, height in pixels")
    score: float = Field(ge=0, le=1)
    landmarks: dict[str, tuple[float, float]] | None = Field(
        None, description="left_eye, right_eye, nose, mouth_left, mouth_right (image's left/right)")


class FacesResult(Result):
    image: ImageInfo
    model: str
    faces: list[Face]

    @property
    def count(self) -> int:
        return len(self.faces)


# --- colours --------------------------------------------------------------------------

class Color(Result):
    hex: str
    rgb: tuple[int, int, int]
    fraction: float = Field(ge=0, le=1, description="share of the image's pixels")
    name: str = Field(description="basic colour name in English")
    name_zh: str = Field(description="basic colour name in Chinese")


class ColorsResult(Result):
    image: ImageInfo
    colors: list[Color]
    is_grayscale: bool = False
    brightness: float = Field(description="mean luminance 0..1")
    colorfulness: float = Field(description="Hasler-Suesstrunk colourfulness (0 grey .. ~150 vivid)")


# --- quality --------------------------------------------------------------------------

class QualityResult(Result):
    image: ImageInfo
    megapixels: float
    sharpness: float = Field(description="variance of the Laplacian on a grey copy at most 1024 px long "
                                         "(smaller images at their own size); < ~100 looks soft")
    relative_sharpness: float = Field(description="sharpness / variance of the grey copy: the same measure "
                                                  "without the effect of contrast; < 0.05 looks blurry")
    exposure: float = Field(description="mean luminance 0..1")
    shadows_clipped: float = Field(description="share of pixels at pure black (<= 2 of 255)")
    highlights_clipped: float = Field(description="share of pixels at pure white (>= 253 of 255)")
    contrast: float = Field(description="RMS contrast of luminance 0..1")
    noise: float = Field(description="estimated noise sigma in 8-bit levels, on the same grey copy")
    brisque: float | None = Field(None, description="BRISQUE score, 0 best .. 100 worst; None if unavailable")
    verdict: Literal["good", "acceptable", "poor"]
    issues: list[str] = Field(default_factory=list, description="plain words: blurry, dark, noisy ...")


# --- metadata -------------------------------------------------------------------------

class GPS(Result):
    latitude: float
    longitude: float
    altitude: float | None = None


class MetadataResult(Result):
    image: ImageInfo
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    datetime_original: str | None = Field(None, description="ISO 8601, as the camera recorded it")
    software: str | None = None
    artist: str | None = None
    copyright: str | None = None
    description: str | None = None
    orientation: int | None = None
    iso: int | None = None
    f_number: float | None = None
    exposure_time: str | None = None
    focal_length_mm: float | None = None
    has_gps: bool = False
    gps: GPS | None = Field(None, description="only filled when asked for (privacy)")
    gps_note: str | None = Field(None, description="why the GPS was not used: 'no usable GPS: ...'")
    place: Place | None = Field(None, description="where, from the GPS, without coordinates (when asked for)")
    time: TimeFacts | None = Field(None, description="when, from EXIF (never the file date)")
    icc_profile: str | None = None


# --- moderation -----------------------------------------------------------------------

class Detection(Result):
    label: str
    score: float = Field(ge=0, le=1)
    box: tuple[int, int, int, int]


class ModerationResult(Result):
    image: ImageInfo
    model: str
    scores: dict[str, float] = Field(description="highest score per category")
    unsafe: bool = Field(description="any explicit category at or above the threshold")
    threshold: float
    detections: list[Detection] = Field(default_factory=list)


# --- detection: COCO objects and words (--find) ------------------------------------------

class DetectedObject(Detection):
    name_zh: str | None = Field(None, description="Chinese name (COCO classes)")
    query: int | None = Field(None, description="index of the --find words it matches")


class DetectResult(Result):
    image: ImageInfo
    model: str
    find: list[str] = Field(default_factory=list, description="the words looked for (empty: the COCO classes)")
    objects: list[DetectedObject] = Field(default_factory=list, description="best first; box is x, y, w, h")
    counts: dict[str, int] = Field(default_factory=dict, description="objects per label, most first")
    summary: str = Field("", description="the counts in words: '3 people, 2 dogs'")
    summary_zh: str = ""
    min_score: float
    annotated: str | None = Field(None, description="the picture with the boxes drawn, when asked for")


class Answer(Result):
    """An answer to a question about an image, and who gave it."""

    image: ImageInfo
    question: str
    answer: str
    model: str = Field(description="what answered: the VLM on its server, a hub VQA model, or 'facts'")
    source: Literal["vlm", "vqa", "facts"]
    grounded: bool = Field(description="the analysis facts were given to the model (or answered it)")
    facts: "Analysis | None" = Field(None, description="the facts the answer was grounded in")
    warnings: list[str] = Field(default_factory=list)


# --- analyze --------------------------------------------------------------------------

class VideoInfo(Result):
    """What a video is, as read from its container (``media.sample_video``)."""

    duration: float | None = Field(None, description="seconds")
    fps: float | None = None
    codec: str | None = None
    frame_count: int | None = Field(None, description="frames in the video, as its container says")
    rotation: int = Field(0, description="degrees the picture is turned for display (phones filming upright)")
    keyframes: int = Field(0, description="keyframes sampled: scene changes, or one every video_every seconds")
    decode_seconds: float = Field(0.0, description="time spent decoding")


class Keyframe(Result):
    at: float = Field(description="seconds from the start")
    timestamp: str = Field(description="the same as a clock: '01:23'")
    scene: bool = Field(False, description="sampled because the scene changed (else: the first frame, or time passed)")
    facts: "Analysis"


class Analysis(Result):
    """All the facts about one image, gathered in one pass."""

    image: ImageInfo
    labels: list[Label] = Field(default_factory=list)
    classifier: str | None = None
    text: OCRResult | None = None
    faces: FacesResult | None = None
    colors: ColorsResult | None = None
    quality: QualityResult | None = None
    metadata: MetadataResult | None = None
    moderation: ModerationResult | None = None
    objects: DetectResult | None = Field(None, description="objects found by the COCO detector, when one is installed")
    people: "list[NamedPerson] | None" = Field(
        None, description="people recognised as someone named in the index (describe; None: not checked)")
    video: "VideoInfo | None" = Field(None, description="videos: duration, frame rate, codec; the facts are per keyframe")
    keyframes: list["Keyframe"] = Field(default_factory=list, description="videos: the facts of each keyframe sampled")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per step")
    warnings: list[str] = Field(default_factory=list, description="steps that were skipped and why")


# --- describe -------------------------------------------------------------------------

class Description(Result):
    """Text written from an image's facts for a purpose (alt text, caption, product copy,
    social post, news caption, keywords). The written text is under ``text``."""

    image: ImageInfo
    text: str
    purpose: Purpose
    language: Language
    length: Length = "medium"
    tone: Tone = "neutral"
    title: str | None = Field(None, description="product title (purpose product)")
    bullets: list[str] = Field(default_factory=list, description="product bullets (purpose product)")
    hashtags: list[str] = Field(default_factory=list, description="hashtags (purpose social)")
    tags: list[str] = Field(default_factory=list, description="ranked keywords in the chosen language")
    confidence: float = Field(ge=0, le=1, description="how sure the facts behind the text are")
    writer: str = Field(description="the writer that actually wrote the text (after any fallback)")
    warnings: list[str] = Field(default_factory=list)
    facts: Analysis | None = Field(None, description="the facts the text was written from")


# --- enhance: upscale, denoise, inpaint, restore, blur-faces, strip -----------------

class ImageEdit(Result):
    """A new image made from an input. ``pil`` holds it in memory (not serialised);
    ``output`` is the file it was written to, when it was written."""

    image: ImageInfo = Field(description="the input")
    output: str | None = Field(None, description="path of the written file")
    width: int = Field(description="output width in pixels")
    height: int = Field(description="output height in pixels")
    seconds: float = 0.0
    notes: list[str] = Field(default_factory=list, description="what the user should know about the output")
    provenance: "ProvenanceReport | None" = Field(None, description="watermark and signature added to the output, "
                                                                     "when asked for (--watermark, --sign)")
    _pil: Any = PrivateAttr(None)
    _icc: bytes | None = PrivateAttr(None)  # colour profile to embed when saving
    _exif: bytes | None = PrivateAttr(None)  # EXIF to embed when saving (Software: what ocula did)

    @property
    def pil(self) -> Any:
        """The output as a PIL image (None for byte-level edits such as a lossless strip)."""
        return self._pil

    def save(self, path: str, *, overwrite: bool = False, quality: int | None = None) -> str:
        """Write the output image to ``path`` (never over the input; see ocula.output)."""
        from .output import save_image

        if self._pil is None:
            raise ValueError("this result holds no image in memory")
        saved = save_image(self._pil, path, inputs=[self.image.source], overwrite=overwrite, quality=quality,
                           icc_profile=self._icc, exif=self._exif)
        self.output = str(saved.path)
        self.notes.extend(n for n in saved.notes if n not in self.notes)
        return self.output


class UpscaleResult(ImageEdit):
    model: str
    scale: int = Field(description="output size / input size")
    tile: int = Field(description="tile side in input pixels (0 = whole image at once)")
    tile_pad: int = Field(description="overlap on each side of a tile, in input pixels")
    tiles: int = Field(description="network calls made")
    peak_memory_mb: float = Field(description="peak resident memory above the level at the start, in MiB")
    alpha: bool = Field(False, description="the input's transparency was carried over")


class DenoiseResult(ImageEdit):
    noise_before: float = Field(description="estimated noise sigma of the input, grey levels")
    noise_after: float = Field(description="the same estimate on the output")
    h: float = Field(description="luminance filter strength used by non-local means")
    h_color: float = Field(description="colour filter strength")
    skipped: bool = Field(False, description="the input was too clean to denoise; the output is a copy")


class InpaintResult(ImageEdit):
    method: str
    filled_pixels: int
    filled_fraction: float
    region: tuple[int, int, int, int] = Field(description="x, y, width, height around the filled pixels")


class RestoreStep(Result):
    name: str = Field(description="exposure, white_balance, contrast or clahe")
    applied: bool
    detail: str = Field(description="what was measured and done, in words")
    params: dict[str, Any] = Field(default_factory=dict)


class RestoreResult(ImageEdit):
    steps: list[RestoreStep]
    before: dict[str, float] = Field(description="exposure, contrast, colour cast of the input")
    after: dict[str, float] = Field(description="the same measures on the output")


class RedactResult(ImageEdit):
    model: str
    method: Literal["blur", "pixelate", "fill"]
    find: list[str]
    objects: list[DetectedObject] = Field(description="what was found, with the detected boxes")
    regions: list[tuple[int, int, int, int]] = Field(description="boxes hidden, x, y, w, h")


class BlurFacesResult(ImageEdit):
    model: str
    method: Literal["blur", "pixelate"]
    faces: list[Face] = Field(description="faces found, with their detected boxes")
    regions: list[tuple[int, int, int, int]] = Field(description="boxes blurred (enlarged face boxes), x, y, w, h")


class StripResult(ImageEdit):
    removed: list[str] = Field(description="metadata removed, in words (EXIF tags, GPS, XMP, IPTC, comments...)")
    kept: list[str] = Field(default_factory=list, description="what was kept on purpose (colour profile...)")
    orientation_applied: int | None = Field(None, description="EXIF orientation baked into the pixels")
    reencoded: bool = Field(description="pixels were decoded and encoded again (lossy for JPEG)")
    quality: str | None = Field(None, description="how a JPEG was re-encoded, when it was")
    bytes_before: int
    bytes_after: int


# --- provenance: watermark, sign, verify ----------------------------------------------

class WatermarkDetection(Result):
    """What an invisible-watermark reader found in an image."""

    image: ImageInfo | None = Field(None, description="the image read (absent inside a verify report)")
    found: bool = Field(description="a payload was read and its check held")
    method: str = Field(description="dwtDctSvd (64 bits) or rivaGan (32 bits)")
    payload: str | None = Field(None, description="the text, when it was short enough to be stored verbatim")
    payload_hash: str | None = Field(None, description="hex of the hash stored for a longer text; pass the "
                                                       "text as the payload to check it")
    matches: bool | None = Field(None, description="whether the payload is the text given to compare with")
    confidence: float = Field(ge=0, le=1, description="strength of the bit votes: 0 = chance, 1 = every block agrees")
    check: Literal["ok", "failed"] = Field(description="CRC-16 over the payload bits")
    corrected_bits: int = Field(0, description="weak bits flipped to make the check hold (at most 3)")
    bits: int = Field(description="bits the method carries, check included")
    word: str | None = Field(None, description="the embedded bits in hex, as a C2PA soft binding records them")


class WatermarkEmbedResult(Result):
    image: ImageInfo = Field(description="the input")
    output: str = Field(description="the marked file")
    method: str
    payload: str = Field(description="the text asked for")
    stored_as: Literal["text", "hash"] = Field(description="text: verbatim; hash: too long, a hash of it is stored")
    payload_hash: str | None = Field(None, description="hex of the stored hash when stored_as is hash")
    bits: int
    psnr: float = Field(description="PSNR of the marked pixels against the input's, in dB (higher: less visible)")
    verified: bool = Field(description="the payload was read back from the written file")
    confidence: float = Field(ge=0, le=1, description="strength of that read-back")
    seconds: float = 0.0
    notes: list[str] = Field(default_factory=list)


class ManifestAction(Result):
    action: str = Field(description="C2PA action name, e.g. c2pa.edited")
    description: str | None = None
    software_agent: str | None = None
    digital_source_type: str | None = Field(None, description="IPTC digital source type URI, when given")
    ocula_action: str | None = Field(None, description="ocula's name for it (upscaled, denoised ...), when ocula wrote it")


class ManifestIngredient(Result):
    title: str | None = None
    format: str | None = None
    relationship: str | None = Field(None, description="parentOf, componentOf or inputTo")
    has_manifest: bool = Field(False, description="the ingredient carried its own content credentials")


class SignerInfo(Result):
    subject: str | None = Field(None, description="the signing certificate's subject, e.g. CN=..., O=...")
    issuer: str | None = Field(None, description="the certificate's issuer")
    common_name: str | None = None
    serial: str | None = None
    algorithm: str | None = None
    not_after: str | None = Field(None, description="end of the certificate's validity, ISO 8601")
    development: bool = Field(False, description="ocula's local development certificate: proves nothing to others")


class ValidationIssue(Result):
    code: str = Field(description="C2PA validation status code, e.g. assertion.dataHash.mismatch")
    explanation: str | None = None


class ManifestReport(Result):
    state: Literal["none", "valid", "invalid", "trusted"] = Field(
        description="none: no content credentials; valid: intact and correctly signed, signer not in "
                    "your trust list; trusted: valid and the signer chains to a trust anchor you "
                    "configured; invalid: altered after signing, or the manifest is broken")
    title: str | None = None
    claim_generator: str | None = None
    actions: list[ManifestAction] = Field(default_factory=list)
    ingredients: list[ManifestIngredient] = Field(default_factory=list)
    signer: SignerInfo | None = None
    generated: bool = Field(False, description="an action declares AI-generated (trainedAlgorithmicMedia) content")
    failures: list[ValidationIssue] = Field(default_factory=list, description="why it is invalid")
    warnings: list[str] = Field(default_factory=list)
    manifests: int = Field(0, description="manifests in the store (the active one plus its ingredients')")
    soft_binding: str | None = Field(None, description="watermark the manifest declares (C2PA soft binding), "
                                                       "as alg:hex-value")

    @property
    def action_names(self) -> list[str]:
        return [a.action for a in self.actions]


class SignResult(Result):
    image: ImageInfo = Field(description="the input")
    output: str = Field(description="the signed file")
    format: str = Field(description="MIME type signed as")
    actions: list[ManifestAction] = Field(default_factory=list, description="actions recorded (besides "
                                                                           "c2pa.opened, added for a parent)")
    ingredient: str | None = Field(None, description="file recorded as the parent ingredient")
    generated: bool = False
    signer: SignerInfo
    manifest_bytes: int = Field(0, description="size of the manifest store written")
    seconds: float = 0.0
    notes: list[str] = Field(default_factory=list)


class VerifyResult(Result):
    image: ImageInfo
    ok: bool = Field(description="no check failed: the manifest is not invalid (none, valid or trusted)")
    manifest: ManifestReport
    watermark: WatermarkDetection | None = None
    metadata: MetadataResult | None = None
    notes: list[str] = Field(default_factory=list)


class ProvenanceReport(Result):
    """What ``mark_output`` did to a file ocula wrote: watermark first, then the signature."""

    output: str
    watermarked: bool = False
    watermark_method: str | None = None
    watermark_payload: str | None = None
    watermark_verified: bool | None = Field(None, description="read back from the written file")
    signed: bool = False
    actions: list[str] = Field(default_factory=list, description="C2PA actions recorded")
    signer: str | None = Field(None, description="subject of the signing certificate")
    development_certificate: bool = False
    notes: list[str] = Field(default_factory=list)


# --- batches --------------------------------------------------------------------------

class Failure(Result):
    source: str
    error: str = Field(description="what went wrong, in one line")
    kind: str = Field("InvalidImage", description="error class")


# --- generate -------------------------------------------------------------------------

class SafetyDecision(Result):
    """What the safety checks found for one prompt or image and what was done about it."""

    mode: Literal["flag", "blur", "block", "off"]
    prompt_terms: list[str] = Field(default_factory=list, description="blocklist terms found in the prompt")
    image_unsafe: bool | None = Field(None, description="moderation verdict on the output (None: not scored)")
    image_scores: dict[str, float] = Field(default_factory=dict)
    flagged: bool = False
    action: Literal["none", "flagged", "blurred", "blocked"] = "none"


class GeneratedImage(Result):
    prompt: str
    negative: str | None = None
    seed: int
    index: int = Field(description="position in the batch (1-based), the number the file name starts with")
    path: str | None = Field(None, description="file written (None when blocked or not written)")
    skipped: bool = Field(False, description="already present with the same settings (resumed batch)")
    seconds: float = 0.0
    safety: SafetyDecision | None = None
    provenance: "ProvenanceReport | None" = None


class GenerateResult(Result):
    model: str
    mode: Literal["text2img", "img2img", "inpaint", "control"]
    device: str
    dtype: str
    steps: int
    guidance: float
    width: int
    height: int
    strength: float | None = None
    control: str | None = None
    images: list[GeneratedImage] = Field(default_factory=list)
    load_seconds: float = 0.0
    seconds: float = 0.0
    seconds_per_step: float | None = None
    notes: list[str] = Field(default_factory=list)
    _pils: list = PrivateAttr(default_factory=list)

    @property
    def pils(self) -> list:
        """The generated images in memory (PIL), in the order of ``images`` (None where blocked/skipped)."""
        return self._pils

    @property
    def paths(self) -> list[str]:
        return [i.path for i in self.images if i.path]

    @property
    def seeds(self) -> list[int]:
        return [i.seed for i in self.images]


# --- search: index, search, dupes ----------------------------------------------------

class IndexReport(Result):
    """What one `ocula index` run did."""
    db: str
    roots: list[str] = Field(default_factory=list)
    seen: int = Field(0, description="image files found by the walk")
    unchanged: int = Field(0, description="same size and mtime as indexed: only a stat")
    analysed: int = Field(0, description="images analysed and embedded in this run")
    renamed: int = Field(0, description="moved or renamed files matched by content hash (not recomputed)")
    copied: int = Field(0, description="new paths whose content was already indexed (copied, not recomputed)")
    removed: int = Field(0, description="indexed files no longer on disk, swept")
    failed: list[Failure] = Field(default_factory=list, description="files that could not be indexed in this run")
    skipped_bad: int = Field(0, description="files recorded as bad before and unchanged since: not retried")
    reembedded: int = Field(0, description="images whose vectors were remade for a new embedding model")
    places_read: int = Field(0, description="images indexed before whose capture time and place were read now")
    moments: int = Field(0, description="moments made or changed in this run")
    videos: int = Field(0, description="videos analysed in this run (counted in analysed too)")
    frames: int = Field(0, description="keyframes taken from those videos and indexed")
    images: int = Field(0, description="images in the index after the run")
    faces: int = Field(0, description="faces found and embedded in this run (people)")
    new_people: int = Field(0, description="people that appeared in this run (groups of unnamed faces)")
    named_from_xmp: int = Field(0, description="faces named from the XMP face regions of other photo managers")
    warnings: list[str] = Field(default_factory=list, description="what went wrong without stopping an image "
                                                                  "from being indexed (a broken XMP sidecar)")
    seconds: float = 0.0
    images_per_second: float | None = Field(None, description="analysed images per second of analysis time")
    workers: int | None = Field(None, description="Ray workers (actors) that analysed images, with --ray")


class SearchHit(Result):
    id: int | None = Field(None, description="the image's row in the index (stable until it is removed)")
    path: str
    score: float = Field(description="reciprocal-rank-fusion score (higher is better)")
    ranks: dict[str, int] = Field(default_factory=dict, description="1-based rank in each list that found it: "
                                  "text (multilingual embedding), fts (BM25), clip, image, place (stored place "
                                  "names), time (capture time), people (a person's name)")
    similarity: float | None = Field(None, description="best cosine similarity among the vector lists")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    text: str = Field("", description="OCR text (first 200 characters)")
    width: int | None = None
    height: int | None = None
    taken: str | None = Field(None, description="capture time, else the file's date")
    captured: str | None = Field(None, description="local capture time from EXIF (None: unknown)")
    place: str | None = Field(None, description="where it was taken, from its GPS: 'Shanghai, China'")
    place_zh: str | None = Field(None, description="the same in Chinese: '中国上海'")
    media: Literal["image", "video"] = Field("image", description="video: ``path`` is a video and ``at`` the time "
                                                                "of its best-matching keyframe")
    at: float | None = Field(None, description="videos: seconds from the start to the matching keyframe")
    timestamp: str | None = Field(None, description="videos: ``at`` as a clock, '01:23'")
    also_at: list[float] = Field(default_factory=list, description="videos: other matching keyframes, best first")


class SearchResult(Result):
    query: str = Field(description="the words searched, the example image's path, or the people searched for")
    mode: Literal["text", "image", "person"]
    hits: list[SearchHit] = Field(default_factory=list)
    lists: list[str] = Field(default_factory=list, description="ranked lists fused (text, fts, clip, image, place, "
                             "time, people)")
    total: int = Field(0, description="images in the index that passed the filters")
    years: list[int] = Field(default_factory=list, description="years in the query, used as a capture-date filter")
    places: list[str] = Field(default_factory=list, description="place names in the query that stored places have")
    near: str | None = Field(None, description="the distance filter: 'within 20 km of Shanghai, China'")
    moment: str | None = Field(None, description="the moment filter")
    seconds: float = 0.0

    @property
    def paths(self) -> list[str]:
        return [h.path for h in self.hits]


class DupeGroup(Result):
    kind: Literal["exact", "near"] = Field(description="exact: identical bytes; near: resized, recompressed or cropped")
    paths: list[str]
    ids: list[int] = Field(default_factory=list, description="the images' rows in the index, in the order of paths")
    distance: int = Field(0, description="largest perceptual-hash Hamming distance to the group's first path")
    similarity: float = Field(1.0, description="smallest image-embedding cosine to the group's first path")


class DupesResult(Result):
    db: str
    groups: list[DupeGroup] = Field(default_factory=list)
    images: int = 0
    threshold: int = Field(description="largest perceptual-hash Hamming distance for near duplicates (of 64 bits)")
    min_similarity: float = Field(description="smallest image-embedding cosine for near duplicates")
    seconds: float = 0.0


class IndexStats(Result):
    db: str
    schema_version: int
    images: int = Field(description="files indexed: photos and videos (not their keyframes)")
    errors: int
    videos: int = Field(0, description="videos among them")
    frames: int = Field(0, description="keyframes sampled from the videos, each searchable like a photo")
    vectors: dict[str, int] = Field(default_factory=dict, description="vectors per kind")
    models: dict[str, str] = Field(default_factory=dict, description="model that made each kind of vector")
    with_text: int = 0
    with_faces: int = 0
    with_time: int = Field(0, description="images with a known capture time")
    with_place: int = Field(0, description="images with a place named from their GPS (names only)")
    with_gps: int = Field(0, description="images whose GPS coordinates are stored (OCULA_INDEX_GPS)")
    moments: int = Field(0, description="moments (events) the photos are grouped into")
    faces: int = Field(0, description="faces stored (people)")
    people: int = Field(0, description="people, named or not")
    bytes: int = Field(0, description="size of the db file (WAL included)")


# --- train ----------------------------------------------------------------------------

class ClassMetrics(Result):
    name: str
    precision: float
    recall: float
    f1: float
    support: int = Field(description="validation images of this class")


class TrainReport(Result):
    """What ``ocula train classifier`` did: data, training, validation metrics, exported files."""

    model_dir: str
    mode: Literal["linear", "finetune", "fewshot"]
    augment: str
    seed: int
    classes: list[str]
    train_counts: list[int] = Field(description="training images per class, in ``classes`` order")
    val_counts: list[int] = Field(description="validation images per class")
    skipped: list[Failure] = Field(default_factory=list, description="images or folders not used, with why")
    warnings: list[str] = Field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int = 0
    stopped_early: bool = False
    resumed_from: int | None = Field(None, description="epoch a checkpoint was resumed from")
    history: list[dict[str, float]] = Field(default_factory=list, description="per epoch: loss, acc, val_loss, val_acc")
    accuracy: float | None = Field(None, description="validation accuracy of the torch model (None: no validation set)")
    macro_f1: float | None = None
    ece: float | None = Field(None, description="expected calibration error on validation (15 bins)")
    per_class: list[ClassMetrics] = Field(default_factory=list)
    confusion: list[list[int]] = Field(default_factory=list, description="rows true, columns predicted")
    onnx_opset: int | None = None
    onnx_accuracy: float | None = Field(None, description="validation accuracy of the fp32 ONNX model")
    int8_accuracy: float | None = Field(None, description="validation accuracy of the int8 ONNX model")
    int8_agreement: float | None = Field(None, description="share of validation images where int8 and fp32 agree")
    int8_fp32_blocks: int = Field(0, description="early blocks kept in fp32 in the int8 model to keep it agreeing with fp32")
    files: dict[str, str] = Field(default_factory=dict, description="what was written, by role")
    feature_seconds: float = 0.0
    train_seconds: float = 0.0
    export_seconds: float = 0.0

# --- places, time and moments (ocula.places) -------------------------------------------
# Human-readable forms live in ocula.places (label(), time_label(), moment titles).

class PlaceName(Result):
    en: str = Field(description="GeoNames' main name (English or the local Latin-script form)")
    zh: str | None = Field(None, description="Simplified Chinese")
    zh_hant: str | None = Field(None, description="Traditional Chinese")
    local: str | None = Field(None, description="in the country's own script (東京, Москва), else as en")


class Place(Result):
    """Where a photo was taken, named offline from its GPS; no coordinates (privacy)."""

    kind: Literal["city", "near", "country", "ocean", "unknown"] = Field(
        description="city: inside the city's reach; near: outside it, 'near CITY (N km)'; "
                    "country/ocean: far from any listed place")
    city: PlaceName | None = None
    district: PlaceName | None = Field(None, description="a district or neighbourhood of the city (Manhattan, Puxi)")
    region: PlaceName | None = Field(None, description="first-level region: state, province")
    region_code: str | None = Field(None, description="ISO 3166-2")
    country: PlaceName | None = None
    country_code: str | None = Field(None, description="ISO 3166-1 alpha-2")
    ocean: PlaceName | None = None
    distance_km: float | None = Field(None, description="from the photo to the centre of the city it names")
    timezone: str | None = Field(None, description="IANA time zone at the photo's position")
    geonameid: int | None = None
    label: str | None = Field(None, description="one line: 'Shanghai, China', 'near San Francisco (7 km), ...'")
    label_zh: str | None = Field(None, description="the same in Chinese: '中国上海'")
    source: str = "GeoNames (CC BY 4.0)"


class TimeFacts(Result):
    """When a photo was taken, from EXIF only: an unknown time is said, never guessed."""

    known: bool = Field(description="a usable capture time was found")
    problem: str | None = Field(None, description="why the time is unknown: missing, impossible, camera default")
    recorded: str | None = Field(None, description="the EXIF text as the camera wrote it")
    local: str | None = Field(None, description="local wall-clock time, ISO 8601 without offset")
    offset: str | None = Field(None, description="UTC offset, +08:00")
    zone: str | None = Field(None, description="IANA zone used for the offset, when it came from the place")
    zone_source: Literal["exif", "place", "unknown"] = "unknown"
    instant: str | None = Field(None, description="the moment in UTC (only when the offset is known)")
    time_of_day: str | None = Field(None, description="night, early morning, morning, midday, afternoon, evening")
    time_of_day_zh: str | None = None
    weekday: str | None = None
    weekday_zh: str | None = None
    season: str | None = Field(None, description="by hemisphere; none in the tropics or without GPS")
    season_zh: str | None = None
    file_date: str | None = Field(None, description="the file's modification time: not the capture time")


class Moment(Result):
    """Photos grouped into an event (a trip, an afternoon) by time gaps and distance."""

    id: str = Field(description="stable: from the first photo's id; kept when photos join or moments merge")
    photos: list[str] = Field(description="photo ids in time order")
    count: int
    start: str = Field(description="local time of the first photo, ISO 8601")
    end: str = Field(description="local time of the last photo")
    start_instant: str | None = Field(None, description="start in UTC where zones are known (else local), for ordering")
    end_instant: str | None = None
    cover: str = Field(description="id of the photo that stands for the moment")
    cover_score: float = 0.0
    place: Place | None = Field(None, description="the place most photos share")
    second_place: Place | None = Field(None, description="the next one, when photos were taken in several places")
    place_counts: dict[str, int] = Field(default_factory=dict, description="photos per place name (English)")
    places: list[str] = Field(default_factory=list, description="place names, most photos first")
    center_lat: float | None = Field(None, description="mean position of the located photos (for the index)")
    center_lon: float | None = None
    located: int = Field(0, description="photos with a usable position")
    title: str = ""
    title_zh: str = ""
    cover_path: str | None = Field(None, description="the cover photo's file (filled when moments are listed)")


class MomentsResult(Result):
    """Photos grouped into moments (``ocula moments``)."""

    source: str = Field(description="the index file, or the folder read")
    moments: list[Moment] = Field(default_factory=list, description="oldest first")
    photos: int = Field(0, description="photos grouped")
    undated: int = Field(0, description="photos without a usable capture time: not grouped, no date invented")
    failed: list[Failure] = Field(default_factory=list, description="files that could not be read (folders)")
    seconds: float = 0.0


# --- people: face embeddings (issue 15) -------------------------------------------------

class FaceQuality(Result):
    score: float = Field(ge=0, le=1, description="the lowest of the size, sharpness and pose scores")
    usable: bool = Field(description="good enough to group into people (score >= 0.5)")
    size: float = Field(description="longer side of the face box in the full image, pixels")
    sharpness: float = Field(description="variance of the Laplacian over the face in the aligned 150 px chip")
    yaw: float | None = Field(None, description="nose offset / eye distance: 0 frontal, ~0.35 at 30 degrees")
    pitch: float | None = Field(None, description="nose height / mouth height below the eyes (level: 0.45-0.72)")
    reasons: list[str] = Field(default_factory=list, description="why the face is not usable, when it is not")


class FaceEmbedding(Face):
    embedding: list[float] = Field(description="128-d descriptor: Euclidean distance below the people "
                                               "threshold (0.5) means the same person")
    quality: FaceQuality
    alignment: list[tuple[float, float]] = Field(
        default_factory=list, description="dlib's 5 alignment points in full-image pixels: eye corners, nose base")


class FaceEmbeddingsResult(Result):
    image: ImageInfo
    detector: str
    model: str = Field(description="the embedding model")
    faces: list[FaceEmbedding] = Field(default_factory=list)

    def vectors(self):
        """The embeddings as a (faces, 128) float32 array."""
        import numpy as np

        return np.asarray([f.embedding for f in self.faces], dtype=np.float32).reshape(len(self.faces), 128)


# --- product photos: cutout, crop, product (issue 19) ----------------------------------
# How they read in a terminal: cli/render.py.

class CutoutResult(ImageEdit):
    model: str = Field(description="what made the matte: u2netp, or 'input alpha' for an already transparent photo")
    refine: Literal["guided", "none"] = Field(description="edge refinement of the network's mask")
    background: str = Field(description="transparent, #rrggbb, blur, image:PATH, or mask (--mask-only)")
    shadow: bool = False
    subject_share: float = Field(ge=0, le=1, description="the subject's share of the frame (mean alpha)")
    edge_uncertainty: float = Field(ge=0, le=1, description="share of the not-background pixels the network is "
                                                            "unsure about (0 crisp .. 1 no idea)")
    clear_subject: bool = Field(description="false: nothing stands out; the output is the original")
    subject_box: tuple[int, int, int, int] | None = Field(None, description="x, y, w, h around the subject")
    warnings: list[str] = Field(default_factory=list)


class CropResult(ImageEdit):
    aspect: str = Field(description="the requested aspect, W:H")
    margin: float = Field(description="margin asked for around the subject, as a share of the crop's side")
    box: tuple[int, int, int, int] = Field(description="x, y, w, h of the crop in the input's pixels")
    subject_box: tuple[int, int, int, int] | None = Field(None, description="x, y, w, h the crop keeps whole")
    guide: Literal["subject", "subject+faces", "faces", "saliency"] = Field(
        description="what placed the crop: the cut-out's subject (with whole heads), faces alone, or the "
                    "saliency map's centre when there is no clear subject")
    faces: int = Field(0, description="faces found and kept whole")
    cuts_subject: bool = Field(False, description="the aspect cannot hold the whole subject in this photo")
    warnings: list[str] = Field(default_factory=list)


class ListingCopy(Result):
    language: Literal["en", "zh"]
    title: str
    bullets: list[str] = Field(default_factory=list)
    description: str = Field(description="the product text: title and bullets, one per line")
    keywords: list[str] = Field(default_factory=list)
    writer: str
    confidence: float = Field(ge=0, le=1)


class ProductResult(ImageEdit):
    size: int = Field(description="side of the square listing image, pixels")
    margin: float = Field(description="white margin on each side, as a share of the side")
    background: str = "#ffffff"
    subject_box: tuple[int, int, int, int] | None = Field(None, description="x, y, w, h of the subject in the "
                                                                           "listing image")
    subject_share: float = Field(ge=0, le=1)
    edge_uncertainty: float = Field(ge=0, le=1)
    clear_subject: bool
    upscaled: str | None = Field(None, description="super-resolution model used when the subject was smaller than "
                                                   "the listing needs")
    listing: dict[str, ListingCopy] = Field(default_factory=dict, description="listing copy by language (en, zh)")
    json_output: str | None = Field(None, description="path of the JSON written next to the image")
    warnings: list[str] = Field(default_factory=list, description="quality problems: blurred, too small, "
                                                                   "no clear subject ...")


# --- people in the index (issue 15) ------------------------------------------------------

class NamedPerson(Result):
    """Someone named in the index, recognised in a photo. Only named people appear: a face
    nobody named stays "a person" in every text."""

    name: str
    person: int = Field(description="the person's id in the index")
    box: tuple[int, int, int, int] = Field(description="x, y, width, height of the face in pixels")
    distance: float = Field(description="embedding distance to the person's nearest face (same person <= 0.5)")


class PersonSummary(Result):
    id: int
    name: str | None = Field(None, description="None until someone names the person")
    aliases: list[str] = Field(default_factory=list, description="other names that find the person")
    confirmed: bool = Field(False, description="named or merged by a person (kept as it is by later runs)")
    faces: int = 0
    photos: int = 0
    sample: str | None = Field(None, description="path of the photo whose face stands for the person")
    sample_face: int | None = Field(None, description="id of that face")

    @property
    def label(self) -> str:
        return self.name or f"person {self.id} (unnamed)"


class PeopleList(Result):
    db: str
    people: list[PersonSummary] = Field(default_factory=list, description="most faces first")
    faces: int = Field(0, description="faces stored")
    unknown: int = Field(0, description="faces in no person (alone, doubtful or not usable)")
    warnings: list[str] = Field(default_factory=list)


class PersonPhoto(Result):
    image_id: int
    path: str
    face: int | None = Field(None, description="the face's id (None: the photo only carries the name)")
    box: tuple[int, int, int, int] | None = None
    distance: float | None = Field(None, description="distance at which the face joined (None: placed by a person)")
    locked: bool = Field(False, description="a person put this face here")


class PersonDetail(Result):
    db: str
    person: PersonSummary
    photos: list[PersonPhoto] = Field(default_factory=list)


class NameResult(Result):
    """What `ocula people name` did."""

    db: str
    person: PersonSummary
    face: int | None = Field(None, description="the face named (naming an image)")
    image: str | None = None
    previous: str | None = Field(None, description="the person's name before (a rename)")
    moved_from: int | None = Field(None, description="the person the face belonged to before, when another")
    alias: bool = Field(False, description="the name was added as another name of the person")
    joined: int = Field(0, description="unknown faces that joined the person after this naming")
    message: str = ""


class MergeResult(Result):
    db: str
    person: PersonSummary = Field(description="the person both are now")
    removed: int = Field(description="the id that no longer exists")
    moved: int = Field(0, description="faces moved")
    aliases: list[str] = Field(default_factory=list, description="names kept as aliases")


class ForgetReport(Result):
    """What `ocula people forget` erased."""

    db: str
    person: int | None = Field(None, description="the person forgotten (None: everyone)")
    name: str | None = None
    faces: int = Field(0, description="face rows, each with its embedding")
    people: int = 0
    aliases: int = 0
    names: int = Field(0, description="names read from photos' metadata (PersonInImage)")
    rejections: int = 0
    wal_emptied: bool = Field(True, description="the index's write-ahead log was emptied (False: another "
                                                "program held the index open; run forget again)")
    notes: list[str] = Field(default_factory=list)


class RegionsWritten(Result):
    path: str = Field(description="the sidecar or image written")
    status: Literal["written", "unchanged"]
    names: list[str] = Field(default_factory=list, description="named face regions ocula wrote")
    kept: list[str] = Field(default_factory=list, description="regions a person wrote, left as they were")


class ExportReport(Result):
    db: str
    images: int = Field(0, description="images with named faces")
    written: int = 0
    unchanged: int = 0
    files: list[RegionsWritten] = Field(default_factory=list)
    failed: list[Failure] = Field(default_factory=list)


class WhoFace(Result):
    box: tuple[int, int, int, int]
    score: float = Field(ge=0, le=1, description="detector score")
    usable: bool = Field(description="sharp and large enough to recognise")
    person: int | None = Field(None, description="the person's id (None: unknown)")
    name: str | None = Field(None, description="the person's name (None: unknown or unnamed)")
    distance: float | None = Field(None, description="to the nearest face of that person")
    nearest: str | None = Field(None, description="the nearest person when unknown (name or 'person N')")
    nearest_distance: float | None = None
    note: str | None = Field(None, description="why a face stayed unknown")


class WhoResult(Result):
    image: ImageInfo
    db: str
    faces: list[WhoFace] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.faces if f.name]


Keyframe.model_rebuild()
Analysis.model_rebuild()
