"""Photo folders for the people tests, made from the licensed face photos (tests/data/faces,
MIT) and the samples: originals, and altered copies that stand in for "new photos" of the same
people (mirrored, smaller, darker, cropped, recompressed), plus XMP sidecars written the way
Lightroom and digiKam write face names (MWG regions), not by ocula."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "tests" / "data" / "faces"
SAMPLES = ROOT / "samples"
PHOTOS = {"obama": FACES / "obama.jpg", "obama_small": FACES / "obama_small.jpg", "obama2": FACES / "obama2.jpg",
          "miranda": FACES / "lin-manuel-miranda.jpg", "collins": SAMPLES / "astronaut.jpg",
          "hopper": SAMPLES / "grace_hopper.jpg", "coffee": SAMPLES / "coffee.jpg", "rocket": SAMPLES / "rocket.jpg"}


def altered(src: Path, dest: Path, kind: str) -> Path:
    """A copy of ``src`` changed the way another photo of the same moment differs."""
    im = Image.open(src).convert("RGB")
    w, h = im.size
    if kind == "mirror":
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif kind == "smaller":
        im = ImageEnhance.Brightness(im.resize((int(w * .7), int(h * .7)))).enhance(.8)
    elif kind == "darker":
        im = ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(.6)).enhance(1.2)
    elif kind == "cropped":
        im = im.crop((int(w * .06), int(h * .04), int(w * .96), int(h * .9)))
    else:
        raise ValueError(kind)
    dest.parent.mkdir(parents=True, exist_ok=True)
    im.save(dest, "JPEG", quality=80)
    return dest


def copy(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(PHOTOS[name], dest))


MWG_SIDECAR = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="{w}" stDim:h="{h}" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
{regions}
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
   <Iptc4xmpExt:PersonInImage><rdf:Bag>{persons}</rdf:Bag></Iptc4xmpExt:PersonInImage>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""
REGION = """      <rdf:li>
       <rdf:Description mwg-rs:Name="{name}" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="{x:.5f}" stArea:y="{y:.5f}" stArea:w="{rw:.5f}" stArea:h="{rh:.5f}" stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>"""


def lightroom_sidecar(image: Path, faces: list[tuple[str, tuple[int, int, int, int]]],
                      persons: list[str] = ()) -> Path:
    """photo.xmp with MWG face regions (centre-based, normalised, as Lightroom writes them) and
    PersonInImage names, beside ``image``."""
    w, h = Image.open(image).size
    regions = "\n".join(REGION.format(name=n, x=(x + bw / 2) / w, y=(y + bh / 2) / h, rw=bw / w, rh=bh / h)
                        for n, (x, y, bw, bh) in faces)
    names = "".join(f"<rdf:li>{n}</rdf:li>" for n in [*(n for n, _ in faces), *persons])
    out = image.with_suffix(".xmp")
    out.write_text(MWG_SIDECAR.format(w=w, h=h, regions=regions, persons=names), encoding="utf-8")
    return out


def side_by_side(dest: Path, *names: str) -> Path:
    """One photo holding the faces of several photos, left to right (a group photo)."""
    ims = [Image.open(PHOTOS[n]).convert("RGB") for n in names]
    h = max(im.height for im in ims)
    out = Image.new("RGB", (sum(im.width for im in ims), h), (128, 128, 128))
    x = 0
    for im in ims:
        out.paste(im, (x, 0))
        x += im.width
    dest.parent.mkdir(parents=True, exist_ok=True)
    out.save(dest, "JPEG", quality=90)
    return dest


def resave(path: Path, quality: int = 85) -> None:
    """The same picture written again (new bytes and hash, the faces where they were)."""
    im = Image.open(path).convert("RGB")
    im.save(path, "JPEG", quality=quality)


def obama_three_times(folder: Path) -> Path:
    """obama.jpg, obama_small.jpg (a crop of it) and a darker copy: enough for a person to appear."""
    copy("obama", folder / "obama.jpg")
    copy("obama_small", folder / "obama_small.jpg")
    altered(folder / "obama.jpg", folder / "obama-darker.jpg", "darker")
    copy("hopper", folder / "hopper.jpg")
    return folder
