"""describe with the built-in writer: every purpose x language on real facts from the sample
photos, plus grammar, hedging, placeholders and the describe() / describe_many() / CLI shells."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ocula.errors import InvalidArgument
from ocula.results import (Analysis, Description, Face, FacesResult, ImageInfo, Label, MetadataResult, OCRResult,
                           TextLine)
from ocula.writing import PURPOSES, get_writer
from ocula.writing.base import DescribeRequest, WriterError, WriterUnavailable
from ocula.writing.builtin import ALT_MAX_EN, ALT_MAX_ZH, BuiltinWriter
from ocula.writing import vocab as V

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
OCULA = Path(sys.executable).parent / "ocula"
LANGS = ("en", "zh")
PHOTOS = ("chelsea", "coffee", "astronaut", "grace_hopper")
SUBJECT = {  # words that must name the main subject
    "chelsea": ({"cat"}, {"猫"}),
    "coffee": ({"coffee", "espresso"}, {"咖啡"}),
    "astronaut": ({"person", "people", "portrait"}, {"人"}),
    "grace_hopper": ({"person", "people", "portrait"}, {"人"}),
}
# nothing in the facts names anybody or anywhere: none of these may appear in a news caption
INVENTED = ["John", "Mary", "James", "Michael", "David", "Sarah", "Emma", "Anna", "Maria", "Jane", "Smith",
            "London", "Paris", "New York", "Beijing", "Shanghai", "Tokyo", "Berlin", "Washington",
            "张", "王伟", "李", "北京", "上海", "东京", "伦敦", "巴黎", "纽约"]
WRITER = BuiltinWriter()


@pytest.fixture(scope="module")
def facts() -> dict[str, Analysis]:
    """Real facts, computed once per module (the same analysis describe runs)."""
    from ocula.tasks.analyze import analyze
    from ocula.tasks.describe import analyze_steps

    steps = [s for s in analyze_steps() if s != "moderate"]
    return {name: analyze(SAMPLES / f"{name}.jpg", steps=steps) for name in PHOTOS}


def write(a: Analysis, **kw):
    return WRITER.write(a, DescribeRequest(**kw), None)


def unquoted(text: str) -> str:
    """Text without quoted OCR and hashtags removed of '#', for script checks."""
    return re.sub(r"“[^”]*”", "", text)


def all_text(d) -> str:
    return "\n".join([d.text, d.title or "", *d.bullets, *d.hashtags, *d.tags])


# --- every purpose x language x photo ---------------------------------------------------------

@pytest.mark.parametrize("photo", PHOTOS)
@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_purpose_and_language(facts, photo, language, purpose):
    d = write(facts[photo], purpose=purpose, language=language)
    text = d.text
    assert text.strip(), "empty text"
    share = V.cjk_share(unquoted(text))
    if language == "zh":
        assert share >= 0.9, f"Chinese output is not Chinese enough ({share:.0%}): {text!r}"
        assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text), f"spaces between Chinese characters: {text!r}"
        assert not re.search(r"[\u4e00-\u9fff][,.;:!?]", text), f"ASCII punctuation after Chinese: {text!r}"
    else:
        assert share == 0, f"English output contains CJK: {text!r}"
    en_words, zh_words = SUBJECT[photo]
    words = zh_words if language == "zh" else en_words
    hay = all_text(d).lower()
    assert any(w in hay for w in words), f"{photo}: main subject ({words}) not named in {text!r}"
    assert 0 <= d.confidence <= 1

    if purpose == "alt":
        limit = ALT_MAX_ZH if language == "zh" else ALT_MAX_EN
        assert len(text) <= limit, f"alt text is {len(text)} characters: {text!r}"
        assert not re.match(r"(?i)(an?\s+)?(image|picture|photo)\s+of\b", text)
        ends = re.findall(r"[.!?。！？](?=\s|$)", text)
        assert len(ends) == 1 and "\n" not in text, f"alt text is not one sentence: {text!r}"
    elif purpose == "news":
        ph = ("[人物]", "[地点]", "[时间]") if language == "zh" else ("[WHO]", "[WHERE]", "[WHEN]")
        assert ph[1] in text and ph[2] in text, text
        if photo in ("astronaut", "grace_hopper"):
            assert ph[0] in text, text
        for name in INVENTED:
            assert name not in text, f"news caption invented {name!r}: {text!r}"
    elif purpose == "product":
        assert d.title and 3 <= len(d.bullets) <= 5, (d.title, d.bullets)
        assert text.startswith(d.title) and all(b in text for b in d.bullets)
    elif purpose == "social":
        assert 3 <= len(d.hashtags) <= 6 and all(h.startswith("#") and " " not in h for h in d.hashtags)
        assert all(h in text for h in d.hashtags)
        if language == "zh":
            assert any(V.cjk_share(h) > 0.9 for h in d.hashtags)
    elif purpose == "tags":
        assert d.tags and len(d.tags) == len({t.lower() for t in d.tags}), d.tags
        assert text == ("、" if language == "zh" else ", ").join(d.tags)


def test_tags_put_the_cat_first(facts):
    assert "cat" in write(facts["chelsea"], purpose="tags").tags[0].lower()
    assert "猫" in write(facts["chelsea"], purpose="tags", language="zh").tags[0]


def test_chinese_reads_as_chinese(facts):
    """Measure words, no word-by-word translation."""
    assert "一只猫" in write(facts["chelsea"], purpose="alt", language="zh").text or \
        "只" in write(facts["chelsea"], purpose="alt", language="zh").text
    assert "一杯" in write(facts["coffee"], purpose="alt", language="zh").text
    assert "一个人" in write(facts["astronaut"], purpose="caption", language="zh").text


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("tone", ["neutral", "friendly", "formal", "playful"])
@pytest.mark.parametrize("length", ["short", "medium", "long"])
def test_lengths_and_tones_all_write(facts, purpose, tone, length):
    for lang in LANGS:
        d = write(facts["coffee"], purpose=purpose, language=lang, tone=tone, length=length)
        assert d.text.strip()
        if purpose == "alt":
            assert len(d.text) <= (ALT_MAX_ZH if lang == "zh" else ALT_MAX_EN)


def test_length_grows(facts):
    for lang in LANGS:
        short = write(facts["grace_hopper"], purpose="caption", language=lang, length="short").text
        long = write(facts["grace_hopper"], purpose="caption", language=lang, length="long").text
        assert len(long) > len(short)
        tags = [len(write(facts["chelsea"], purpose="tags", language=lang, length=n).tags) for n in
                ("short", "medium", "long")]
        assert tags == sorted(tags) and tags[0] <= 5


def test_deterministic(facts):
    for purpose in PURPOSES:
        for lang in LANGS:
            a = write(facts["chelsea"], purpose=purpose, language=lang, tone="playful")
            b = BuiltinWriter().write(facts["chelsea"].model_copy(deep=True),
                                      DescribeRequest(purpose=purpose, language=lang, tone="playful"), None)
            assert a.text == b.text


def test_templates_vary_between_images(facts):
    openers = {write(facts[p], purpose="caption", language="en").text.split(":")[0].split(" ")[0] for p in PHOTOS}
    assert len(openers) > 1


# --- synthetic facts: hedging, grammar, placeholders -----------------------------------------

INFO = ImageInfo(source="synthetic.jpg", format="JPEG", width=800, height=600)


def fake(labels=(), faces=0, text="", date=None, camera=None, face_h=100) -> Analysis:
    a = Analysis(image=INFO, classifier="efficientnet-lite0",
                 labels=[Label(index=i, name=n, name_zh=z, category=c, score=s) for i, n, z, c, s in labels],
                 faces=FacesResult(image=INFO, model="t", faces=[Face(box=(10 + 50 * k, 10, face_h, face_h), score=0.99)
                                                                  for k in range(faces)]))
    if text:
        a.text = OCRResult(image=INFO, engine="t", text=text, lines=[
            TextLine(text=text, confidence=0.97, box=[(0, 0), (1, 0), (1, 1), (0, 1)], bbox=(0, 0, 1, 1), order=0)])
    if date or camera:
        a.metadata = MetadataResult(image=INFO, datetime_original=date, camera_make=camera and camera.split()[0],
                                    camera_model=camera)
    return a


def test_hedging_by_confidence():
    sure = fake([(281, "tabby cat", "虎斑猫", "animal", 0.8)])
    likely = fake([(281, "tabby cat", "虎斑猫", "animal", 0.3)])
    weak = fake([(100, "black swan", "黑天鹅", "animal", 0.12), (400, "academic gown", "学位袍", "clothing", 0.05)])
    assert write(sure, purpose="alt").text == "A tabby cat."
    assert "appears" not in write(sure, purpose="caption").text
    assert write(likely, purpose="alt").text == "What appears to be a tabby cat."
    assert write(likely, purpose="alt", language="zh").text == "似乎是一只虎斑猫。"
    assert write(weak, purpose="alt").text == "What appears to be an animal."
    assert "动物" in write(weak, purpose="alt", language="zh").text
    assert "warning" not in write(sure, purpose="alt").warnings
    assert any("low confidence" in w for w in write(likely, purpose="alt").warnings)


def test_breed_unsure_but_cat_sure():
    a = fake([(285, "Egyptian cat", "埃及猫", "animal", 0.37), (282, "tiger cat", "虎纹猫", "animal", 0.36),
              (281, "tabby cat", "虎斑猫", "animal", 0.2)])
    assert write(a, purpose="alt").text == "A cat."
    assert write(a, purpose="alt", language="zh").text == "一只猫。"


def test_sure_category_unsure_kind():
    a = fake([(698, "palace", "宫殿", "building", 0.36), (442, "bell cote", "钟塔", "building", 0.2)])
    assert write(a, purpose="alt").text == "A building, possibly a palace."
    assert write(a, purpose="alt", language="zh").text == "一座建筑，可能是宫殿。"
    assert "A building, possibly a palace, is seen" in write(a, purpose="news").text


def test_articles_numbers_and_people():
    assert [V.article(w) for w in ("espresso", "cat", "hour", "unicorn", "European", "umbrella", "MRI")] == \
        ["an", "a", "an", "a", "a", "an", "an"]
    assert V.join_en(["a", "b", "c"]) == "a, b and c"  # no Oxford comma
    assert V.join_zh(["红色", "蓝色", "绿色"]) == "红色、蓝色和绿色"
    assert V.number_zh(2) == "两" and V.number_zh(12) == "十二" and V.number_zh(2, before_measure=False) == "二"
    two = fake([], faces=2)
    assert write(two, purpose="alt").text == "Two people."
    assert write(two, purpose="alt", language="zh").text == "两个人。"
    assert write(fake([], faces=1), purpose="caption", language="zh", length="short").text == "一个人。"
    assert write(fake([], faces=3), purpose="news").text.startswith("Three people, [WHO], are seen")


def named(a: Analysis, *names: str) -> Analysis:
    """The facts with the first faces recognised as people the user named (left to right)."""
    from ocula.results import NamedPerson

    faces = a.faces.faces
    return a.model_copy(update={"people": [NamedPerson(name=n, person=i + 1, box=faces[i].box, distance=0.3)
                                           for i, n in enumerate(names)]})


def test_named_people_fill_who_and_every_purpose():
    """Only people the user named (facts.people) are named; other faces stay "a person" / [WHO]."""
    uniform = [(652, "military uniform", "军装", "clothing", 0.8)]
    one = named(fake(uniform, faces=1, face_h=300), "Grace Hopper")
    assert write(one, purpose="alt").text.startswith("A portrait of Grace Hopper wearing a military uniform")
    assert write(one, purpose="alt", language="zh").text.startswith("身穿军装的Grace Hopper的肖像")
    assert "Grace Hopper wearing a military uniform" in write(one, purpose="caption").text
    assert write(one, purpose="news").text.startswith("Grace Hopper, wearing a military uniform, is seen in [WHERE]")
    zh = write(one, purpose="news", language="zh").text
    assert "身穿军装的Grace Hopper在[地点]" in zh and "[人物]" not in zh
    social = write(one, purpose="social")
    assert "Grace Hopper" in social.text and not any("Hopper" in h for h in social.hashtags)
    assert not any("Hopper" in t for t in write(one, purpose="tags").tags)  # names stay out of keywords
    # two named, one not: the stranger is "another person" in prose and keeps [WHO] in news
    three = named(fake([], faces=3), "Barack Obama", "张三")
    assert write(three, purpose="caption", length="short").text == "Barack Obama, 张三 and another person."
    assert write(three, purpose="news").text.startswith("Barack Obama, 张三 and [WHO] are seen in [WHERE]")
    assert write(three, purpose="news", language="zh").text.startswith("图为[时间]，Barack Obama、张三和[人物]在[地点]")
    assert write(three, purpose="caption", language="zh", length="short").text == "Barack Obama、张三和另外一个人。"
    five = named(fake([], faces=5), "José")
    assert "José and four other people, [WHO], are seen" in write(five, purpose="news").text
    assert "José和[人物]等四人在[地点]" in write(five, purpose="news", language="zh").text
    # the user's context wins over a recognised name
    ctx = write(one, purpose="news", context="who: Rear Admiral Grace M. Hopper").text
    assert ctx.startswith("Rear Admiral Grace M. Hopper")
    # nobody recognised: as before
    assert write(fake(uniform, faces=1), purpose="news").text.startswith("[WHO], wearing")


def test_travel_post_about_a_named_person():
    """A named person is who a travel post is about ("Grace Hopper, wearing ..., in [WHERE]"),
    never "a view of" them; the place placeholder is not capitalised into "In [WHERE]"; the text
    passes the writer checks in both languages and every tone."""
    from ocula.writing import validate
    from ocula.writing.base import Draft

    uniform = [(652, "military uniform", "军装", "clothing", 0.8)]
    one = named(fake(uniform, faces=1, face_h=300), "Grace Hopper")
    assert write(one, purpose="travel").text == "Grace Hopper, wearing a military uniform, in [WHERE]."
    assert write(one, purpose="travel", language="zh").text == "Grace Hopper在[地点]，身穿军装。"
    assert write(one, purpose="travel", tone="formal", language="zh").text == "图为Grace Hopper在[地点]，身穿军装。"
    dog = named(fake([(207, "golden retriever", "金毛猎犬", "animal", 0.8)], faces=2), "Grace Hopper", "张三")
    assert write(dog, purpose="travel", language="zh").text == "Grace Hopper、张三和一只金毛猎犬在[地点]。"
    cat = fake([(281, "tabby cat", "虎斑猫", "animal", 0.8)])
    for facts in (one, dog, fake(uniform, faces=1), named(fake([], faces=1), "José"), cat):
        for tone in ("neutral", "friendly", "formal", "playful"):
            for lang in LANGS:
                req = DescribeRequest(purpose="travel", tone=tone, language=lang, length="medium")
                text = WRITER.write(facts, req, None).text
                assert "In [WHERE]" not in text and not (facts.faces.count and "A view of" in text), text
                assert validate.check_draft(Draft(text=text, confidence=0.5), facts, req) == [], (tone, lang, text)


@pytest.mark.parametrize("index, en, zh, cat, mw", [
    (281, "tabby cat", "虎斑猫", "animal", "只"), (967, "espresso", "浓缩咖啡", "food", "杯"),
    (817, "sports car", "跑车", "vehicle", "辆"), (985, "daisy", "雏菊", "plant", "朵"),
    (663, "monastery", "修道院", "building", "座"), (652, "military uniform", "军装", "clothing", "件"),
    (389, "barracouta", "梭子鱼", "animal", "条"), (339, "sorrel", "栗色马", "animal", "匹"),
    (574, "golf ball", "高尔夫球", "sport", "个"), (404, "airliner", "客机", "vehicle", "架"),
])
def test_measure_words(index, en, zh, cat, mw):
    d = write(fake([(index, en, zh, cat, 0.9)]), purpose="alt", language="zh")
    assert d.text == f"一{mw}{zh}。"


def test_visible_text_is_quoted():
    a = fake([(919, "street sign", "路牌", "object", 0.8)], text="OPEN 24 HOURS")
    assert write(a, purpose="alt").text == "A street sign with the text “OPEN 24 HOURS”."
    assert "“OPEN 24 HOURS”" in write(a, purpose="alt", language="zh").text
    long = fake([], text="The quick brown fox jumps over the lazy dog " * 6)
    alt = write(long, purpose="alt").text
    assert len(alt) <= ALT_MAX_EN and "“" in alt and "…" in alt


def test_text_read_by_ocr_is_quoted(tmp_path):
    from ocula._textset import missing_fonts, render_lines
    from ocula.tasks.describe import describe

    if missing_fonts():
        pytest.skip(f"fonts missing: apt-get install {' '.join(missing_fonts())}")
    sign = tmp_path / "sign.png"
    render_lines(["Fresh bread and coffee served daily", "Open Monday to Friday"]).save(sign)
    d = describe(sign, purpose="alt", steps=["classify", "ocr", "colors"])
    assert d.text.startswith("Text reading “Fresh bread and coffee served daily / Open Monday")
    assert len(d.text) <= ALT_MAX_EN and "text" in d.tags
    zh = describe(sign, purpose="caption", language="zh", facts=d.facts)
    assert zh.text.startswith("画面中的文字写着“Fresh bread")
    news = describe(sign, purpose="news", facts=d.facts).text
    assert news.count("Fresh bread") == 1 and "[WHERE]" in news


def test_alt_never_starts_with_image_of_and_fits_with_long_context(facts):
    ctx = "at the annual spring festival of the historic old town, photographed from the north bank of the river " * 2
    for photo in PHOTOS:
        d = write(facts[photo], purpose="alt", context=ctx)
        assert len(d.text) <= ALT_MAX_EN and not d.text.lower().startswith(("image of", "photo of", "picture of"))
        zh = write(facts[photo], purpose="alt", language="zh", context="在历史悠久的老城区举行的一年一度的春季节日上，从河的北岸拍摄" * 2)
        assert len(zh.text) <= ALT_MAX_ZH


def test_news_uses_exif_date_and_context_not_inventions():
    a = fake([], faces=1, date="2021:03:12 14:03:22", camera="Canon EOS 5D")
    en = write(a, purpose="news", length="long").text
    assert "12 March 2021" in en and "[WHEN]" not in en and "[WHO]" in en and "[WHERE]" in en
    assert "Canon EOS 5D" in en
    zh = write(a, purpose="news", language="zh").text
    assert "2021年3月12日" in zh and "[时间]" not in zh and "[人物]" in zh and "[地点]" in zh
    filled = write(a, purpose="news", context="who: Jane Doe; where: Lisbon; when: 3 May 2024").text
    assert filled.startswith("Jane Doe") and "in Lisbon" in filled and "[" not in filled
    free = write(fake([], faces=1), purpose="news",
                 context="Mayor Ana Costa opens the new library in Porto on Monday").text
    assert "Ana Costa" in free and "[" not in free
    setting = write(fake([(281, "tabby cat", "虎斑猫", "animal", 0.9)]), purpose="news",
                    context="on the windowsill").text
    assert setting == "A tabby cat is seen on the windowsill on [WHEN]."


def test_context_is_woven_in(facts):
    cat = facts["chelsea"]
    assert write(cat, purpose="alt", context="on the windowsill").text == "A cat on the windowsill."
    assert write(cat, purpose="alt", language="zh", context="在窗台上").text == "一只猫在窗台上。"
    p = write(facts["coffee"], purpose="product", context="Handmade ceramic cup, 90 ml, dishwasher safe")
    assert p.title == "Handmade Ceramic Cup" and any("90 ml" in b for b in p.bullets)
    tags = write(cat, purpose="tags", context="Chelsea, family pet").tags
    assert tags[:3] == ["cat", "Chelsea", "family pet"]
    w = write(cat, purpose="caption", language="zh", context="our cat Chelsea").warnings
    assert any("not in the output language" in x for x in w)


def test_quality_issues_only_in_long_captions(tmp_path):
    from PIL import ImageEnhance, ImageFilter

    from ocula.tasks.describe import describe

    bad = tmp_path / "bad.jpg"
    img = Image.open(SAMPLES / "chelsea.jpg").filter(ImageFilter.GaussianBlur(6))
    ImageEnhance.Brightness(img).enhance(0.25).save(bad, quality=90)
    d = describe(bad, purpose="caption", length="long", steps=["classify", "quality"])
    issues = d.facts.quality.issues
    assert "blurry" in issues, issues
    assert "blurry" in d.text and all(i in d.text for i in issues if i in ("blurry", "dark"))
    short = describe(bad, purpose="caption", facts=d.facts)
    assert "blurry" not in short.text
    zh = describe(bad, purpose="caption", length="long", language="zh", facts=d.facts)
    assert "模糊" in zh.text


# --- describe(), describe_many(), registry --------------------------------------------------

def test_describe_api_on_a_photo():
    from ocula.tasks.describe import describe

    d = describe(SAMPLES / "chelsea.jpg", purpose="alt")
    assert isinstance(d, Description) and d.writer == "builtin" and d.purpose == "alt"
    assert "cat" in d.text.lower() and len(d.text) <= 125
    assert d.facts is not None and d.facts.labels and d.tags
    data = json.loads(d.model_dump_json())
    assert data["text"] == d.text and data["image"]["source"].endswith("chelsea.jpg")
    zh = describe(SAMPLES / "chelsea.jpg", purpose="caption", language="zh-CN", facts=d.facts)
    assert "猫" in zh.text and zh.language == "zh"


@pytest.mark.parametrize("kw, word", [({"purpose": "poem"}, "alt, caption, product, social, news, tags"),
                                      ({"language": "fr"}, "en, zh"), ({"length": "huge"}, "short, medium, long"),
                                      ({"tone": "angry"}, "neutral, friendly, formal, playful"),
                                      ({"writer": "gpt"}, "builtin, llm, vlm, captioner")])
def test_bad_options_name_the_valid_ones(kw, word):
    from ocula.tasks.describe import describe

    with pytest.raises(InvalidArgument, match=re.escape(word)):
        describe(SAMPLES / "chelsea.jpg", facts=fake([]), **kw)


def test_describe_many_skips_bad_files(tmp_path):
    from ocula.results import Failure
    from ocula.tasks.describe import describe_many

    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    paths = [SAMPLES / "coffee.jpg", tmp_path / "broken.jpg", SAMPLES / "chelsea.jpg"]
    seen = []
    out = list(describe_many(paths, purpose="tags", steps=["classify", "colors"],
                             on_done=lambda src, item: seen.append(src)))
    assert [src for src, _ in out] == paths == seen
    assert isinstance(out[1][1], Failure) and "broken.jpg" in out[1][1].source
    assert "coffee" in out[0][1].tags[0] or "espresso" in out[0][1].tags[:2]
    assert out[2][1].tags[0] == "cat"


class _Broken:
    name = "llm"

    def __init__(self, exc):
        self.exc = exc

    def write(self, facts, request, image):
        raise self.exc


def test_fallback_rules(monkeypatch):
    """A failing writer hands over to the builtin one with a warning; a writer that cannot be
    used at all is one error for a single image asked for by name, a fallback in a batch."""
    import ocula.tasks.describe as D

    cat = fake([(281, "tabby cat", "虎斑猫", "animal", 0.9)])
    monkeypatch.setattr(D, "get_writer", lambda name, settings, **kw: _Broken(WriterError("answer was not JSON")))
    d = D.describe(SAMPLES / "chelsea.jpg", writer="llm", facts=cat)
    assert d.writer == "builtin" and d.text == "A tabby cat." and "answer was not JSON" in d.warnings[0]
    monkeypatch.setattr(D, "get_writer", lambda name, settings, **kw: _Broken(WriterUnavailable("server down")))
    with pytest.raises(WriterUnavailable, match="server down"):
        D.describe(SAMPLES / "chelsea.jpg", writer="llm", facts=cat)
    out = list(D.describe_many([SAMPLES / "chelsea.jpg", SAMPLES / "coffee.jpg"], writer="llm", steps=["colors"]))
    assert all(x.writer == "builtin" and "server down" in x.warnings[0] for _, x in out)


def test_registry():
    assert get_writer("builtin").name == "builtin"
    with pytest.raises(InvalidArgument, match="builtin, llm, vlm, captioner"):
        get_writer("nope")


# --- the command line --------------------------------------------------------------------------

def ocula(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OCULA), *args], capture_output=True, text=True, timeout=300)


def test_cli_done_when():
    r = ocula("describe", str(SAMPLES / "chelsea.jpg"), "--purpose", "alt")
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert "\n" not in line and "cat" in line.lower() and len(line) <= 125 and line.endswith(".")
    r = ocula("describe", str(SAMPLES / "chelsea.jpg"), "--language", "zh", "--purpose", "caption")
    assert r.returncode == 0 and "猫" in r.stdout and V.cjk_share(r.stdout) > 0.9
    r = ocula("describe", str(SAMPLES / "chelsea.jpg"), "--purpose", "tags")
    assert r.stdout.split(",")[0].strip() == "cat"
    r = ocula("describe", str(SAMPLES / "chelsea.jpg"), "--purpose", "tags", "--language", "zh", "--json",
              "--steps", "classify,colors")
    data = json.loads(r.stdout)
    assert data["tags"][0] == "猫" and data["text"].startswith("猫") and data["writer"] == "builtin"


def test_cli_errors_are_one_line(tmp_path):
    r = ocula("describe", str(SAMPLES / "chelsea.jpg"), "--purpose", "poem")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "alt, caption" in r.stderr
    (tmp_path / "a.jpg").write_bytes((SAMPLES / "coffee.jpg").read_bytes())
    (tmp_path / "b.jpg").write_text("text")
    r = ocula("describe", str(tmp_path), "--purpose", "alt", "--json", "--steps", "classify")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert len(data["results"]) == 1 and len(data["failures"]) == 1 and "b.jpg" in data["failures"][0]["source"]
