"""Face regions in XMP: reading what other photo managers write (checked by writing it with
exiftool, an independent implementation), writing MWG regions exiftool reads back, never
overwriting a person's regions, EXIF orientation, and `strip` removing them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from conftest import require_program
from ocula import sidecar
from ocula.errors import OculaError
from ocula.regions import NamedFace, people_in_image, read_regions, write_regions

SAMPLES = Path(__file__).parent.parent / "samples"
COLLINS = (180, 59, 89, 115)   # the astronaut's face, as the detector boxes it
HOPPER = (174, 119, 182, 222)  # Grace Hopper's face (512x600 image)


def exiftool(*args: str) -> None:
    subprocess.run([require_program("exiftool"), "-q", "-q", "-overwrite_original", *args], check=True)


def read_back(path: Path) -> dict:
    out = subprocess.run([require_program("exiftool"), "-j", "-struct", "-XMP:RegionInfo", "-XMP:PersonInImage",
                          "-XMP:RegionInfoMP", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def mwg(name: str, box, size, dims=None) -> str:
    """An exiftool assignment of one MWG face region (box in pixels of ``size``)."""
    w, h = size
    x, y, bw, bh = box
    dw, dh = dims or size
    return (f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={dw},H={dh},Unit=pixel}},RegionList=[{{Area={{"
            f"X={(x + bw / 2) / w:.5f},Y={(y + bh / 2) / h:.5f},W={bw / w:.5f},H={bh / h:.5f},Unit=normalized}},"
            f"Name={name},Type=Face}}]}}")


@pytest.fixture
def photo(tmp_path) -> Path:
    p = tmp_path / "astronaut.jpg"
    shutil.copy(SAMPLES / "astronaut.jpg", p)
    return p


def test_written_regions_are_read_back_by_exiftool_in_any_script(photo):
    out = write_regions(photo, [NamedFace("Eileen Collins", COLLINS), NamedFace("张三", (300, 300, 60, 80))])
    assert out.status == "written" and out.path == photo.with_name("astronaut.jpg.xmp")
    data = read_back(out.path)
    regions = data["RegionInfo"]["RegionList"]
    assert [r["Name"] for r in regions] == ["Eileen Collins", "张三"]
    assert all(r["Type"] == "Face" and r["Area"]["Unit"] == "normalized" for r in regions)
    assert data["RegionInfo"]["AppliedToDimensions"] == {"H": 512, "Unit": "pixel", "W": 512}
    area = regions[0]["Area"]
    assert abs(area["X"] - (180 + 89 / 2) / 512) < 1e-5 and abs(area["W"] - 89 / 512) < 1e-5  # centre, MWG
    assert data["PersonInImage"] == ["Eileen Collins", "张三"]
    # ours again: nothing new, no write (not even the mtime)
    before = out.path.stat().st_mtime_ns
    again = write_regions(photo, [NamedFace("Eileen Collins", COLLINS), NamedFace("张三", (300, 300, 60, 80))])
    assert again.status == "unchanged" and out.path.stat().st_mtime_ns == before
    # and our own reader finds the same boxes
    found = read_regions(photo)
    assert [r.name for r in found] == ["Eileen Collins", "张三"] and all(r.by_ocula for r in found)
    assert iou(found[0].box, COLLINS) > 0.95

    # embedded: exiftool reads it from the JPEG, pixels untouched
    pixels = Image.open(photo).tobytes()
    write_regions(photo, [NamedFace("José Núñez", COLLINS)], embed=True)
    assert read_back(photo)["RegionInfo"]["RegionList"][0]["Name"] == "José Núñez"
    assert Image.open(photo).tobytes() == pixels


def test_reads_mwg_and_microsoft_regions_written_by_exiftool(tmp_path):
    p = tmp_path / "hopper.jpg"
    shutil.copy(SAMPLES / "grace_hopper.jpg", p)
    x, y, w, h = HOPPER
    exiftool(mwg("Grace Hopper", HOPPER, (512, 600)),
             f"-XMP-MP:RegionInfoMP={{Regions=[{{PersonDisplayName=Grace Hopper,Rectangle={x / 512:.4f}|, "
             f"{y / 600:.4f}|, {w / 512:.4f}|, {h / 600:.4f}}},{{PersonDisplayName=Amazing Grace,"
             f"Rectangle=0.1|, 0.1|, 0.1|, 0.1}}]}}",
             "-XMP-iptcExt:PersonInImage=Grace Brewster Murray Hopper", str(p))
    regions = read_regions(p)
    # the same face in MWG and MP is listed once; the other MP region stays
    assert [(r.name, r.schema) for r in regions] == [("Grace Hopper", "mwg"), ("Amazing Grace", "mp")]
    assert iou(regions[0].box, HOPPER) > 0.95 and regions[0].source == "embedded" and not regions[0].by_ocula
    assert regions[1].box == (51, 60, 51, 60)
    assert people_in_image(p) == ["Grace Hopper", "Amazing Grace", "Grace Brewster Murray Hopper"]


def test_reads_attribute_form_and_lightroom_style_sidecars(tmp_path):
    p = tmp_path / "IMG_0001.jpg"
    shutil.copy(SAMPLES / "astronaut.jpg", p)
    (tmp_path / "IMG_0001.xmp").write_text("""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#" xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="512" stDim:h="512" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Eileen Collins" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.438" stArea:y="0.228" stArea:w="0.174" stArea:h="0.225" stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li rdf:parseType="Resource"><mwg-rs:Type>Focus</mwg-rs:Type>
       <mwg-rs:Area rdf:parseType="Resource"><stArea:x>0.5</stArea:x><stArea:y>0.5</stArea:y></mwg-rs:Area>
      </rdf:li>
      <rdf:li><rdf:Description/></rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>""")
    regions = read_regions(p)
    assert [(r.name, r.type) for r in regions] == [("Eileen Collins", "Face"), (None, "Focus")]
    assert iou(regions[0].box, COLLINS) > 0.95
    assert people_in_image(p) == ["Eileen Collins"]


def test_regions_follow_the_exif_orientation(tmp_path):
    """Stored pixels turned a quarter, EXIF orientation 6 to show them upright: MWG areas are
    relative to the stored pixels, our boxes to the displayed image."""
    p = tmp_path / "turned.jpg"
    Image.open(SAMPLES / "grace_hopper.jpg").rotate(90, expand=True).save(p, quality=95)  # stored 600x512
    exiftool("-Orientation=6", "-n", str(p))
    # HOPPER in the displayed frame is, in the stored (turned back) frame:
    x, y, w, h = HOPPER
    stored_box = (y, 512 - x - w, h, w)
    exiftool(mwg("Grace Hopper", stored_box, (600, 512)), str(p))
    regions = read_regions(p)
    assert iou(regions[0].box, HOPPER) > 0.95, regions[0]

    # the detector agrees with the displayed box
    pytest.importorskip("dlib")
    from ocula.tasks.faces import faces

    assert iou(faces(p).faces[0].box, HOPPER) > 0.8

    # a writer that used the displayed frame says so with AppliedToDimensions = displayed size
    q = tmp_path / "display.jpg"
    shutil.copy(p, q)
    exiftool("-XMP-mwg-rs:all=", str(q))
    exiftool(mwg("Grace Hopper", HOPPER, (512, 600)), str(q))
    assert iou(read_regions(q)[0].box, HOPPER) > 0.95

    # ours go in the stored frame with the stored size, and come back where they were
    r = tmp_path / "ours.jpg"
    shutil.copy(p, r)
    exiftool("-XMP-mwg-rs:all=", str(r))
    write_regions(r, [NamedFace("Grace Hopper", HOPPER)])
    info = read_back(r.with_name("ours.jpg.xmp"))["RegionInfo"]
    assert info["AppliedToDimensions"]["W"] == 600 and info["AppliedToDimensions"]["H"] == 512
    area = info["RegionList"][0]["Area"]
    assert abs(area["X"] - (stored_box[0] + stored_box[2] / 2) / 600) < 1e-4
    assert abs(area["Y"] - (stored_box[1] + stored_box[3] / 2) / 512) < 1e-4
    assert iou(read_regions(r)[0].box, HOPPER) > 0.95


def test_a_persons_regions_and_names_are_never_overwritten(photo):
    target = photo.with_name("astronaut.jpg.xmp")
    subprocess.run([require_program("exiftool"), "-q", "-o", str(target), mwg("Eileen M. Collins", COLLINS, (512, 512)),
                    "-XMP-iptcExt:PersonInImage=Eileen M. Collins", str(photo)], check=True)
    out = write_regions(photo, [NamedFace("Eileen Collins", COLLINS), NamedFace("Stranger", (20, 20, 60, 60))])
    assert out.kept == ["Eileen M. Collins"] and out.written == ["Stranger"]
    data = read_back(target)
    assert [r["Name"] for r in data["RegionInfo"]["RegionList"]] == ["Eileen M. Collins", "Stranger"]
    assert data["PersonInImage"] == ["Eileen M. Collins", "Stranger"]
    # nothing new: no write
    before = target.stat().st_mtime_ns
    assert write_regions(photo, [NamedFace("Eileen Collins", COLLINS),
                                 NamedFace("Stranger", (20, 20, 60, 60))]).status == "unchanged"
    assert target.stat().st_mtime_ns == before
    # withdrawing ours leaves exactly what the person wrote
    assert write_regions(photo, []).status == "written"
    data = read_back(target)
    assert [r["Name"] for r in data["RegionInfo"]["RegionList"]] == ["Eileen M. Collins"]
    assert data["PersonInImage"] == ["Eileen M. Collins"]


def test_regions_and_descriptions_share_a_sidecar(photo):
    fields = sidecar.XmpFields(description="An astronaut in an orange suit.", keywords=["astronaut"])
    assert sidecar.write_sidecar(photo, fields).status == "written"
    write_regions(photo, [NamedFace("Eileen Collins", COLLINS)])
    assert sidecar.write_sidecar(photo, fields).status == "unchanged"  # the regions did not disturb it
    assert write_regions(photo, [NamedFace("Eileen Collins", COLLINS)]).status == "unchanged"
    target = photo.with_name("astronaut.jpg.xmp")
    out = subprocess.run([require_program("exiftool"), "-j", "-XMP:Description", "-XMP:RegionName", str(target)],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)[0]
    assert data["Description"] == "An astronaut in an orange suit." and data["RegionName"] == "Eileen Collins"


def test_broken_sidecar_is_named(photo):
    photo.with_name("astronaut.jpg.xmp").write_text("<x:xmpmeta><unclosed>")
    with pytest.raises(OculaError, match="astronaut.jpg.xmp: not valid XMP"):
        read_regions(photo)
    with pytest.raises(OculaError, match="cannot read the image's size"):
        write_regions(photo.with_name("missing.jpg"), [NamedFace("A", (1, 1, 5, 5))])


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_strip_removes_face_regions_and_names(tmp_path, fmt):
    from ocula.tasks.strip import strip

    p = tmp_path / f"people.{fmt}"
    Image.open(SAMPLES / "astronaut.jpg").save(p)
    write_regions(p, [NamedFace("Eileen Collins", COLLINS)], embed=True)
    assert read_back(p)["PersonInImage"] == ["Eileen Collins"]
    out = strip(p, output=tmp_path / f"clean.{fmt}")
    assert "face regions and names of the people pictured (XMP)" in out.removed
    left = read_back(Path(out.output))
    assert not {"RegionInfo", "PersonInImage", "RegionInfoMP"} & set(left)
    assert read_regions(out.output) == [] and people_in_image(out.output) == []
