"""XMP sidecars and embedded XMP, read back with exiftool as an independent reader.

Rules under test: descriptions, alt text and keywords land where Lightroom/digiKam look; a
second run changes nothing (not even mtime); text a person wrote stays unless --overwrite;
embedding never touches pixels; writes leave no temp files behind.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from ocula.errors import MissingDependency
from ocula.sidecar import XmpFields, embed, read_existing, sidecar_target, up_to_date, write_sidecar

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FAST = "classify,colors"  # the facts these tests need; the full analysis is tested elsewhere


def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl; .ci/run does)")
    return path


def read_xmp(path: Path) -> dict:
    """What exiftool sees, with language variants (-lang-all style keys)."""
    r = subprocess.run([exiftool(), "-j", "-G1", "-struct", "-XMP:all", "-XMP-dc:Description-en",
                        "-XMP-dc:Description-zh-CN", "-XMP-iptcCore:AltTextAccessibility-en", str(path)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)[0]


def ocula(*args: str) -> SimpleNamespace:
    """The `ocula` command run in-process (models stay loaded between calls); the real
    entry point is exercised in test_describe_builtin.py and test_cli.py."""
    from typer.testing import CliRunner

    from ocula.cli import app

    if args and args[0] == "describe" and "--steps" not in args:
        args = (*args, "--steps", FAST)
    r = CliRunner().invoke(app, list(args))
    extra = f"error: {r.exception}\n" if r.exception is not None and not isinstance(r.exception, SystemExit) else ""
    return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr + extra)


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "photos"
    d.mkdir()
    for name in ("chelsea", "coffee"):
        shutil.copy(SAMPLES / f"{name}.jpg", d / f"{name}.jpg")
    return d


def snapshot(d: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(d.iterdir())}


FIELDS = XmpFields(description="A tabby cat on a windowsill.", alt_text="A tabby cat.",
                   keywords=["cat", "tabby cat", "animal"], language="en", input_hash="h1")


# --- end to end through the command line --------------------------------------------------

def test_write_xmp_then_exiftool_reads_it_and_rerun_changes_nothing(folder, tmp_path):
    exiftool()
    report = tmp_path / "out.csv"
    r = ocula("describe", str(folder), "--purpose", "caption", "--write-xmp", "--report", str(report))
    assert r.returncode == 0, r.stderr
    side = folder / "chelsea.jpg.xmp"
    assert side.exists() and (folder / "coffee.jpg.xmp").exists()
    x = read_xmp(side)
    assert "cat" in x["XMP-dc:Description"].lower()
    assert x["XMP-dc:Description"] == x["XMP-dc:Description-en"]
    alt = x["XMP-iptcCore:AltTextAccessibility"]
    assert "cat" in alt.lower() and len(alt) <= 125
    subjects = x["XMP-dc:Subject"]
    assert subjects[0] == "cat" and "animal" in subjects
    assert "espresso" in read_xmp(folder / "coffee.jpg.xmp")["XMP-dc:Subject"]
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert {r["status"] for r in rows} == {"written"} and len(rows) == 2

    before = snapshot(folder)
    r = ocula("describe", str(folder), "--purpose", "caption", "--write-xmp", "--report", str(report))
    assert r.returncode == 0, r.stderr
    assert snapshot(folder) == before, "a second run with nothing new changed a file"
    assert "skipped" in r.stderr
    assert {r["status"] for r in csv.DictReader(report.open(encoding="utf-8"))} == {"unchanged"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temp files left behind"

    # another language adds to the same sidecar; the English text stays
    r = ocula("describe", str(folder), "--purpose", "caption", "--language", "zh", "--write-xmp")
    assert r.returncode == 0, r.stderr
    x = read_xmp(side)
    assert "猫" in x["XMP-dc:Description-zh-CN"] and "cat" in x["XMP-dc:Description-en"].lower()
    assert "猫" in x["XMP-dc:Subject"] and "cat" in x["XMP-dc:Subject"]


def test_a_description_a_person_wrote_stays(folder):
    exiftool()
    side = folder / "chelsea.jpg.xmp"
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5">'
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Chelsea napping, summer 2019</rdf:li></rdf:Alt>'
        '</dc:description><dc:subject><rdf:Bag><rdf:li>family</rdf:li></rdf:Bag></dc:subject>'
        '</rdf:Description></rdf:RDF></x:xmpmeta>', encoding="utf-8")
    r = ocula("describe", str(folder / "chelsea.jpg"), "--purpose", "alt", "--write-xmp")
    assert r.returncode == 0, r.stderr
    assert "kept the description a person wrote" in r.stderr
    x = read_xmp(side)
    assert x["XMP-dc:Description"] == "Chelsea napping, summer 2019"
    assert x["XMP-xmp:Rating"] == 5  # other metadata kept
    assert x["XMP-dc:Subject"][0] == "family" and "cat" in x["XMP-dc:Subject"]
    assert "cat" in x["XMP-iptcCore:AltTextAccessibility"].lower()  # no alt text was there: added
    before = snapshot(folder)
    assert ocula("describe", str(folder / "chelsea.jpg"), "--purpose", "alt", "--write-xmp").returncode == 0
    assert snapshot(folder) == before
    r = ocula("describe", str(folder / "chelsea.jpg"), "--purpose", "alt", "--write-xmp", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert "cat" in read_xmp(side)["XMP-dc:Description"].lower()
    assert read_xmp(side)["XMP-dc:Subject"][0] == "family"  # keywords a person added stay even then


def test_embed_keeps_pixels_and_exiftool_reads_it(tmp_path):
    exiftool()
    d = tmp_path / "e"
    d.mkdir()
    src = Image.open(SAMPLES / "chelsea.jpg")
    shutil.copy(SAMPLES / "chelsea.jpg", d / "cat.jpg")
    src.save(d / "cat.png")
    src.save(d / "cat.webp", quality=80)
    pixels = {p.name: np.asarray(Image.open(p).convert("RGB")).copy() for p in d.iterdir()}
    r = ocula("describe", str(d), "--purpose", "alt", "--embed")
    assert r.returncode == 0, r.stderr
    for p in d.iterdir():
        assert np.array_equal(np.asarray(Image.open(p).convert("RGB")), pixels[p.name]), f"{p.name}: pixels changed"
        x = read_xmp(p)
        assert "cat" in x["XMP-dc:Description"].lower(), p.name
        assert x["XMP-iptcCore:AltTextAccessibility"] == x["XMP-dc:Description"]
        assert "cat" in x["XMP-dc:Subject"]
    assert sorted(p.name for p in d.iterdir()) == ["cat.jpg", "cat.png", "cat.webp"]  # no temp files, no sidecars
    before = snapshot(d)
    r = ocula("describe", str(d), "--purpose", "alt", "--embed")
    assert r.returncode == 0 and snapshot(d) == before


# --- the sidecar module ---------------------------------------------------------------------

def test_second_write_is_a_no_op_and_ours_is_replaced(folder):
    img = folder / "chelsea.jpg"
    assert write_sidecar(img, FIELDS).status == "written"
    side = sidecar_target(img)
    stamp = side.stat().st_mtime_ns
    assert write_sidecar(img, FIELDS).status == "unchanged" and side.stat().st_mtime_ns == stamp
    assert up_to_date(img, "h1", embed=False) and not up_to_date(img, "h2", embed=False)
    new = XmpFields(description="A cat.", alt_text="A cat.", keywords=["cat"], language="en", input_hash="h2")
    assert write_sidecar(img, new).status == "written"  # our own earlier text is ours to replace
    ex = read_existing(img, embed=False)
    assert ex.descriptions == {"x-default": "A cat.", "en": "A cat."} and ex.keywords == ["cat"]


def test_text_a_person_edited_after_us_is_theirs(folder):
    img = folder / "chelsea.jpg"
    write_sidecar(img, FIELDS)
    side = sidecar_target(img)
    side.write_text(side.read_text(encoding="utf-8").replace("A tabby cat on a windowsill.", "Our cat Chelsea."),
                    encoding="utf-8")
    out = write_sidecar(img, XmpFields(description="A cat.", alt_text="A cat.", keywords=["cat"], input_hash="h3"))
    assert "dc:description" in out.kept
    assert read_existing(img, embed=False).descriptions["x-default"] == "Our cat Chelsea."


def test_lightroom_style_sidecar_is_used_and_exif_description_counts(folder):
    img = folder / "coffee.jpg"
    lr = folder / "coffee.xmp"
    lr.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                  '<rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>', encoding="utf-8")
    assert sidecar_target(img) == lr
    assert write_sidecar(img, FIELDS).path == lr and not (folder / "coffee.jpg.xmp").exists()
    # a description in EXIF ImageDescription counts as a person's; camera boilerplate does not
    for text, kept in (("Espresso at Café Central", True), ("OLYMPUS DIGITAL CAMERA", False)):
        pic = folder / f"exif-{kept}.jpg"
        im = Image.open(SAMPLES / "coffee.jpg")
        exif = im.getexif()
        exif[0x010E] = text
        im.save(pic, exif=exif)
        out = write_sidecar(pic, FIELDS)
        assert ("dc:description" in out.kept) == kept


def test_broken_sidecar_is_a_clear_error(folder):
    side = folder / "chelsea.jpg.xmp"
    side.write_text("<x:xmpmeta><unclosed>", encoding="utf-8")
    with pytest.raises(Exception, match="not valid XMP"):
        write_sidecar(folder / "chelsea.jpg", FIELDS)
    r = ocula("describe", str(folder), "--write-xmp")
    assert r.returncode == 1 and "chelsea.jpg.xmp: not valid XMP" in r.stderr
    assert (folder / "coffee.jpg.xmp").exists()  # the other file still got its sidecar
    assert side.read_text(encoding="utf-8") == "<x:xmpmeta><unclosed>"


def test_embed_without_exiftool_says_how_to_install(folder, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MissingDependency, match="apt-get install libimage-exiftool-perl"):
        embed(folder / "chelsea.jpg", FIELDS)
    assert (folder / "chelsea.jpg").read_bytes() == (SAMPLES / "chelsea.jpg").read_bytes()


def test_report_jsonl(folder, tmp_path):
    rep = tmp_path / "r.jsonl"
    r = ocula("describe", str(folder), "--purpose", "tags", "--language", "zh", "--report", str(rep))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in rep.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 and all(row["status"] == "described" for row in rows)
    assert any(row["text"].startswith("猫") for row in rows)
