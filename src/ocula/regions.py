"""Face regions in XMP: the names other photo managers gave faces, and ocula's own.

Read (sidecars ``photo.jpg.xmp`` / ``photo.xmp`` and the XMP embedded in the image):
- Metadata Working Group regions, ``mwg-rs:Regions`` (Lightroom, digiKam, Picasa, Apple
  Photos, exiftool): ``mwg-rs:RegionList`` of ``mwg-rs:Name``, ``mwg-rs:Type`` and an
  ``mwg-rs:Area`` whose ``stArea:x/y`` are the *centre* of the region, normalised 0..1;
- Microsoft Photo regions, ``MP:RegionInfo`` (Windows Photo Gallery, digiKam): an
  ``MPRI:Regions`` bag of ``MPReg:Rectangle`` "x, y, w, h" (top-left, normalised) and
  ``MPReg:PersonDisplayName``;
- ``Iptc4xmpExt:PersonInImage``: names without boxes.
Every RDF spelling of a structure is read (``rdf:parseType="Resource"``, a nested
``rdf:Description``, fields as attributes), and fields are matched by local name, since
writers disagree on some namespace URIs (``stDim``).

Orientation: region areas are relative to the image as stored, before its EXIF orientation
(MWG; Apple Photos writes ``AppliedToDimensions`` of the stored sensor size with the
orientation tag). When ``AppliedToDimensions`` matches the displayed size of a turned image
and not its stored size, the writer used the displayed frame and nothing is turned.
Boxes returned here are in displayed pixels, the frame of every other ocula result.

Write (``write_regions``): MWG face regions with names and ``Iptc4xmpExt:PersonInImage``,
in the stored frame with ``AppliedToDimensions``. Regions and names a person wrote are never
changed or removed: ocula records what it wrote in ``ocula:Written`` (as the sidecar writer
does for descriptions), replaces only that, and adds no region over a person's region of the
same face. Same atomic writing and "nothing new, no write" rules as ``sidecar.py``.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import sidecar
from .errors import OculaError
from .sidecar import XmpDoc

NS = {
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
for _p, _u in NS.items():
    ET.register_namespace(_p, _u)
RDF = sidecar.NS["rdf"]
_RESOURCE = f"{{{RDF}}}parseType"
_SAME_FACE = 0.3  # IoU at which two regions are taken for the same face


def _t(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


@dataclass
class Region:
    """A named (or unnamed) region found in XMP. ``area`` is x, y, w, h normalised 0..1 with
    x, y the top-left corner, in the displayed frame; ``box`` the same in displayed pixels."""

    name: str | None
    area: tuple[float, float, float, float]
    box: tuple[int, int, int, int] | None
    type: str = "Face"
    schema: Literal["mwg", "mp"] = "mwg"
    source: str = ""          # the sidecar's path, or "embedded"
    by_ocula: bool = False


@dataclass
class NamedFace:
    """A face to write: its name and its box (x, y, w, h) in displayed pixels."""

    name: str
    box: tuple[float, float, float, float]


@dataclass
class RegionsOutcome:
    path: Path
    status: Literal["written", "unchanged"]
    written: list[str] = field(default_factory=list)   # names of the regions ocula wrote
    kept: list[str] = field(default_factory=list)      # regions of a person left as they were


# --- geometry ---------------------------------------------------------------------------

def _image_frame(image: Path) -> tuple[tuple[int, int] | None, int]:
    """(stored width, height) and the EXIF orientation of ``image``; (None, 1) when unreadable."""
    from PIL import Image, UnidentifiedImageError

    from .image import _register_heif

    _register_heif()
    try:
        with Image.open(image) as im:
            orientation = im.getexif().get(0x0112, 1)
            return im.size, orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None, 1


def _turn(u: float, v: float, orientation: int) -> tuple[float, float]:
    """A normalised point of the stored image in the displayed image."""
    return {1: (u, v), 2: (1 - u, v), 3: (1 - u, 1 - v), 4: (u, 1 - v), 5: (v, u), 6: (1 - v, u),
            7: (1 - v, 1 - u), 8: (v, 1 - u)}[orientation]


def _unturn(u: float, v: float, orientation: int) -> tuple[float, float]:
    """A normalised point of the displayed image in the stored image."""
    inverse = {5: 5, 6: 8, 7: 7, 8: 6}.get(orientation, orientation)
    return _turn(u, v, inverse)


def _rect(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _map_area(area: tuple[float, float, float, float], fn, orientation: int) -> tuple[float, float, float, float]:
    x, y, w, h = area
    return _rect([fn(x, y, orientation), fn(x + w, y + h, orientation)])


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


# --- reading RDF structures -------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _struct(el: ET.Element) -> dict[str, str | ET.Element]:
    """The fields of an RDF structure in any of its spellings, keyed by local name: text for
    simple values, the element for nested structures and arrays."""
    out: dict[str, str | ET.Element] = {}
    parts = [el] + el.findall(f"{{{RDF}}}Description")
    for part in parts:
        for k, v in part.attrib.items():
            if not k.startswith(f"{{{RDF}}}") and not k.startswith("{http://www.w3.org/XML/1998/namespace}"):
                out[_local(k)] = v
        for child in part:
            if child.tag.startswith(f"{{{RDF}}}"):
                continue
            simple = len(child) == 0 and not any(not k.startswith(f"{{{RDF}}}") for k in child.attrib)
            out[_local(child.tag)] = (child.text or "").strip() if simple else child
    return out


def _items(el: ET.Element | str | None) -> list[ET.Element]:
    """The rdf:li of an array property (Bag, Seq or Alt)."""
    if not isinstance(el, ET.Element):
        return []
    for kind in ("Bag", "Seq", "Alt"):
        container = el.find(f"{{{RDF}}}{kind}")
        if container is not None:
            return container.findall(f"{{{RDF}}}li")
    return []


def _num(value) -> float | None:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def _regions_prop(doc: XmpDoc, tag: str) -> ET.Element | None:
    hit = doc._find(tag)
    return hit[1] if hit else None


def _mwg(doc: XmpDoc) -> tuple[list[tuple[ET.Element, dict]], tuple[float, float] | None]:
    """(li element, fields) of each MWG region, and the AppliedToDimensions (w, h)."""
    prop = _regions_prop(doc, _t("mwg-rs", "Regions"))
    if prop is None:
        return [], None
    fields = _struct(prop)
    dims = None
    applied = fields.get("AppliedToDimensions")
    if isinstance(applied, ET.Element):
        d = _struct(applied)
        w, h = _num(d.get("w")), _num(d.get("h"))
        if w and h and w > 0 and h > 0:
            dims = (w, h)
    return [(li, _struct(li)) for li in _items(fields.get("RegionList"))], dims


def _mwg_area(f: dict) -> tuple[float, float, float, float] | None:
    area = f.get("Area")
    if not isinstance(area, ET.Element):
        return None
    a = _struct(area)
    x, y, w, h = (_num(a.get(k)) for k in ("x", "y", "w", "h"))
    if None in (x, y) or str(a.get("unit", "normalized")).strip() != "normalized":
        return None
    w, h = w or 0.0, h or 0.0  # a point region (a focus point) has no size
    return _clip((x - w / 2, y - h / 2, w, h))


def _clip(area: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    x, y, w, h = area
    x0, y0 = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
    x1, y1 = min(max(x + w, 0.0), 1.0), min(max(y + h, 0.0), 1.0)
    if x1 < x0 or y1 < y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def _written(doc: XmpDoc) -> set[str]:
    return set(doc.bag(sidecar._q("ocula", "Written")))


def _centre(area: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Top-left area -> MWG's centre-based x, y, w, h, rounded as written."""
    x, y, w, h = area
    return tuple(round(v, 6) for v in (x + w / 2, y + h / 2, w, h))  # type: ignore[return-value]


def _region_key(name: str, area: tuple[float, float, float, float]) -> str:
    """What ocula records for a region it wrote: a hash of the name and the written numbers."""
    text = name + "|" + ",".join(f"{v:.6f}" for v in _centre(area))
    return "mwg-rs:Regions|" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _regions_in(doc: XmpDoc, source: str, stored: tuple[int, int] | None, orientation: int) -> list[Region]:
    out: list[Region] = []
    written = _written(doc)
    items, dims = _mwg(doc)
    turn = orientation
    if stored and dims and orientation >= 5 and stored[0] != stored[1]:
        if (round(dims[0]), round(dims[1])) == (stored[1], stored[0]):
            turn = 1  # AppliedToDimensions is the displayed size: the writer used the displayed frame
    for _li, f in items:
        area = _mwg_area(f)
        if area is None:
            continue
        name = str(f.get("Name") or "").strip() or None
        out.append(Region(name, _map_area(area, _turn, turn), None, type=str(f.get("Type") or "Face"),
                          schema="mwg", source=source,
                          by_ocula=_region_key(name or "", area) in written))
    info = _regions_prop(doc, _t("MP", "RegionInfo"))
    if info is not None:
        for li in _items(_struct(info).get("Regions")):
            f = _struct(li)
            nums = [_num(v) for v in str(f.get("Rectangle") or "").split(",")]
            if len(nums) != 4 or None in nums:
                continue
            area = _clip(tuple(nums))  # type: ignore[arg-type]
            if area is None:
                continue
            name = str(f.get("PersonDisplayName") or "").strip() or None
            out.append(Region(name, _map_area(area, _turn, orientation), None, schema="mp", source=source))
    return out


def _docs(image: Path) -> list[tuple[str, XmpDoc]]:
    """Every XMP of ``image``: its sidecars, then the embedded packet. A broken sidecar is an
    error (it names the file); a broken embedded packet is skipped, as the sidecar reader does."""
    found = []
    for path in sidecar.sidecar_candidates(image):
        doc = sidecar._read_file(path)
        if doc is not None:
            found.append((str(path), doc))
    if image.exists() and image.suffix.lower() in sidecar.EMBED_FORMATS:
        doc = sidecar.embedded_xmp(image)
        if doc is not None:
            found.append(("embedded", doc))
    return found


def read_regions(image: str | Path, docs: list[tuple[str, XmpDoc]] | None = None) -> list[Region]:
    """Named and unnamed regions of ``image`` from all its XMP, in displayed pixels when the
    image can be read (``box``; else None). A region seen twice (a sidecar and the embedded
    XMP, or MWG and MP from the same writer) is listed once, MWG first."""
    image = Path(image)
    stored, orientation = _image_frame(image)
    regions: list[Region] = []
    for source, doc in (_docs(image) if docs is None else docs):
        regions += _regions_in(doc, source, stored, orientation)
    regions.sort(key=lambda r: r.schema != "mwg")
    unique: list[Region] = []
    for r in regions:
        if not any(r.name == u.name and iou(r.area, u.area) >= 0.5 for u in unique):
            unique.append(r)
    if stored:
        w, h = (stored[1], stored[0]) if orientation >= 5 else stored
        for r in unique:
            x, y, rw, rh = r.area
            r.box = (round(x * w), round(y * h), max(1, round(rw * w)), max(1, round(rh * h)))
    return unique


def people_in_image(image: str | Path) -> list[str]:
    """Names of the people in ``image``: region names and ``Iptc4xmpExt:PersonInImage``, once each."""
    return read_people(image)[1]


def read_people(image: str | Path) -> tuple[list[Region], list[str]]:
    """The regions of ``image`` (``read_regions``) and the names of the people in it (face
    region names and ``Iptc4xmpExt:PersonInImage``, once each), reading its XMP once."""
    image = Path(image)
    docs = _docs(image)
    regions = read_regions(image, docs)
    names = [r.name for r in regions if r.name and r.type == "Face"]
    for _source, doc in docs:
        names += doc.bag(_t("Iptc4xmpExt", "PersonInImage"))
    return regions, list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


# --- writing --------------------------------------------------------------------------------

def _container(prop: ET.Element) -> ET.Element:
    """Where a structure's fields live: the property itself (parseType Resource) or its
    nested rdf:Description."""
    nested = prop.find(f"{{{RDF}}}Description")
    return nested if nested is not None else prop


def _new_regions(doc: XmpDoc, stored: tuple[int, int]) -> ET.Element:
    prop = ET.SubElement(doc._descriptions()[0], _t("mwg-rs", "Regions"))
    prop.set(_RESOURCE, "Resource")
    dims = ET.SubElement(prop, _t("mwg-rs", "AppliedToDimensions"))
    dims.set(_RESOURCE, "Resource")
    for k, v in (("w", stored[0]), ("h", stored[1]), ("unit", "pixel")):
        ET.SubElement(dims, _t("stDim", k)).text = str(v)
    return prop


def _region_li(name: str, area: tuple[float, float, float, float]) -> ET.Element:
    li = ET.Element(f"{{{RDF}}}li")
    li.set(_RESOURCE, "Resource")
    ET.SubElement(li, _t("mwg-rs", "Name")).text = name
    ET.SubElement(li, _t("mwg-rs", "Type")).text = "Face"
    a = ET.SubElement(li, _t("mwg-rs", "Area"))
    a.set(_RESOURCE, "Resource")
    for k, v in zip("xywh", _centre(area)):
        ET.SubElement(a, _t("stArea", k)).text = f"{v:.6f}"
    ET.SubElement(a, _t("stArea", "unit")).text = "normalized"
    return li


def plan_regions(doc: XmpDoc | None, faces: list[NamedFace], stored: tuple[int, int],
                 orientation: int) -> tuple[XmpDoc | None, list[str], list[str]]:
    """The edited document (None when nothing changes), the names written and the regions of
    a person kept. ``faces`` replace every region ocula wrote before."""
    doc = doc or XmpDoc.new()
    written = _written(doc)
    items, _dims = _mwg(doc)
    disp_w, disp_h = (stored[1], stored[0]) if orientation >= 5 else stored
    human: list[tuple[float, float, float, float]] = []
    kept: list[str] = []
    ours_before: list[ET.Element] = []
    for li, f in items:
        area = _mwg_area(f)
        name = str(f.get("Name") or "").strip()
        if area is not None and _region_key(name, area) in written:
            ours_before.append(li)
        else:
            if area is not None:
                human.append(area)
            kept.append(name or "(unnamed region)")

    new: list[tuple[str, tuple[float, float, float, float]]] = []
    for face in faces:
        x, y, w, h = face.box
        disp = _clip((x / disp_w, y / disp_h, w / disp_w, h / disp_h))
        if disp is None or not face.name.strip():
            continue
        area = _map_area(disp, _unturn, orientation)
        if any(iou(area, a) >= _SAME_FACE for a in human):
            continue  # a person's region of this face wins, whatever its name
        new.append((face.name.strip(), area))

    old_keys = {k for k in written if k.startswith("mwg-rs:Regions|")}
    new_keys = {_region_key(n, a) for n, a in new}
    persons_before = doc.bag(_t("Iptc4xmpExt", "PersonInImage"))
    our_names_before = {k.split("|", 1)[1] for k in written if k.startswith("Iptc4xmpExt:PersonInImage|")}
    people_names = [n for n in persons_before if n not in our_names_before]
    mine = [n for n in dict.fromkeys(n for n, _a in new) if n not in people_names]
    persons = people_names + mine
    if old_keys == new_keys and persons == persons_before:
        return None, [n for n, _a in new], kept

    prop = _regions_prop(doc, _t("mwg-rs", "Regions"))
    if ours_before or new:
        if prop is None:
            prop = _new_regions(doc, stored)
        body = _container(prop)
        lst = next((c for c in body if _local(c.tag) == "RegionList"), None)
        if lst is None:
            lst = ET.SubElement(body, _t("mwg-rs", "RegionList"))
        bag = lst.find(f"{{{RDF}}}Bag")
        if bag is None:
            bag = lst.find(f"{{{RDF}}}Seq")
        if bag is None:
            bag = ET.SubElement(lst, f"{{{RDF}}}Bag")
        for li in ours_before:
            if li in list(bag):
                bag.remove(li)
        for name, area in new:
            bag.append(_region_li(name, area))
        if len(bag) == 0:  # only ocula's regions were there: remove the whole structure
            for d in doc._descriptions():
                if prop in list(d):
                    d.remove(prop)
    doc.set_bag(_t("Iptc4xmpExt", "PersonInImage"), persons)
    record = {k for k in written if not k.startswith(("mwg-rs:Regions|", "Iptc4xmpExt:PersonInImage|"))}
    record |= new_keys | {f"Iptc4xmpExt:PersonInImage|{n}" for n in mine}
    doc.set_bag(sidecar._q("ocula", "Written"), sorted(record))
    return doc, [n for n, _a in new], kept


def write_regions(image: str | Path, faces: list[NamedFace], *, embed: bool = False) -> RegionsOutcome:
    """Write ``faces`` as MWG face regions and ``Iptc4xmpExt:PersonInImage`` into the sidecar
    of ``image`` (or, ``embed=True``, into the image with exiftool). Replaces what ocula wrote
    before; never touches a region or a name a person wrote. An empty ``faces`` removes
    ocula's regions."""
    image = Path(image)
    stored, orientation = _image_frame(image)
    if stored is None:
        raise OculaError(f"{image}: cannot read the image's size, which face regions are relative to")
    if embed:
        sidecar.check_embeddable(image)
        target, current = image, sidecar.embedded_xmp(image)
    else:
        target = sidecar.sidecar_target(image)
        current = sidecar._read_file(target)
    doc, names, kept = plan_regions(current, faces, stored, orientation)
    if doc is None:
        return RegionsOutcome(target, "unchanged", names, kept)
    if embed:
        sidecar.write_embedded(image, doc)
        return RegionsOutcome(target, "written", names, kept)
    return RegionsOutcome(target, "written" if sidecar.save_sidecar(target, doc) else "unchanged", names, kept)
