"""XMP sidecars and embedded XMP: descriptions, alt text and keywords that Lightroom, digiKam,
darktable, Bridge and exiftool read.

Fields written (IPTC Photo Metadata / XMP):
- ``dc:description``: a language alternative with ``x-default`` and the language (en, zh-CN);
- ``Iptc4xmpCore:AltTextAccessibility``: alt text, same structure (IPTC 2021.1);
- ``dc:subject``: keywords as an unordered bag;
- where and when the photo was taken, from its GPS and checked EXIF time (never guessed):
  ``photoshop:City``/``State``/``Country``, ``Iptc4xmpCore:CountryCode``/``Location`` (the
  district), the same as one ``Iptc4xmpExt:LocationCreated`` and ``LocationShown`` structure
  (IPTC Extension), and ``photoshop:DateCreated`` (local time with its offset);
- ``ocula:*`` (namespace ``https://ocula.dev/ns/xmp/1.0/``): what ocula wrote (a hash per
  value), the keywords it added and the hash of the inputs, so that later runs know which
  text is theirs to replace.

Sidecar name: ``photo.jpg.xmp`` (darktable's and digiKam's default; unambiguous when
``photo.jpg`` and ``photo.png`` sit side by side). A Lightroom-style ``photo.xmp`` that already
exists is read for existing text and, when no other image shares its stem, written to instead
of creating a second sidecar. RAW files follow the convention of the photo managers that edit
them (Lightroom, Camera Raw, Capture One, Photo Mechanic): ``IMG_0001.xmp`` beside
``IMG_0001.NEF``, also when the camera's ``IMG_0001.JPG`` sits beside it (the JPEG then gets
``IMG_0001.JPG.xmp``); a ``IMG_0001.NEF.xmp`` that already exists (darktable) is kept in use,
and so is the full name when two RAW files share the stem.

Rules:
- a description or alt text that ocula did not write (no matching hash: a person wrote it, or
  edited ours) is kept unless ``overwrite=True``; so is a location (any of its fields, in the
  XMP written to or in the image's own XMP or IPTC) and a creation date; the same holds for a description embedded in
  the image (XMP, EXIF ImageDescription, IPTC Caption-Abstract). Keywords a person added are
  always kept; ocula only replaces its own;
- nothing new, no write: the values are compared first, and an unchanged file is not touched,
  not even its mtime;
- writes are atomic (``ocula.output.replacing``): sidecars via a temp file + ``os.replace``;
  embedding runs exiftool on a temp copy of the image, then replaces the original, so an
  interrupted run never leaves a half-written file. Pixels are never re-encoded (exiftool only rewrites metadata).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from .digest import sha256_file
from .errors import InvalidImage, MissingDependency, OculaError
from .output import replace_file, replacing
from .vocabulary import XMP_LANGUAGE

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "ocula": "https://ocula.dev/ns/xmp/1.0/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EMBED_FORMATS = {".jpg", ".jpeg", ".jpe", ".png", ".webp"}
EXIFTOOL_FIX = "apt-get install libimage-exiftool-perl (macOS: brew install exiftool; https://exiftool.org)"

# camera firmware fills EXIF ImageDescription with these; nobody wrote them
_CAMERA_JUNK = re.compile(r"^\s*(|OLYMPUS DIGITAL CAMERA|SONY DSC|DIGITAL CAMERA|KODAK DIGITAL STILL CAMERA|"
                          r"SAMSUNG|MINOLTA DIGITAL CAMERA|default|image|untitled|DCIM.*|[\s\x00]*)\s*$", re.I)


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


for _p, _u in NS.items():
    ET.register_namespace(_p, _u)


@dataclass
class XmpFields:
    """What ocula wants in the XMP of one image."""

    description: str | None = None
    alt_text: str | None = None
    keywords: list[str] = field(default_factory=list)
    language: str = "en"
    input_hash: str | None = None
    # IPTC location: City, ProvinceState, CountryName, CountryCode, Sublocation (None: no place known)
    location: dict[str, str] | None = None
    date_created: str | None = None        # photoshop:DateCreated, "2024-05-12T15:20:00+08:00"


# where each location field goes: simple properties, and the members of the IPTC Extension structure
LOCATION_TAGS = {"City": ("photoshop", "City"), "ProvinceState": ("photoshop", "State"),
                 "CountryName": ("photoshop", "Country"), "CountryCode": ("Iptc4xmpCore", "CountryCode"),
                 "Sublocation": ("Iptc4xmpCore", "Location")}
LOCATION_STRUCTS = ("LocationCreated", "LocationShown")


@dataclass
class WriteOutcome:
    path: Path                              # the sidecar, or the image for embedding
    status: Literal["written", "unchanged", "kept"]
    kept: list[str] = field(default_factory=list)   # fields left alone because a person wrote them
    message: str = ""


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def inputs_hash(content_digest: str, *parts: object) -> str:
    """Hash of what a description depends on: the image content and the request."""
    h = hashlib.sha256(content_digest.encode())
    for p in parts:
        h.update(b"\x00" + str(p).encode("utf-8"))
    return h.hexdigest()[:32]


def file_digest(path: Path) -> str:
    return sha256_file(path)


def pixel_digest(path: Path) -> str:
    """Hash of the decoded pixels (at a reduced size): unchanged when only metadata changes,
    so it identifies an image across our own embedding."""
    from .image import load_image

    loaded = load_image(path, max_side=256)
    arr = loaded.array()
    h = hashlib.sha256(f"{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


# --- reading and editing XMP --------------------------------------------------------------

class XmpDoc:
    """An XMP document (x:xmpmeta / rdf:RDF) with just enough editing for our fields; every
    other property in it is kept as it was."""

    def __init__(self, root: ET.Element):
        self.root = root

    @classmethod
    def new(cls) -> "XmpDoc":
        root = ET.Element(_q("x", "xmpmeta"))
        root.set(_q("x", "xmptk"), "ocula")
        rdf = ET.SubElement(root, _q("rdf", "RDF"))
        desc = ET.SubElement(rdf, _q("rdf", "Description"))
        desc.set(_q("rdf", "about"), "")
        return cls(root)

    @classmethod
    def parse(cls, data: bytes | str, source: str = "XMP") -> "XmpDoc":
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = data.strip(b"\x00 \t\r\n")
        # keep the file's own prefixes (darktable:, lr:, digiKam: ...) when writing it back
        try:
            for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
                if prefix and not re.fullmatch(r"ns\d+", prefix) and uri not in NS.values() and prefix not in NS:
                    try:
                        ET.register_namespace(prefix, uri)
                    except ValueError:
                        pass
            root = ET.fromstring(data)
        except ET.ParseError as e:
            raise OculaError(f"{source}: not valid XMP ({e}); fix or remove it, or pass --overwrite") from None
        if root.tag == _q("rdf", "RDF"):  # bare rdf:RDF without the x:xmpmeta wrapper
            wrapper = ET.Element(_q("x", "xmpmeta"))
            wrapper.append(root)
            root = wrapper
        if root.tag != _q("x", "xmpmeta") or root.find(_q("rdf", "RDF")) is None:
            raise OculaError(f"{source}: not an XMP document (no x:xmpmeta/rdf:RDF)")
        doc = cls(root)
        if not doc._descriptions():
            d = ET.SubElement(root.find(_q("rdf", "RDF")), _q("rdf", "Description"))
            d.set(_q("rdf", "about"), "")
        return doc

    def _descriptions(self) -> list[ET.Element]:
        return self.root.find(_q("rdf", "RDF")).findall(_q("rdf", "Description"))

    def _find(self, tag: str) -> tuple[ET.Element, ET.Element] | None:
        for d in self._descriptions():
            el = d.find(tag)
            if el is not None:
                return d, el
        return None

    def _attr(self, tag: str) -> str | None:
        for d in self._descriptions():
            if tag in d.attrib:
                return d.attrib[tag]
        return None

    def _remove(self, tag: str) -> None:
        for d in self._descriptions():
            for el in d.findall(tag):
                d.remove(el)
            d.attrib.pop(tag, None)

    def lang_alt(self, tag: str) -> dict[str, str]:
        """{xml:lang: text} of a language-alternative property."""
        hit = self._find(tag)
        if hit is None:
            v = self._attr(tag)
            return {"x-default": v} if v else {}
        el = hit[1]
        out: dict[str, str] = {}
        alt = el.find(_q("rdf", "Alt"))
        if alt is None:
            if (el.text or "").strip():
                out["x-default"] = el.text.strip()
            return out
        for li in alt.findall(_q("rdf", "li")):
            out[li.get(XML_LANG, "x-default")] = (li.text or "").strip()
        return out

    def set_lang_alt(self, tag: str, values: dict[str, str]) -> None:
        self._remove(tag)
        if not values:
            return
        d = self._descriptions()[0]
        el = ET.SubElement(d, tag)
        alt = ET.SubElement(el, _q("rdf", "Alt"))
        order = ["x-default"] + sorted(k for k in values if k != "x-default")
        for lang in order:
            if lang in values:
                li = ET.SubElement(alt, _q("rdf", "li"))
                li.set(XML_LANG, lang)
                li.text = values[lang]

    def bag(self, tag: str) -> list[str]:
        hit = self._find(tag)
        if hit is None:
            v = self._attr(tag)
            return [v] if v else []
        el = hit[1]
        container = el.find(_q("rdf", "Bag"))
        if container is None:
            container = el.find(_q("rdf", "Seq"))
        if container is None:
            return [el.text.strip()] if (el.text or "").strip() else []
        return [(li.text or "").strip() for li in container.findall(_q("rdf", "li")) if (li.text or "").strip()]

    def set_bag(self, tag: str, values: list[str]) -> None:
        self._remove(tag)
        if not values:
            return
        el = ET.SubElement(self._descriptions()[0], tag)
        bag = ET.SubElement(el, _q("rdf", "Bag"))
        for v in values:
            ET.SubElement(bag, _q("rdf", "li")).text = v

    def struct_bag(self, tag: str) -> list[dict[str, str]]:
        """The structures of a bag (IPTC Extension locations): {member local name: text}."""
        hit = self._find(tag)
        if hit is None:
            return []
        container = hit[1].find(_q("rdf", "Bag"))
        if container is None:
            container = hit[1].find(_q("rdf", "Seq"))
        out = []
        for li in (container.findall(_q("rdf", "li")) if container is not None else []):
            holder = li.find(_q("rdf", "Description"))
            holder = li if holder is None else holder
            item = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in holder}
            item.update({k.rsplit("}", 1)[-1]: v for k, v in holder.attrib.items() if not k.startswith(f"{{{NS['rdf']}}}")})
            out.append({k: v for k, v in item.items() if v})
        return out

    def set_struct_bag(self, tag: str, items: list[dict[str, str]], prefix: str) -> None:
        self._remove(tag)
        if not items:
            return
        bag = ET.SubElement(ET.SubElement(self._descriptions()[0], tag), _q("rdf", "Bag"))
        for item in items:
            li = ET.SubElement(bag, _q("rdf", "li"))
            li.set(_q("rdf", "parseType"), "Resource")
            for k, v in item.items():
                ET.SubElement(li, _q(prefix, k)).text = v

    def location(self) -> dict[str, str]:
        """What the document says of where the photo was taken, as "prefix:Name" -> text (the
        structures as their JSON), for comparing and keeping what a person wrote."""
        import json

        out = {f"{p}:{n}": v for p, n in LOCATION_TAGS.values() if (v := self.text(_q(p, n)))}
        for name in LOCATION_STRUCTS:
            items = self.struct_bag(_q("Iptc4xmpExt", name))
            if items:
                out[f"Iptc4xmpExt:{name}"] = json.dumps(items, ensure_ascii=False, sort_keys=True)
        return out

    def text(self, tag: str) -> str | None:
        hit = self._find(tag)
        if hit is not None:
            return (hit[1].text or "").strip() or None
        return self._attr(tag)

    def set_text(self, tag: str, value: str | None) -> None:
        self._remove(tag)
        if value is not None:
            ET.SubElement(self._descriptions()[0], tag).text = value

    def to_bytes(self) -> bytes:
        tree = ET.ElementTree(self.root)
        ET.indent(tree, space=" ")
        return ET.tostring(self.root, encoding="unicode").encode("utf-8") + b"\n"


# --- what is there now --------------------------------------------------------------------

@dataclass
class Existing:
    doc: XmpDoc | None                     # the XMP we would edit (sidecar or embedded)
    descriptions: dict[str, str]           # dc:description by language
    alt_texts: dict[str, str]
    keywords: list[str]
    written: set[str]                      # ocula's record: "field|lang|hash"
    our_keywords: list[str]
    input_hash: str | None
    foreign_description: str | None = None  # human text found outside the XMP we edit
    location: dict[str, str] = field(default_factory=dict)    # XmpDoc.location() of the XMP we edit
    date_created: str | None = None
    foreign_location: bool = False          # a location a person wrote outside the XMP we edit


def _read(doc: XmpDoc | None) -> Existing:
    if doc is None:
        return Existing(None, {}, {}, [], set(), [], None)
    return Existing(doc, doc.lang_alt(_q("dc", "description")),
                    doc.lang_alt(_q("Iptc4xmpCore", "AltTextAccessibility")), doc.bag(_q("dc", "subject")),
                    set(doc.bag(_q("ocula", "Written"))), doc.bag(_q("ocula", "Keywords")),
                    doc.text(_q("ocula", "InputHash")), location=doc.location(),
                    date_created=doc.text(_q("photoshop", "DateCreated")))


def _human_location(ex: Existing) -> bool:
    return any(f"{tag}|-|{_hash(v)}" not in ex.written for tag, v in ex.location.items())


def embedded_iptc_location(image: Path) -> bool:
    """Whether the image's IPTC (IIM) names a place: City, Province/State or Country (a person's)."""
    from PIL import Image, IptcImagePlugin, UnidentifiedImageError

    try:
        with Image.open(image) as im:
            iptc = IptcImagePlugin.getiptcinfo(im) if im.format == "JPEG" else None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return False
    return bool(iptc) and any(iptc.get((2, k)) for k in (90, 92, 95, 100, 101))


def sidecar_candidates(image: Path) -> list[Path]:
    """``photo.jpg.xmp`` (what ocula writes) and ``photo.xmp`` (Lightroom style)."""
    return [image.with_name(image.name + ".xmp"), image.with_suffix(".xmp")]


def sidecar_target(image: Path) -> Path:
    """Where ocula writes: an existing ``photo.jpg.xmp``, else an existing ``photo.xmp``
    that no other image can claim, else ``photo.jpg.xmp``."""
    full, short = sidecar_candidates(image)
    from .image import IMAGE_SUFFIXES, RAW_SUFFIXES

    if image.suffix.lower() in RAW_SUFFIXES:
        if full.exists() and not short.exists():
            return full
        raws = [p for p in image.parent.glob(glob_escape(image.stem) + ".*")
                if p != image and p.suffix.lower() in RAW_SUFFIXES]
        return full if raws else short
    if full.exists() or not short.exists():
        return full

    siblings = [p for p in image.parent.glob(glob_escape(image.stem) + ".*")
                if p != image and p.suffix.lower() in IMAGE_SUFFIXES]
    return full if siblings else short


def glob_escape(s: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", s)


def _read_file(path: Path) -> XmpDoc | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OculaError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not data.strip():
        return None
    return XmpDoc.parse(data, str(path))


def embedded_xmp(image: Path) -> XmpDoc | None:
    """The XMP packet inside a JPEG/PNG/WebP (read with Pillow; no exiftool needed)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as im:
            data = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise InvalidImage(str(image), f"cannot read its metadata ({e})") from None
    if not data:
        return None
    if isinstance(data, str):
        data = data.encode("utf-8")
    m = re.search(rb"<x:xmpmeta.*</x:xmpmeta>|<rdf:RDF.*</rdf:RDF>", data, re.S)
    if not m:
        return None
    try:
        return XmpDoc.parse(m.group(0), f"{image} (embedded XMP)")
    except OculaError:
        return None  # a broken embedded packet must not block writing a sidecar


def embedded_description(image: Path) -> str | None:
    """A description stored in the image outside XMP: EXIF ImageDescription or IPTC
    Caption-Abstract (camera boilerplate like 'OLYMPUS DIGITAL CAMERA' does not count)."""
    from PIL import Image, IptcImagePlugin, UnidentifiedImageError

    try:
        with Image.open(image) as im:
            desc = im.getexif().get(0x010E)
            iptc = IptcImagePlugin.getiptcinfo(im) if im.format == "JPEG" else None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    for value in (iptc.get((2, 120)) if iptc else None, desc):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and not _CAMERA_JUNK.match(value):
            return value.strip()
    return None


def read_existing(image: Path, *, embed: bool) -> Existing:
    """What the image (embed) or its sidecar holds now, plus any description a person wrote
    somewhere else that our write would shadow."""
    image = Path(image)
    if embed:
        ex = _read(embedded_xmp(image))
        others = [_read_file(p) for p in sidecar_candidates(image) if p.exists()]
    else:
        target = sidecar_target(image)
        ex = _read(_read_file(target))
        others = [_read_file(p) for p in sidecar_candidates(image) if p != target and p.exists()]
        if image.suffix.lower() in EMBED_FORMATS and image.exists():
            others.append(embedded_xmp(image))
    for doc in others:
        o = _read(doc)
        human = _human_values(o.descriptions, o.written, "dc:description")
        if human and ex.foreign_description is None:
            ex.foreign_description = next(iter(human.values()))
        ex.foreign_location = ex.foreign_location or _human_location(o)
    if ex.foreign_description is None and image.exists():
        ex.foreign_description = embedded_description(image)
    if not ex.foreign_location and image.exists():
        ex.foreign_location = embedded_iptc_location(image)
    return ex


def _human_values(values: dict[str, str], written: set[str], field_name: str) -> dict[str, str]:
    return {lang: v for lang, v in values.items() if v and f"{field_name}|{lang}|{_hash(v)}" not in written}


# --- deciding what to write ----------------------------------------------------------------

def plan(existing: Existing, fields: XmpFields, *, overwrite: bool) -> tuple[XmpDoc | None, list[str]]:
    """The edited document, or None when nothing would change; and the fields kept because a
    person wrote them."""
    doc = existing.doc or XmpDoc.new()
    lang = XMP_LANGUAGE.get(fields.language, fields.language)
    written = set(existing.written)
    kept: list[str] = []
    changed = False

    for field_name, tag, value, current in (
            ("dc:description", _q("dc", "description"), fields.description, existing.descriptions),
            ("Iptc4xmpCore:AltTextAccessibility", _q("Iptc4xmpCore", "AltTextAccessibility"), fields.alt_text,
             existing.alt_texts)):
        if value is None:
            continue
        value = value.strip()
        human = _human_values(current, written, field_name)
        if field_name == "dc:description" and existing.foreign_description and not current:
            human = {"(elsewhere)": existing.foreign_description}
        if human and not overwrite:
            kept.append(field_name)
            continue
        new = {} if overwrite else dict(current)  # other languages ocula wrote stay
        new[lang] = value
        new["x-default"] = value
        if new != current:
            doc.set_lang_alt(tag, new)
            changed = True
        written = {w for w in written if not w.startswith(f"{field_name}|")}
        written |= {f"{field_name}|{k}|{_hash(v)}" for k, v in new.items()}

    if fields.keywords is not None:
        # ocula's keywords are recorded as "lang|keyword": a run replaces its own language's
        # keywords, keeps those of the other language and every keyword a person added
        ours_all = [k.split("|", 1) for k in existing.our_keywords if "|" in k]
        ours_before = {kw for _lang, kw in ours_all}
        people_kw = [k for k in existing.keywords if k not in ours_before]
        other_lang = [kw for lg, kw in ours_all if lg != lang]
        seen = {k.lower() for k in people_kw}
        mine = [k for k in dict.fromkeys(fields.keywords) if k.lower() not in seen]
        new_kw = list(dict.fromkeys(people_kw + [k for k in other_lang if k.lower() not in seen] + mine))
        record = [f"{lg}|{kw}" for lg, kw in ours_all if lg != lang] + [f"{lang}|{k}" for k in mine]
        if new_kw != existing.keywords:
            doc.set_bag(_q("dc", "subject"), new_kw)
            changed = True
        if record != existing.our_keywords:
            doc.set_bag(_q("ocula", "Keywords"), record)
            changed = True

    if fields.location is not None:
        if (_human_location(existing) or existing.foreign_location) and not overwrite:
            kept.append("location")
        else:
            changed |= _set_location(doc, fields.location)
            written = {w for w in written if not w.startswith(_LOCATION_RECORDS)}
            written |= {f"{tag}|-|{_hash(v)}" for tag, v in doc.location().items()}
    if fields.date_created is not None:
        date_tag = "photoshop:DateCreated"
        current = existing.date_created
        if current and f"{date_tag}|-|{_hash(current)}" not in existing.written and not overwrite:
            kept.append(date_tag)
        else:
            if current != fields.date_created:
                doc.set_text(_q("photoshop", "DateCreated"), fields.date_created)
                changed = True
            written = {w for w in written if not w.startswith(f"{date_tag}|")}
            written.add(f"{date_tag}|-|{_hash(fields.date_created)}")

    if written != existing.written:
        doc.set_bag(_q("ocula", "Written"), sorted(written))
        changed = True
    if fields.input_hash and fields.input_hash != existing.input_hash:
        # recorded even when the text came out the same (or a person's text was kept), so
        # that the next run with these inputs can skip the image without analysing it
        doc.set_text(_q("ocula", "InputHash"), fields.input_hash)
        changed = True
    return (doc if changed else None), kept


_LOCATION_RECORDS = tuple(f"{p}:{n}|" for p, n in LOCATION_TAGS.values()) + tuple(
    f"Iptc4xmpExt:{n}|" for n in LOCATION_STRUCTS)


def _set_location(doc: XmpDoc, location: dict[str, str]) -> bool:
    """Write the location fields (and remove ocula's old ones that are no longer known)."""
    before = doc.location()
    for key, (prefix, name) in LOCATION_TAGS.items():
        doc.set_text(_q(prefix, name), location.get(key))
    struct = {k: v for k, v in location.items() if v}
    for name in LOCATION_STRUCTS:
        doc.set_struct_bag(_q("Iptc4xmpExt", name), [struct] if struct else [], "Iptc4xmpExt")
    return doc.location() != before


def up_to_date(image: Path, input_hash: str, *, embed: bool) -> bool:
    """True when ocula already wrote for exactly these inputs (an interrupted or repeated run
    can skip the image without analysing it)."""
    image = Path(image)
    try:
        doc = embedded_xmp(image) if embed else _read_file(sidecar_target(image))
    except OculaError:
        return False
    return doc is not None and doc.text(_q("ocula", "InputHash")) == input_hash


# --- writing -------------------------------------------------------------------------------

def write_sidecar(image: Path, fields: XmpFields, *, overwrite: bool = False) -> WriteOutcome:
    """Write (or update) the XMP sidecar of ``image``. Nothing changes when nothing is new."""
    image = Path(image)
    target = sidecar_target(image)
    existing = read_existing(image, embed=False)
    doc, kept = plan(existing, fields, overwrite=overwrite)
    if doc is None:
        return WriteOutcome(target, "kept" if kept else "unchanged", kept)
    return WriteOutcome(target, "written" if save_sidecar(target, doc) else "unchanged", kept)


def save_sidecar(target: Path, doc: XmpDoc) -> bool:
    """Write ``doc`` to the sidecar ``target`` atomically; False (and no write) when the file
    already holds exactly these bytes."""
    data = doc.to_bytes()
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    try:
        replace_file(target, data)
    except OSError as e:
        raise OculaError(f"{target}: cannot write the sidecar ({e.strerror or e})") from None
    return True


def exiftool_path() -> str:
    path = shutil.which("exiftool")
    if path is None:
        raise MissingDependency("exiftool (needed to write metadata into image files)", EXIFTOOL_FIX)
    return path


def check_embeddable(image: Path) -> None:
    if image.suffix.lower() not in EMBED_FORMATS:
        raise OculaError(f"{image}: cannot embed into {image.suffix or 'this'} files; "
                         f"use --write-xmp for a sidecar (embedding supports JPEG, PNG, WebP)")


def embed(image: Path, fields: XmpFields, *, overwrite: bool = False, timeout: float = 60.0) -> WriteOutcome:
    """Write the fields into the image's own XMP (JPEG, PNG, WebP) with exiftool, pixels
    untouched, via a temp copy that replaces the original only when exiftool succeeded."""
    image = Path(image)
    check_embeddable(image)
    existing = read_existing(image, embed=True)
    doc, kept = plan(existing, fields, overwrite=overwrite)
    if doc is None:
        return WriteOutcome(image, "kept" if kept else "unchanged", kept)
    write_embedded(image, doc, timeout=timeout)
    return WriteOutcome(image, "written", kept)


def write_embedded(image: Path, doc: XmpDoc, *, timeout: float = 60.0) -> None:
    """Replace the XMP inside ``image`` with ``doc``: exiftool on a temp copy that replaces the
    original only when exiftool succeeded; pixels untouched."""
    image = Path(image)
    check_embeddable(image)
    tool = exiftool_path()
    with tempfile.TemporaryDirectory(prefix="ocula-xmp-") as scratch, replacing(image, suffix=image.suffix) as tmp:
        packet = Path(scratch) / "packet.xmp"
        packet.write_bytes(doc.to_bytes())
        shutil.copy2(image, tmp)
        try:
            r = subprocess.run([tool, "-q", "-q", "-overwrite_original", "-m", f"-xmp<={packet}", str(tmp)],
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise OculaError(f"{image}: exiftool took longer than {timeout:.0f} s; the file was not changed") from None
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip().splitlines()
            raise OculaError(f"{image}: exiftool could not write the metadata ({msg[-1] if msg else r.returncode}); "
                             "the file was not changed")


# --- resumable runs ------------------------------------------------------------------------

class Resumable:
    """Where a run writes its text (a sidecar, the image itself, or both) and how it knows an
    image was done before with exactly the same inputs: the hash of the image content (the
    pixels when embedding, since embedding changes the file's bytes) and of ``parts`` (what the
    text depends on: ocula's version, purpose, language, writer, model ...) is recorded in the
    XMP it writes, so a re-run or a resumed batch skips the image without analysing it.
    ``of_image``: what else one image's text depends on, read without analysing it (the names
    known for its faces), as a string added to its hash."""

    def __init__(self, parts: tuple[object, ...], *, xmp: bool, embed: bool, overwrite: bool = False,
                 of_image: Callable[[Path], str] | None = None):
        if not (xmp or embed):
            raise ValueError("give xmp=True, embed=True or both")
        self.parts, self.xmp, self.embed, self.overwrite = parts, xmp, embed, overwrite
        self.of_image = of_image
        self._digests: dict[Path, str] = {}

    def input_hash(self, path: Path) -> str:
        from .version import __version__

        path = Path(path)
        if path not in self._digests:
            self._digests[path] = pixel_digest(path) if self.embed else file_digest(path)
        extra = () if self.of_image is None else (self.of_image(path),)
        return inputs_hash(self._digests[path], __version__, *self.parts, *extra, "embed" if self.embed else "xmp")

    def done_before(self, path: Path) -> bool:
        """Written by ocula for exactly these inputs already (never true with ``overwrite``)."""
        if self.overwrite:
            return False
        try:
            h = self.input_hash(path)
            return all(up_to_date(Path(path), h, embed=e) for e in ([False] if self.xmp else []) +
                       ([True] if self.embed else []))
        except OculaError:
            return False

    def write(self, path: Path, fields: XmpFields) -> list[WriteOutcome]:
        """Write ``fields`` (stamped with this run's input hash) where the run writes."""
        path = Path(path)
        fields = dataclasses.replace(fields, input_hash=self.input_hash(path))
        outcomes = []
        if self.xmp:
            outcomes.append(write_sidecar(path, fields, overwrite=self.overwrite))
        if self.embed:
            outcomes.append(embed(path, fields, overwrite=self.overwrite))
        return outcomes
