"""OCR with the real engines on text rendered with real fonts (DejaVuSans, WenQuanYi Micro Hei).

Bounds were measured first (these two-line images, 36 px; camera copies over seeds 0-5):
RapidOCR CER 0.000 clean English and Chinese, camera English <= 0.041, Chinese 0.000;
Tesseract 0.000 clean English, 0.083 clean Chinese ("天和气", "只别"), camera <= 0.014 / 0.042.
The bounds leave room for other CPUs and library builds, not for a broken pipeline.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from ocula import _textset as ts
from ocula.backends import tesseract as tess_backend
from ocula.config import load_settings
from ocula.errors import InvalidArgument, ModelUnavailable
from ocula.tasks import ocr as ocr_module
from ocula.tasks.ocr import detect_language, ocr

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ENGLISH = ["The quick brown fox jumps over 13 lazy dogs", "Invoice 2026-11-23 total 42.50"]
CHINESE = ["欢迎使用图像识别工具", "今天天气很好，我们去公园散步"]

if ts.missing_fonts():
    pytest.skip(f"fonts missing: apt-get install -y {' '.join(ts.missing_fonts())} (.ci/run installs them)",
                allow_module_level=True)


def _tesseract_problem() -> str | None:
    try:
        tess_backend.check("auto")
    except ModelUnavailable as e:
        return str(e)
    return None


TESSERACT_PROBLEM = _tesseract_problem()
ENGINES = ["rapidocr", pytest.param("tesseract", marks=pytest.mark.skipif(
    TESSERACT_PROBLEM is not None, reason=f"tesseract unusable here: {TESSERACT_PROBLEM} (.ci/run installs it)"))]
# (clean, camera) CER bounds per engine and language
BOUNDS = {"rapidocr": {"en": (0.03, 0.10), "zh": (0.03, 0.10)},
          "tesseract": {"en": (0.03, 0.10), "zh": (0.15, 0.15)}}


def _inside(line, width: int, height: int) -> bool:
    x, y, w, h = line.bbox
    pts_ok = all(0 <= px <= width and 0 <= py <= height for px, py in line.box)
    return pts_ok and x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= width and y + h <= height


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_character_error_rate(engine, lang):
    lines = ENGLISH if lang == "en" else CHINESE
    img = ts.render_lines(lines, size=36)
    clean_bound, camera_bound = BOUNDS[engine][lang]
    res = ocr(img, engine=engine)
    assert res.engine == engine
    assert ts.cer("\n".join(lines), res.text) <= clean_bound, res.text
    assert [ln.language for ln in res.lines] == [lang] * len(lines)
    assert res.language == lang
    camera = ts.degrade(img, seed=1)
    res = ocr(camera, engine=engine)
    assert ts.cer("\n".join(lines), res.text) <= camera_bound, res.text


@pytest.mark.parametrize("engine", ENGINES)
def test_reading_order_boxes_and_mixed_language(engine):
    lines = [ENGLISH[1], CHINESE[0], "订单号 58213 已发货 order shipped"]
    img = ts.render_lines(lines, size=32)
    res = ocr(img, engine=engine)
    assert len(res.lines) == 3
    assert [ln.order for ln in res.lines] == [0, 1, 2]
    for truth, line in zip(lines, res.lines):
        assert ts.cer(truth, line.text) <= 0.1, (truth, line.text)
        assert 0.5 <= line.confidence <= 1
        assert _inside(line, img.width, img.height)
    tops = [ln.bbox[1] for ln in res.lines]
    assert tops == sorted(tops)
    # all lines start at the left margin (40 px) and are about one text height tall
    for ln in res.lines:
        assert abs(ln.bbox[0] - 40) <= 12 and 20 <= ln.bbox[3] <= 70
    assert [ln.language for ln in res.lines] == ["en", "zh", "mixed"]
    assert res.language == "mixed"
    assert res.text == "\n".join(ln.text for ln in res.lines)


@pytest.mark.parametrize("engine", ENGINES)
def test_blank_image_has_no_text(engine):
    res = ocr(Image.new("RGB", (640, 480), "white"), engine=engine)
    assert res.lines == [] and res.text == "" and res.language == "und"
    assert (res.image.width, res.image.height) == (640, 480)


def test_two_columns_read_column_by_column_and_receipt_rows_stay_rows():
    left = ts.render_lines(["Column one starts here and", "it continues on this line",
                            "and ends after the third"], size=28, margin=0)
    right = ts.render_lines(["The second column begins", "right next to the first one",
                             "and also has three lines"], size=28, margin=0)
    title = ts.render_lines(["A Title Across Both Columns"], size=40, margin=0)
    page = Image.new("RGB", (left.width + right.width + 140, title.height + left.height + 160), "white")
    page.paste(title, (40, 30))
    page.paste(left, (40, title.height + 90))
    page.paste(right, (left.width + 100, title.height + 90))
    texts = [ts.normalize(ln.text) for ln in ocr(page).lines]
    assert texts == ["A Title Across Both Columns", "Column one starts here and", "it continues on this line",
                     "and ends after the third", "The second column begins", "right next to the first one",
                     "and also has three lines"]

    receipt = Image.new("RGB", (700, 260), "white")
    for i, (item, price) in enumerate([("Coffee", "4.50"), ("Bread", "2.00"), ("Total", "6.50")]):
        receipt.paste(ts.render_lines([item], size=30, margin=0), (40, 40 + i * 60))
        receipt.paste(ts.render_lines([price], size=30, margin=0), (560, 40 + i * 60))
    assert ocr(receipt).text == "Coffee 4.50\nBread 2.00\nTotal 6.50"


def test_boxes_are_in_full_image_pixels_after_downscaling():
    # a 4000x1500 JPEG is read from a copy at most MAX_SIDE wide; boxes must map back
    page = Image.new("RGB", (4000, 1500), (240, 240, 236))
    line = ts.render_lines(["Parking for guests is behind the building"], size=90, margin=0, paper=240)
    page.paste(line, (1500, 900))
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=90)
    assert ocr_module.MAX_SIDE is not None and 4000 > ocr_module.MAX_SIDE
    res = ocr(buf.getvalue())
    assert (res.image.width, res.image.height) == (4000, 1500)
    assert len(res.lines) == 1 and ts.cer("Parking for guests is behind the building", res.text) <= 0.05
    x, y, w, h = res.lines[0].bbox
    assert abs(x - 1500) <= 40 and abs(y - 900) <= 40
    assert abs(w - line.width) <= 80 and abs(h - line.height) <= 60
    assert _inside(res.lines[0], 4000, 1500)


def test_sample_text_photo():
    # skimage's "text": handwritten formulas photographed at a slant, on grey paper. Neither
    # engine reads formulas; what must hold is a clean, bounded answer, not invented prose.
    for engine in ["rapidocr"] + ([] if TESSERACT_PROBLEM else ["tesseract"]):
        res = ocr(SAMPLES / "text.jpg", engine=engine)
        assert (res.image.width, res.image.height) == (448, 172)
        assert len(res.text) < 40
        for ln in res.lines:
            assert ln.confidence >= 0.5 and _inside(ln, 448, 172)
            assert any(ch.isalnum() for ch in ln.text)  # lone symbols are dropped
        json.loads(res.model_dump_json())


def test_min_confidence_filters_lines():
    img = ts.render_lines(ENGLISH, size=36)
    everything = ocr(img, min_confidence=0.0)
    assert len(everything.lines) == 2
    assert ocr(img, min_confidence=1.0).lines == []
    worst = min(ln.confidence for ln in everything.lines) + 1e-3  # confidences are rounded to 4 places
    strict = ocr(img, min_confidence=worst)
    assert len(strict.lines) == 1 and strict.lines[0].confidence >= worst


def test_engine_from_settings_and_bad_options():
    settings = load_settings(env={}, ocr_engine="nope")
    with pytest.raises(InvalidArgument, match="rapidocr, tesseract"):
        ocr(Image.new("RGB", (64, 64), "white"), settings=settings)
    with pytest.raises(InvalidArgument, match="rapidocr, tesseract"):
        ocr(Image.new("RGB", (64, 64), "white"), engine="easyocr")
    with pytest.raises(InvalidArgument, match="auto, en, zh"):
        ocr(Image.new("RGB", (64, 64), "white"), language="fr")
    for bad in (-0.1, 1.5, "high", True):
        with pytest.raises(InvalidArgument, match="min_confidence"):
            ocr(Image.new("RGB", (64, 64), "white"), min_confidence=bad)


@pytest.mark.skipif(TESSERACT_PROBLEM is not None, reason=f"tesseract unusable here: {TESSERACT_PROBLEM}")
def test_settings_pick_tesseract_and_language_hint():
    settings = load_settings(env={}, ocr_engine="tesseract")
    img = ts.render_lines(CHINESE, size=36)
    res = ocr(img, language="zh", settings=settings)
    assert res.engine == "tesseract" and res.language == "zh"
    assert ts.cer("\n".join(CHINESE), res.text) <= 0.15
    # no spaces left between Chinese characters
    assert all(" " not in ln.text for ln in res.lines)


def test_tesseract_missing_program_or_language_says_how_to_install(monkeypatch):
    monkeypatch.setattr(tess_backend.shutil, "which", lambda name: None)
    with pytest.raises(ModelUnavailable, match="apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim"):
        ocr(Image.new("RGB", (64, 64), "white"), engine="tesseract")
    monkeypatch.undo()
    monkeypatch.setattr(tess_backend, "_program", lambda: "/usr/bin/tesseract")
    monkeypatch.setattr(tess_backend, "_languages", lambda exe: frozenset({"eng", "osd"}))
    with pytest.raises(ModelUnavailable, match="apt-get install -y tesseract-ocr-chi-sim"):
        ocr(Image.new("RGB", (64, 64), "white"), engine="tesseract", language="zh")
    tess_backend.check("en")  # English alone needs only eng


def test_tesseract_tsv_grouping_and_cjk_spaces():
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "4\t1\t1\t1\t1\t0\t10\t10\t200\t30\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t10\t30\t30\t96.0\t今天",
        "5\t1\t1\t1\t1\t2\t45\t10\t30\t30\t90.0\t天气",
        "5\t1\t1\t1\t1\t3\t80\t12\t15\t28\t94.0\t，",
        "5\t1\t1\t1\t1\t4\t100\t10\t60\t30\t92.0\tWiFi",
        "5\t1\t1\t1\t1\t5\t170\t10\t40\t30\t20.0\t~~",
        "5\t1\t2\t1\t1\t1\t10\t60\t50\t20\t88.0\tHello",
        "5\t1\t2\t1\t1\t2\t65\t60\t50\t20\t86.0\tworld",
    ]
    lines = tess_backend.parse_tsv("\n".join([header, *rows]), min_confidence=0.5)
    assert [ln.text for ln in lines] == ["今天天气， WiFi", "Hello world"]
    assert lines[0].box == [(10, 10), (160, 10), (160, 40), (10, 40)]
    assert 0.9 < lines[0].confidence < 0.95
    assert tess_backend.join_words(["请", "访问", "www.example.com", "了解"]) == "请访问 www.example.com 了解"


def test_language_of_a_line():
    assert detect_language("The quick brown fox") == "en"
    assert detect_language("今天天气很好") == "zh"
    assert detect_language("营业时间 9:00-18:00") == "zh"
    assert detect_language("请访问 www.example.com 了解更多") == "mixed"
    assert detect_language("2026-11-23 42.50") == "und"
    assert detect_language("") == "und"


def test_cer_helper():
    assert ts.cer("abc", "abc") == 0
    assert ts.cer("abcd", "abxd") == 0.25
    assert ts.cer("今天 天气，很好", "今天天气,很好") == 0  # CJK spacing and full-width forms
    assert ts.cer("", "") == 0 and ts.cer("", "x") == 1
