"""RAW files and videos (issue 14): DNGs written here (with and without an embedded JPEG
preview) decode through their preview or LibRaw's demosaicing, with EXIF from the RAW itself;
RAW sidecars are NAME.xmp; videos made here with PyAV give keyframes at scene changes and every
few seconds, analyze reports each keyframe, the index makes them searchable with their time, and
bad files of both kinds are one line.

Not covered (no such files can be made here): NEF, CR2, CR3, ARW, ORF, RW2 and RAF themselves —
their maker-specific previews and EXIF layouts (CR3's is not TIFF; RAF's EXIF sits in its preview
JPEG) are LibRaw's and Pillow's business, and exiftool's for CR3 when it is installed."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import require_program
from media_helpers import make_dng, make_video

pytest.importorskip("rawpy")
pytest.importorskip("av")

from ocula import Index  # noqa: E402
from ocula.config import load_settings  # noqa: E402
from ocula.errors import InvalidImage  # noqa: E402
from ocula.image import load_image  # noqa: E402
from ocula.media import clock, frame_key, sample_video, split_frame_key  # noqa: E402
from ocula.sidecar import XmpFields, sidecar_target, write_sidecar  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _similar(a: Image.Image, b: Image.Image) -> float:
    """Correlation of two pictures' 32x32 grey thumbnails (1: the same picture)."""
    x = np.asarray(a.convert("L").resize((32, 32)), np.float32).ravel()
    y = np.asarray(b.convert("L").resize((32, 32)), np.float32).ravel()
    return float(np.corrcoef(x, y)[0, 1])


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> Path:
    """A picture with a word large enough to be read in a small video frame."""
    path = tmp_path_factory.mktemp("card") / "card.png"
    img = Image.new("RGB", (700, 480), "white")
    font = ImageFont.truetype(FONT, 96) if os.path.exists(FONT) else ImageFont.load_default(96)
    ImageDraw.Draw(img).text((60, 180), "HARBOUR", fill="black", font=font)
    img.save(path)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory, samples, card) -> Path:
    """12 s: a cat (0-4 s), the word HARBOUR (4-8 s), a rocket (8-12 s), with a recording time
    (UTC) and a position in Paris, as a phone writes them."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    return make_video(path, [samples / "chelsea.jpg", card, samples / "rocket.jpg"], size=(640, 480),
                      seconds_each=4, metadata={"creation_time": "2024-05-12T07:20:00.000000Z",
                                                "location": "+48.8584+002.2945/"})


# -- RAW -------------------------------------------------------------------------------------

def test_dng_preview_is_the_fast_path_and_demosaicing_gives_the_same_picture(tmp_path, samples):
    dng = make_dng(tmp_path / "IMG_1.dng", samples / "chelsea.jpg", (640, 426), preview=(640, 426), orientation=6)
    fast = load_image(dng, max_side=256)
    assert fast.format == "DNG" and fast.raw == "preview 640x426"
    assert fast.original_size == (426, 640) and fast.size == (213, 320)  # turned upright (orientation 6)
    slow = load_image(dng, max_side=256, settings=load_settings(raw_decode="demosaic"))
    assert slow.raw.startswith("demosaiced") and slow.size[0] < slow.size[1]
    assert _similar(fast.image, slow.image) > 0.9  # the same cat, the same way up
    assert _similar(fast.image, Image.open(samples / "chelsea.jpg").rotate(-90, expand=True)) > 0.9


def test_dng_without_a_large_enough_preview_is_demosaiced(tmp_path, samples):
    dng = make_dng(tmp_path / "plain.dng", samples / "rocket.jpg", (640, 426))  # only an 80 px thumbnail
    full = load_image(dng, max_side=1024)
    assert full.raw == "demosaiced" and full.size == (640, 426)
    assert _similar(full.image, Image.open(samples / "rocket.jpg")) > 0.9
    assert load_image(dng, max_side=200).raw == "demosaiced at half size"
    assert load_image(dng, max_side=64).raw == "preview 80x53"  # enough for what was asked
    forced = load_image(dng, max_side=1024, settings=load_settings(raw_decode="preview"))
    assert forced.raw == "preview 80x53"


def test_raw_bytes_are_recognised_without_a_suffix(tmp_path, samples):
    dng = make_dng(tmp_path / "x.dng", samples / "coffee.jpg", (320, 240), preview=(320, 240))
    loaded = load_image(dng.read_bytes(), max_side=320)
    assert loaded.format == "DNG" and loaded.raw == "preview 320x240"


def test_exif_comes_from_the_raw_file(tmp_path, samples):
    from ocula.tasks.metadata import metadata

    dng = make_dng(tmp_path / "e.dng", samples / "coffee.jpg", (320, 240), preview=(320, 240),
                   make="Nikon", model="Z 6", datetime="2023:07:01 10:00:00")
    md = metadata(dng)
    assert (md.camera_make, md.camera_model) == ("Nikon", "Z 6")
    assert md.time.known and md.time.local == "2023-07-01T10:00:00"
    tool = require_program("exiftool")
    subprocess.run([tool, "-q", "-m", "-overwrite_original", "-DateTimeOriginal=2024:05:12 15:20:00", "-ISO=800",
                    "-GPSLatitude=31.2304", "-GPSLatitudeRef=N", "-GPSLongitude=121.4737", "-GPSLongitudeRef=E",
                    "-LensModel=NIKKOR Z 24-70mm", str(dng)], check=True)
    md = metadata(dng, gps=True, place=True)
    assert md.iso == 800 and md.lens == "NIKKOR Z 24-70mm"
    assert md.time.local == "2024-05-12T15:20:00"
    assert md.gps is not None and abs(md.gps.latitude - 31.2304) < 1e-3 and md.place.city.en == "Shanghai"
    assert load_image(dng, max_side=320).format == "DNG"  # exiftool's rewrite still decodes


def test_exiftool_fills_what_the_raw_structure_does_not_give(tmp_path, samples):
    """CR3 and others that are not TIFF inside: the fields come from exiftool when installed
    (tried here on a DNG, whose fields exiftool reads the same way)."""
    from ocula.media import _from_exiftool

    require_program("exiftool")
    dng = make_dng(tmp_path / "c.dng", samples / "coffee.jpg", (320, 240), make="Canon", model="EOS R5")
    exif = Image.Exif()
    assert _from_exiftool(exif, dng)
    assert (exif[0x010F], exif[0x0110]) == ("Canon", "EOS R5")


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "jpeg-named-nef"])
def test_bad_raw_is_one_line_and_a_batch_goes_on(tmp_path, samples, kind):
    from ocula.tasks.analyze import analyze_many

    good = make_dng(tmp_path / "good.dng", samples / "coffee.jpg", (320, 240), preview=(320, 240))
    bad = tmp_path / ("bad.nef" if kind != "truncated" else "bad.dng")
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[:3000])
    elif kind == "garbage":
        bad.write_bytes(os.urandom(5000))
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        shutil.copy(samples / "coffee.jpg", bad)
    with pytest.raises(InvalidImage) as e:
        load_image(bad, max_side=256)
    assert "\n" not in str(e.value) and e.value.reason
    results = list(analyze_many([bad, good], steps=["colors"]))
    assert results[0][1].kind == "InvalidImage" and results[1][1].image.format == "DNG"


def test_raw_sidecars_are_name_xmp(tmp_path, samples):
    raw = make_dng(tmp_path / "IMG_0001.dng", samples / "coffee.jpg", (160, 120))
    assert sidecar_target(raw) == tmp_path / "IMG_0001.xmp"
    jpeg = tmp_path / "IMG_0001.jpg"  # the camera's JPEG beside its RAW
    shutil.copy(samples / "coffee.jpg", jpeg)
    out = write_sidecar(raw, XmpFields(description="An espresso.", keywords=["coffee"]))
    assert out.path == tmp_path / "IMG_0001.xmp" and out.status == "written"
    assert sidecar_target(jpeg) == tmp_path / "IMG_0001.jpg.xmp"  # never the RAW's
    assert write_sidecar(raw, XmpFields(description="An espresso.", keywords=["coffee"])).status == "unchanged"
    other = tmp_path / "B.nef"
    (tmp_path / "B.nef.xmp").write_text("")  # darktable's name, already there: kept in use
    other.write_bytes(b"")
    assert sidecar_target(other) == tmp_path / "B.nef.xmp"


# -- video -------------------------------------------------------------------------------------

def test_keyframes_at_scene_changes_and_every_n_seconds(clip):
    v = sample_video(clip, max_side=320)
    assert (v.format, v.codec, v.width, v.height) == ("MP4", "h264", 640, 480)
    assert v.duration == pytest.approx(12, abs=0.2)
    ats = [f.at for f in v.frames]
    assert ats[0] == 0 and [round(a) for a in ats if a] == [4, 8]  # the encoder put key frames at the cuts
    assert [f.scene for f in v.frames] == [False, True, True]
    assert v.frames[1].image.size == (320, 240) and v.frames[1].image.source == frame_key(str(clip), ats[1])
    denser = sample_video(clip, max_side=160, settings=load_settings(video_every=2.5))
    assert len(denser.frames) > 3  # frames between the key frames, decoded where the gaps are
    assert len(sample_video(clip, max_side=160, settings=load_settings(video_max_frames=2)).frames) == 2


def test_sparse_key_frames_are_filled_every_n_seconds(tmp_path, samples):
    path = make_video(tmp_path / "one_gop.mp4", [samples / "coffee.jpg", samples / "chelsea.jpg"], fps=10,
                      seconds_each=5, gop=1000)  # a single key frame at the start
    v = sample_video(path, max_side=160, settings=load_settings(video_every=3))
    ats = [round(f.at) for f in v.frames]
    assert ats[:4] == [0, 3, 6, 9]
    pics = [np.asarray(f.image.image.resize((8, 8)), np.float32) / 255 for f in v.frames]
    apart = lambda a, b: float(np.abs(a - b).mean())  # noqa: E731
    assert apart(pics[3], pics[2]) < 0.12 < apart(pics[3], pics[1])  # 6 s and 9 s: the cat; 3 s: the coffee


def test_rotated_video_frames_are_upright(tmp_path, samples):
    path = make_video(tmp_path / "phone.mp4", [samples / "chelsea.jpg"], size=(320, 240), seconds_each=1,
                      rotation=-90)  # a phone held upright: the picture is turned clockwise for display
    v = sample_video(path, max_side=320)
    assert (v.width, v.height, v.rotation) == (240, 320, 270)
    assert v.frames[0].image.size == (240, 320)
    cat = Image.open(samples / "chelsea.jpg").resize((384, 240)).crop((0, 0, 320, 240))
    assert _similar(v.frames[0].image.image, cat.rotate(-90, expand=True)) > 0.8


def test_analyze_reports_each_keyframe(clip):
    from ocula.cli.render import render
    from ocula.tasks.analyze import analyze

    a = analyze(clip, steps=["classify", "metadata"], place=True)
    assert a.image.format == "MP4" and a.video.keyframes == 3 and a.video.fps == 10
    assert [k.timestamp for k in a.keyframes] == ["00:00", "00:04", "00:08"]
    assert "cat" in a.keyframes[0].facts.labels[0].name
    t = a.keyframes[1].facts.metadata.time
    assert t.local == "2024-05-12T09:20:00" and t.offset == "+02:00"  # UTC moved to Paris time
    assert a.keyframes[1].facts.metadata.place.city.en == "Paris"
    lines = render(a)
    assert any(line.startswith("  @ 00:04 (new scene)") for line in lines), lines


@pytest.mark.parametrize("name,codec", [("clip.webm", "libvpx-vp9"), ("clip.webm", "libvpx"), ("clip.mkv", "libx264"),
                                        ("clip.mov", "mpeg4")])
def test_webm_mkv_and_mov_are_read_like_mp4(tmp_path, samples, name, codec):
    """The containers and codecs phones, cameras and browsers write besides MP4/H.264."""
    from ocula.tasks.analyze import analyze

    video = make_video(tmp_path / name, [samples / "chelsea.jpg", samples / "rocket.jpg"], codec=codec)
    a = analyze(video, steps=["classify"])
    assert a.image.format == Path(name).suffix[1:].upper()
    assert [k.timestamp for k in a.keyframes] == ["00:00", "00:02"]
    assert "cat" in a.keyframes[0].facts.labels[0].name


def test_video_is_named_when_an_image_is_expected(clip):
    with pytest.raises(InvalidImage, match="is a video|it is a video"):
        load_image(clip.read_bytes())


def test_a_keyframe_name_given_as_an_image_says_what_it_is(clip):
    """VIDEO#t=SECONDS (how the index and people show name a keyframe) is not a file: the one
    line says so and where the keyframes are reported."""
    with pytest.raises(InvalidImage, match=r"no such file: a frame of the video .*clip\.mp4.*ocula analyze"):
        load_image(f"{clip}#t=4.000")
    with pytest.raises(InvalidImage, match="no such file$"):
        load_image(f"{clip.parent / 'gone.mp4'}#t=4.000")


@pytest.mark.parametrize("kind", ["garbage", "no-index", "cut-short"])
def test_bad_video_is_one_line_and_never_hangs(tmp_path, clip, card, kind):
    from ocula.tasks.analyze import analyze_many

    bad = tmp_path / f"{kind}.mp4"
    data = clip.read_bytes()
    if kind == "garbage":
        bad.write_bytes(os.urandom(20000))
    elif kind == "no-index":  # the recording stopped before the index (moov) at the end was written
        bad.write_bytes(data[: int(data.find(b"moov")) - 4])
    else:  # moov first (faststart), data cut in the middle: the frames before the cut count
        fast = make_video(tmp_path / "fast.mp4", [card, card], size=(320, 240), seconds_each=4, faststart=True)
        whole = fast.read_bytes()
        bad.write_bytes(whole[: len(whole) * 2 // 3])
    if kind == "cut-short":
        v = sample_video(bad, max_side=160)
        assert v.frames and v.frames[0].at == 0
    else:
        with pytest.raises(InvalidImage) as e:
            sample_video(bad, max_side=160)
        assert "\n" not in str(e.value)
        if kind == "no-index":
            assert "truncated" in e.value.reason
    good = tmp_path / "good.png"
    Image.new("RGB", (64, 48), "red").save(good)
    out = list(analyze_many([bad, good], steps=["colors"]))
    assert isinstance(out[1][1].colors.colors, list)


# -- the index -------------------------------------------------------------------------------

@pytest.fixture()
def mixed(tmp_path, samples, clip) -> Path:
    """A camera folder: a JPEG, a HEIC, a DNG and an MP4."""
    root = tmp_path / "camera"
    root.mkdir()
    Image.open(samples / "coffee.jpg").save(root / "coffee.jpg")
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        Image.open(samples / "flower.jpg").save(root / "flower.heic")
    except (ImportError, OSError, KeyError):  # no HEIC encoder in this build: the rest still counts
        pass
    make_dng(root / "cat.dng", samples / "chelsea.jpg", (640, 426), preview=(640, 426))
    shutil.copy(clip, root / "clip.mp4")
    return root


def test_a_mixed_folder_indexes_completely_and_search_finds_the_frame(tmp_path, mixed):
    from ocula.tasks.search import search

    db = tmp_path / "ix.db"
    ix = Index(db)
    r = ix.add(mixed, steps=["classify", "ocr"])
    files = len(list(mixed.iterdir()))
    assert not r.failed, r.failed
    assert (r.seen, r.analysed, r.videos, r.frames, r.images) == (files, files, 1, 3, files)
    hit = search("harbour", db=db, top_k=3).hits[0]
    assert hit.path == str(mixed / "clip.mp4") and hit.media == "video"
    assert hit.timestamp == "00:04" and hit.at == pytest.approx(4, abs=0.2) and "HARBOUR" in hit.text
    if importlib.util.find_spec("fastapi"):  # the page's thumbnail of that hit is the frame
        from types import SimpleNamespace

        from ocula.config import get_settings
        from ocula.serve.routes.search import _thumbnail

        state = SimpleNamespace(db=db, settings=get_settings(), config=SimpleNamespace(folders=[mixed]))
        thumb = Image.open(io.BytesIO(_thumbnail(state, hit.id, 128)))
        assert thumb.size == (128, 96) and np.asarray(thumb.convert("L")).min() < 60  # the black word
    cats = search("cat", db=db, top_k=5).hits
    assert [h.path for h in cats].count(str(mixed / "clip.mp4")) == 1  # one hit per video
    assert str(mixed / "cat.dng") in [h.path for h in cats]
    st = ix.stats()
    assert (st.images, st.videos, st.frames) == (files, 1, 3)
    # facts count files as images does: the video once (its keyframes have the text, its time and
    # position), not once per keyframe; the DNG has a capture time
    assert (st.with_text, st.with_time, st.with_place, st.with_gps) == (1, 2, 1, 1)

    r = ix.add(mixed, steps=["classify", "ocr"])  # nothing changed: a stat per file
    assert (r.analysed, r.unchanged) == (0, files)
    os.rename(mixed / "clip.mp4", mixed / "harbour.mp4")
    shutil.copy(mixed / "harbour.mp4", mixed / "copy.mp4")
    r = ix.add(mixed, steps=["classify", "ocr"])
    assert (r.analysed, r.renamed, r.copied) == (0, 1, 1)
    paths = {h.path for h in search("harbour", db=db, top_k=5).hits[:2]}
    assert paths == {str(mixed / "harbour.mp4"), str(mixed / "copy.mp4")}
    assert ix.stats().frames == 6
    os.remove(mixed / "copy.mp4")
    (mixed / "harbour.mp4").write_bytes(b"\x00\x00\x00\x20ftypisom" + os.urandom(3000))  # now broken
    r = ix.add(mixed, steps=["classify", "ocr"])
    assert r.removed == 1 and [f.source for f in r.failed] == [str(mixed / "harbour.mp4")]
    assert ix.stats().frames == 0
    assert all(h.media == "image" for h in search("harbour", db=db).hits)  # no keyframe left behind


def test_keyframe_vectors_are_remade_from_the_video(tmp_path, clip):
    """Re-embedding (a new image model) decodes a keyframe from its video."""
    from ocula.media import load_media

    frame = load_media(frame_key(str(clip), 4.0), max_side=128)
    assert frame.size == (128, 96) and split_frame_key(frame.source) == (str(clip), 4.0)
    assert _similar(frame.image, sample_video(clip, max_side=128).frames[1].image.image) > 0.95
    assert clock(83.4) == "01:23" and clock(3723) == "1:02:03"


def test_detail_decodes_a_raw_or_a_keyframe_again(tmp_path, samples, card, clip):
    """Steps that look closer (OCR reading text, faces cut for embedding) use ``detail``: a RAW
    decoded reduced is decoded again through LibRaw, a keyframe again from its video; a keyframe
    of a video given as bytes keeps the pixels it has."""
    dng = make_dng(tmp_path / "card.dng", card, (1400, 960), preview=(1400, 960))
    small = load_image(dng, max_side=350)
    assert small.size == (350, 240) and small.raw == "preview 1400x960"
    assert small.detail(1400).size == (1400, 960) and _similar(small.detail(1400), Image.open(card)) > 0.9
    frame = sample_video(clip, max_side=160).frames[1].image
    assert frame.size == (160, 120) and frame.detail(640).size == (640, 480)
    assert _similar(frame.detail(640), sample_video(clip, max_side=640).frames[1].image.image) > 0.95
    assert sample_video(clip.read_bytes(), max_side=160).frames[1].image.detail(640).size == (160, 120)


def test_ocr_reads_a_raw_file(tmp_path, card):
    from ocula.tasks.analyze import analyze

    dng = make_dng(tmp_path / "sign.dng", card, (2400, 1646), preview=(2400, 1646))
    a = analyze(dng, steps=["ocr"])
    assert a.image.raw.startswith("preview") and "HARBOUR" in a.text.text.upper()


def test_faces_in_keyframes_belong_to_people(tmp_path, samples):
    """The people step of index embeds the faces of a video's keyframes: naming one finds the
    video at that time; XMP export leaves keyframes alone; removing the video removes its faces."""
    pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
    from ocula.errors import InvalidArgument
    from ocula.index import open_store
    from ocula.tasks._people import MODEL
    from ocula.tasks.index import index
    from ocula.tasks.people_export import people_export
    from ocula.tasks.people_name import people_name
    from ocula.tasks.people_show import people_show
    from ocula.tasks.search import search

    f = tmp_path / "films"
    f.mkdir()
    video = make_video(f / "talk.mp4", [samples / "coffee.jpg", samples / "grace_hopper.jpg"], size=(640, 480),
                       seconds_each=3)
    db = tmp_path / "ix.db"
    r = index([f], db=db, steps=["faces", "classify"])
    assert (r.videos, r.faces) == (1, 1) and not r.failed and not r.warnings, (r.failed, r.warnings)
    with open_store(db) as store:
        stored = store.stored_faces()
        keys = [store.face(int(i)).path for i in stored.ids]
        assert store.unscanned_faces(MODEL) == []  # keyframes scanned; the video row is not an image
    assert len(keys) == 1 and split_frame_key(keys[0])[0] == str(video)
    at = split_frame_key(keys[0])[1]
    assert at == pytest.approx(3, abs=0.3)
    with pytest.raises(InvalidArgument, match="is a video"):
        people_name(video, "Grace Hopper", db=db)
    named = people_name(f"{video}#t={at:g}", "Grace Hopper", db=db)  # the key as typed, not as stored
    assert named.person.faces == 1 and named.image == keys[0]
    hits = search(person="Grace Hopper", db=db).hits
    assert [(h.path, h.media, h.timestamp) for h in hits] == [(str(video), "video", clock(at))]
    assert [p.path for p in people_show("Grace Hopper", db=db).photos] == keys
    out = people_export(xmp=True, db=db)
    assert out.images == 0 and sorted(p.name for p in f.iterdir()) == ["talk.mp4"]  # no "talk.mp4#t=3.xmp"
    if importlib.util.find_spec("fastapi"):  # the People panel's face thumbnail is cut from the video
        from types import SimpleNamespace

        from ocula.config import get_settings
        from ocula.serve.routes.people import _face_thumbnail

        state = SimpleNamespace(db=db, settings=get_settings(), config=SimpleNamespace(folders=[f]))
        assert Image.open(io.BytesIO(_face_thumbnail(state, int(stored.ids[0]), 96))).size == (96, 96)
    again = index([f], db=db, steps=["faces", "classify"])
    assert (again.unchanged, again.faces, again.analysed) == (1, 0, 0)
    video.unlink()
    gone = index([f], db=db, steps=["faces", "classify"])
    assert gone.removed == 1
    with open_store(db) as store:
        st = store.stats()
        assert (st["images"], st["frames"], st["faces"]) == (0, 0, 0)
    assert people_show("Grace Hopper", db=db).photos == [] and search(person="Grace Hopper", db=db).hits == []


def test_an_index_made_before_videos_upgrades(tmp_path, samples):
    """An index built by the previous schema (every migration but the last: people's, schema 3)
    opens, upgrades in place and keeps its rows as photos, with their faces and people."""
    from ocula.index.store import MIGRATIONS, PEOPLE_MIGRATION, SCHEMA_VERSION, Store, _statements

    assert (PEOPLE_MIGRATION, SCHEMA_VERSION) == (2, 4)  # videos come after people
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    for step in MIGRATIONS[:-1]:
        for stmt in _statements(step):
            con.execute(stmt)
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    con.execute("INSERT INTO images(path, size, mtime_ns, hash, indexed_at) VALUES('/p/a.jpg', 1, 1, 'h', 0)")
    con.execute("INSERT INTO people(name, name_key, confirmed, created) VALUES('Ada', 'ada', 1, 0)")
    con.execute("INSERT INTO faces(image_id, x, y, w, h, embedding, model, person_id, locked, grouped) "
                "VALUES(1, 10, 10, 50, 50, ?, 'dlib', 1, 1, 1)", (np.zeros(128, np.float32).tobytes(),))
    con.execute("INSERT INTO face_scans(image_id, hash, model) VALUES(1, 'h', 'dlib')")
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.version == SCHEMA_VERSION
        assert store.count() == 1 and list(store.known()) == ["/p/a.jpg"]
        assert store.hits([1])[1].media == "image"
        assert store.person_images(1) == [(1, "/p/a.jpg")] and store.unscanned_faces("dlib") == []
        st = store.stats()
        assert (st["faces"], st["people"], st["videos"], st["frames"]) == (1, 1, 0, 0)


def test_cli_analyze_a_video_and_search_its_frame(tmp_path, clip):
    ocula = Path(sys.executable).parent / "ocula"
    env = {**os.environ, "OCULA_HOME": str(tmp_path / "home")}
    r = subprocess.run([str(ocula), "analyze", str(clip), "--steps", "classify", "--json"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [k["timestamp"] for k in data["keyframes"]] == ["00:00", "00:04", "00:08"]
    db = tmp_path / "ix.db"
    r = subprocess.run([str(ocula), "index", str(clip.parent), "--db", str(db), "--steps", "ocr"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(ocula), "search", "harbour", "--db", str(db)], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0 and f"{clip} @ 00:04" in r.stdout, r.stdout + r.stderr
