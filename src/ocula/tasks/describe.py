"""describe: text written from an image for a purpose (alt text, caption, product copy, social
post, news caption, travel post, keywords) in English or Chinese.

Where and when: ``place=True`` (the default) has analyze name the place the photo's GPS points at
(offline, ``ocula.places``), so news, caption, social and travel texts say "Shanghai, China" /
"中国上海" instead of a [WHERE] placeholder; the capture time (EXIF, checked) fills [WHEN]. The
default is on because describe exists to write such text from the photo's own facts, and the
place is said as a name only, never as coordinates (``gps`` stays off); ``place=False`` keeps
the placeholder (text to share without a location). No GPS, no place: the placeholder stays.
``context`` always wins over both.

Facts come from ``analyze`` (or are passed in); a writer turns them into text: ``builtin``
(offline, from the facts), ``llm`` / ``vlm`` (OpenAI-compatible server) or ``captioner``
(transformers). When an llm/vlm/captioner writer fails, the builtin writer writes instead and
the result says so in ``warnings``, except for one case: a single image, that writer asked for
by name, and it cannot be used at all (server down, model missing): then one clear error.

People: when the index (``db``) holds people someone named, the faces are matched against them
and the named ones go into ``facts.people``; every writer names only those (``people=False``
or OCULA_PEOPLE=0: nobody is recognised).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage, OculaError
from ..image import ImageInput, LoadedImage, load_image
from ..results import Analysis, Description, Failure, ImageInfo
from ..vocabulary import LANGUAGE_ALIASES, LANGUAGES, LENGTHS, PURPOSES, TONES
from ..writing import WRITERS, get_writer
from ..writing.base import DescribeRequest, Draft, Writer, WriterError, WriterUnavailable
from ._people import KnownNames, Namer
from ._pipeline import default_workers

if TYPE_CHECKING:
    from ..sidecar import Resumable, XmpFields

MAX_SIDE: int | None = None  # set by the analyze steps it runs (decode_side)
VISION_SIDE = 1024           # what the vlm/captioner writers get at most
PEOPLE_SIDE = 1280           # face detection's working copy (faces are cut from more pixels when small)



def _choice(value: str | None, valid: tuple[str, ...], what: str, default: str) -> str:
    v = (value or default).strip().lower()
    if v not in valid:
        raise InvalidArgument(f"unknown {what} {value!r}; choose one of: {', '.join(valid)}")
    return v


def make_request(purpose: str = "alt", language: str = "en", length: str = "medium", tone: str = "neutral",
                 context: str | None = None) -> DescribeRequest:
    """A validated request; bad values raise InvalidArgument naming the valid ones."""
    lang = LANGUAGE_ALIASES.get((language or "en").strip().lower())
    if lang is None:
        raise InvalidArgument(f"unknown language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    ctx = " ".join(context.split()) if context and context.strip() else None
    if ctx and len(ctx) > 2000:
        raise InvalidArgument(f"context is {len(ctx)} characters; keep it under 2000")
    return DescribeRequest(purpose=_choice(purpose, PURPOSES, "purpose", "alt"), language=lang,
                           length=_choice(length, LENGTHS, "length", "medium"),
                           tone=_choice(tone, TONES, "tone", "neutral"), context=ctx)


def _writer_name(writer: str | None) -> str:
    name = (writer or "builtin").strip().lower()
    if name not in WRITERS:
        raise InvalidArgument(f"unknown writer {writer!r}; choose one of: {', '.join(WRITERS)}")
    return name


def analyze_steps(steps: Iterable[str] | None = None) -> tuple[str, ...]:
    """The analyze steps describe runs: the given ones (checked; an empty list runs none, for a
    writer that only needs the picture), or every default step installed."""
    from .analyze import check_steps

    steps = None if steps is None else list(steps)
    return () if steps == [] else check_steps(steps)


def _recognise(namer: Any, image: ImageInput, facts: Analysis, loaded: LoadedImage | None,
               settings: Settings) -> None:
    """Fill ``facts.people`` with the named people recognised in the image (a failure is a warning)."""
    if namer is None or not namer.active or facts.people is not None:
        return
    try:
        if loaded is None or max(loaded.width, loaded.height) < min(PEOPLE_SIDE, max(loaded.original_size)):
            loaded = load_image(image, max_side=PEOPLE_SIDE, settings=settings)
        facts.people = namer(loaded, facts)
    except OculaError as e:
        facts.warnings.append(f"people were not recognised ({e})")


def _facts(image: ImageInput, steps: tuple[str, ...], settings: Settings,
           place: bool = True) -> tuple[Analysis, LoadedImage]:
    from .analyze import analyze, decode_side

    loaded = load_image(image, max_side=decode_side(steps) if steps else 64, settings=settings)
    if not steps:
        return Analysis(image=ImageInfo.of(loaded), warnings=["no analyze steps were run"]), loaded
    return analyze(loaded, steps=steps, place=place, settings=settings), loaded


class _Writers:
    """The chosen writer plus the builtin fallback; remembers a writer that is down so that a
    batch does not knock on a dead server for every image."""

    def __init__(self, name: str, settings: Settings, options: dict[str, Any]):
        from ..writing.builtin import BuiltinWriter

        self.name = name
        self.builtin = BuiltinWriter(settings)
        self.primary: Writer | None = None
        self.down: str | None = None
        self._lock = threading.Lock()
        if name != "builtin":
            try:
                self.primary = get_writer(name, settings, **options)
            except WriterUnavailable as e:
                self.down = str(e)

    @property
    def needs_image(self) -> bool:
        return self.name in ("vlm", "captioner") and self.down is None

    def write(self, facts: Analysis, request: DescribeRequest, image: LoadedImage | None,
              strict: bool) -> tuple[Draft, str]:
        """(draft, name of the writer that wrote it). ``strict``: a writer that cannot be
        used at all raises instead of falling back."""
        if self.name == "builtin":
            return self.builtin.write(facts, request, image), "builtin"
        note = None
        if self.down is not None:
            if strict:
                raise WriterUnavailable(self.down)
            note = f"the {self.name} writer is not usable ({self.down}); the builtin writer wrote this instead"
        else:
            try:
                return self.primary.write(facts, request, image), self.primary.name
            except WriterUnavailable as e:
                if strict:
                    raise
                with self._lock:
                    self.down = str(e)
                note = f"the {self.name} writer is not usable ({e}); the builtin writer wrote this instead"
            except WriterError as e:
                note = f"the {self.name} writer failed ({e}); the builtin writer wrote this instead"
        draft = self.builtin.write(facts, request, image)
        draft.warnings.insert(0, note)
        return draft, "builtin"


def _to_description(facts: Analysis, request: DescribeRequest, draft: Draft, writer: str,
                    builtin) -> Description:
    tags = draft.tags
    if not tags:  # keywords are cheap from the facts; sidecars need them whoever wrote the text
        tags = builtin.write(facts, request.model_copy(update={"purpose": "tags"}), None).tags
    return Description(
        image=facts.image, text=draft.text.strip(), purpose=request.purpose, language=request.language,
        length=request.length, tone=request.tone, title=draft.title, bullets=list(draft.bullets),
        hashtags=list(draft.hashtags), tags=list(tags), confidence=min(1.0, max(0.0, float(draft.confidence))),
        writer=writer, warnings=list(dict.fromkeys(draft.warnings)), facts=facts)


def describe(image: ImageInput, *, purpose: str = "alt", language: str = "en", length: str = "medium",
             tone: str = "neutral", context: str | None = None, writer: str = "builtin",
             facts: Analysis | None = None, steps: Iterable[str] | None = None, llm_url: str | None = None,
             llm_model: str | None = None, place: bool = True, people: bool = True,
             db: str | os.PathLike | None = None, settings: Settings | None = None) -> Description:
    """Write text about one image.

    ``facts``: an Analysis already computed (the image is then not analysed again; with the
    builtin writer it is not even read; people come from ``facts.people``). ``steps``: the
    analyze steps to run (default: all installed). ``llm_url``/``llm_model`` override the
    settings for the llm/vlm writers. ``place``: name where the photo was taken from its GPS
    (see the module docstring); with ``facts`` given, ``place=False`` drops a place they carry.
    ``people``: name the people recognised as someone named in the index ``db`` (default
    OCULA_HOME/index.db).
    """
    settings = settings or get_settings()
    request = make_request(purpose, language, length, tone, context)
    name = _writer_name(writer)
    writers = _Writers(name, settings, {"url": llm_url, "model": llm_model})
    if writers.down is not None:
        raise WriterUnavailable(writers.down)
    loaded: LoadedImage | None = None
    if facts is None:
        chosen = analyze_steps(steps)
        facts, loaded = _facts(image, chosen, settings, place)
        if chosen:
            _recognise(Namer(db, settings) if people else None, image, facts, loaded, settings)
    elif not place:
        facts = _without_place(facts)
    if writers.needs_image and loaded is None:
        loaded = load_image(image, max_side=VISION_SIDE, settings=settings)
    draft, used = writers.write(facts, request, loaded, strict=True)
    return _to_description(facts, request, draft, used, writers.builtin)


def describe_many(images: list[ImageInput], *, purpose: str = "alt", language: str = "en",
                  length: str = "medium", tone: str = "neutral", context: str | None = None,
                  writer: str = "builtin", steps: Iterable[str] | None = None, jobs: int | None = None,
                  llm_url: str | None = None, llm_model: str | None = None, place: bool = True,
                  people: bool = True, db: str | os.PathLike | None = None, settings: Settings | None = None,
                  on_done: Callable[[Any, Description | Failure], None] | None = None,
                  ) -> Iterator[tuple[Any, Description | Failure]]:
    """Describe many images in input order, yielding (input, Description or Failure).

    Bad files become Failures and the batch goes on. A writer that fails falls back to the
    builtin writer with a warning (a server found down is not asked again in this batch).
    ``jobs``: images decoded ahead in parallel, and llm/vlm requests in flight at once.
    """
    from .analyze import analyze_many

    settings = settings or get_settings()
    request = make_request(purpose, language, length, tone, context)
    name = _writer_name(writer)
    writers = _Writers(name, settings, {"url": llm_url, "model": llm_model})
    chosen = analyze_steps(steps)
    jobs = max(1, jobs) if jobs else default_workers(settings)
    images = list(images)
    namer = Namer(db, settings) if people and chosen else None

    def write_one(src: Any, facts: Analysis) -> Description | Failure:
        try:
            _recognise(namer, src, facts, None, settings)
            loaded = load_image(src, max_side=VISION_SIDE, settings=settings) if writers.needs_image else None
            draft, used = writers.write(facts, request, loaded, strict=False)
            return _to_description(facts, request, draft, used, writers.builtin)
        except InvalidImage as e:
            return Failure(source=e.source, error=e.reason, kind="InvalidImage")
        except OculaError as e:
            return Failure(source=str(src), error=str(e), kind=type(e).__name__)

    def analysed() -> Iterator[tuple[Any, Analysis | Failure]]:
        if not chosen:
            for src in images:
                try:
                    yield src, _facts(src, chosen, settings, place)[0]
                except InvalidImage as e:
                    yield src, Failure(source=e.source, error=e.reason)
            return
        yield from analyze_many(images, steps=chosen, jobs=jobs, place=place, settings=settings)

    def finish(src: Any, item: Description | Failure) -> tuple[Any, Description | Failure]:
        if on_done is not None:
            on_done(src, item)
        return src, item

    if name == "builtin" or jobs == 1:
        for src, facts in analysed():
            yield finish(src, facts if isinstance(facts, Failure) else write_one(src, facts))
        return
    # a remote writer waits on the network: keep up to ``jobs`` requests in flight, in order
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending: list[tuple[Any, Any]] = []
        for src, facts in analysed():
            pending.append((src, facts if isinstance(facts, Failure) else pool.submit(write_one, src, facts)))
            while len(pending) > jobs:
                s, f = pending.pop(0)
                yield finish(s, f if isinstance(f, Failure) else f.result())
        for s, f in pending:
            yield finish(s, f if isinstance(f, Failure) else f.result())


def _without_place(facts: Analysis) -> Analysis:
    if facts.metadata is None or facts.metadata.place is None:
        return facts
    return facts.model_copy(update={"metadata": facts.metadata.model_copy(update={"place": None})})


def alt_text_for(desc: Description) -> str | None:
    """The alt text that goes with a description: its own text for purpose alt, otherwise one
    written by the builtin writer from the same facts (cheap, no model runs)."""
    if desc.purpose == "alt":
        return desc.text
    if desc.facts is None:
        return None
    from ..writing.builtin import BuiltinWriter

    req = DescribeRequest(purpose="alt", language=desc.language, length="medium", tone="neutral")
    return BuiltinWriter().write(desc.facts, req, None).text



# --- into the images' metadata ---------------------------------------------------------------

def resumable(request: DescribeRequest, writer: str, *, llm_model: str | None = None,
              steps: Iterable[str] | None = None, xmp: bool = False, embed: bool = False,
              overwrite: bool = False, place: bool = True, people: bool = True,
              db: str | os.PathLike | None = None, settings: Settings | None = None) -> "Resumable":
    """Where a describe run writes (XMP sidecars, the images, or both) and how a re-run knows an
    image was done before with these inputs (see ``ocula.sidecar.Resumable``): with ``people``,
    the names the index ``db`` knows for each photo's faces are among them, so a re-run after
    naming someone rewrites the photos that name reaches (``_people.KnownNames``)."""
    from ..sidecar import Resumable

    settings = settings or get_settings()
    people = people and bool(settings.people)
    model = llm_model if writer in ("llm", "vlm", "captioner") else None
    parts = (request.purpose, request.language, request.length, request.tone, request.context, writer, model,
             ",".join(steps or []), *(() if place else ("no place",)), *(() if people else ("no people",)))
    return Resumable(parts, xmp=xmp, embed=embed, overwrite=overwrite,
                     of_image=KnownNames(db, settings) if people else None)


def xmp_fields(desc: Description) -> "XmpFields":
    """What a description puts into XMP: text and alt text (keywords only, for purpose tags), and
    where and when the photo was taken as IPTC fields, from the facts (never invented: no GPS,
    no location; an unknown time, no date)."""
    from ..sidecar import XmpFields

    is_tags = desc.purpose == "tags"
    md = desc.facts.metadata if desc.facts is not None else None
    return XmpFields(description=None if is_tags else desc.text, alt_text=None if is_tags else alt_text_for(desc),
                     keywords=list(desc.tags), language=desc.language,
                     location=location_fields(md.place if md else None, desc.language),
                     date_created=date_created(md.time if md else None))


def location_fields(place: Any, language: str = "en") -> dict[str, str] | None:
    """IPTC location of a place: city, province/state, country (names in ``language``), ISO
    country code, and the district as the sublocation. None without a place."""
    from ..places import name_in

    if place is None:
        return None
    out = {"City": name_in(place.city, language), "ProvinceState": name_in(place.region, language),
           "CountryName": name_in(place.country, language), "CountryCode": place.country_code,
           "Sublocation": name_in(place.district, language) if place.kind == "city" else None}
    out = {k: v for k, v in out.items() if v}
    return out or None


def date_created(t: Any) -> str | None:
    """photoshop:DateCreated: the local capture time with its offset when known (no date when
    the time is unknown)."""
    if t is None or not t.known or not t.local:
        return None
    return t.local + (t.offset or "")


def write_people(path: Any, desc: Description, *, xmp: bool, embed: bool) -> list:
    """The named people of a description as MWG face regions with ``Iptc4xmpExt:PersonInImage``
    (``regions.write_regions``: never over a region a person wrote); nothing when nobody is named."""
    from pathlib import Path

    from ..regions import NamedFace, write_regions

    people = desc.facts.people if desc.facts is not None else None
    if not people:
        return []
    faces = [NamedFace(p.name, p.box) for p in people]
    return [write_regions(Path(path), faces, embed=target == "embed")
            for target, on in (("xmp", xmp), ("embed", embed)) if on]
