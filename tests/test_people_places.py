"""Who, where and when together: a news caption names the person the user named (WHO), the place
the photo's GPS names (WHERE) and the checked EXIF time (WHEN), in English and Chinese, from the
builtin writer, the LLM/VLM prompt and checks, and the captioner; no placeholder stays that the
facts fill, and a name or place the facts do not give is refused. End to end: a photo indexed
and named once, then a new photo of her taken elsewhere, described with `describe`."""

from __future__ import annotations

import json

import pytest

from conftest import exif_photo
from people_helpers import PHOTOS, altered

pytestmark = pytest.mark.slow  # the first use of places builds the city table (seconds)


@pytest.fixture(scope="module")
def bund(tmp_path_factory):
    folder = tmp_path_factory.mktemp("who-where-when")
    return exif_photo(folder / "hopper.jpg", 31.2400, 121.4900, "2024:05:12 15:20:00", size=(512, 600),
                      picture=PHOTOS["hopper"])


@pytest.fixture(scope="module")
def facts(bund):
    """The real facts of a photo of Grace Hopper on the Bund (place, time, one face), her face
    recognised as the person the user named "Grace Hopper"."""
    from ocula.results import NamedPerson
    from ocula.tasks.describe import describe

    a = describe(bund, steps=["metadata", "faces", "classify"], people=False).facts
    assert a.faces.count == 1 and a.metadata.place.city.en == "Shanghai" and a.metadata.time.known
    assert a.people is None  # people=False: nobody recognised
    return a.model_copy(update={"people": [NamedPerson(name="Grace Hopper", person=1, box=a.faces.faces[0].box,
                                                       distance=0.3)]})


def _write(facts, **kw):
    from ocula.tasks.describe import describe

    return describe(None, facts=facts, **kw)


def test_builtin_news_fills_who_where_and_when_in_both_languages(facts):
    en = _write(facts, purpose="news").text
    assert en.startswith("Grace Hopper") and "in Shanghai, China on 12 May 2024" in en, en
    assert not any(p in en for p in ("[WHO]", "[WHERE]", "[WHEN]")), en
    zh = _write(facts, purpose="news", language="zh").text
    assert zh.startswith("图为2024年5月12日，") and "Grace Hopper在中国上海" in zh, zh
    assert not any(p in zh for p in ("[人物]", "[地点]", "[时间]")), zh
    # the other purposes name her and the place too
    for purpose in ("caption", "social", "travel"):
        text = _write(facts, purpose=purpose).text
        assert "Grace Hopper" in text and "Shanghai" in text, (purpose, text)
    # a second face nobody named keeps [WHO] beside her; --no-place keeps [WHERE], not the name
    two = facts.model_copy(update={"faces": facts.faces.model_copy(
        update={"faces": [*facts.faces.faces, facts.faces.faces[0].model_copy(update={"box": (400, 10, 90, 90)})]})})
    both = _write(two, purpose="news").text
    assert both.startswith("Grace Hopper and [WHO] are seen") and "in Shanghai, China on 12 May 2024" in both, both
    hidden = _write(facts, purpose="news", place=False).text
    assert hidden.startswith("Grace Hopper") and "[WHERE]" in hidden and "Shanghai" not in hidden, hidden


def test_llm_gets_the_named_people_place_and_time_and_checks_them(facts):
    from ocula.writing import llm, validate
    from ocula.writing.base import DescribeRequest, Draft

    sent = json.loads(llm.facts_json(facts))
    assert sent["people"] == ["Grace Hopper"] and sent["faces"] == 1
    assert sent["place"] == {"en": "Shanghai, China", "zh": "中国上海"}
    assert sent["exif"]["date"].startswith("2024-05-12T15:20:00")
    prompt = llm.system_prompt(DescribeRequest(purpose="news"), vision=True)
    assert '"people"' in prompt and '"place"' in prompt and "[WHO]" in prompt and "[WHERE]" in prompt

    news = DescribeRequest(purpose="news")
    ok = Draft(text="Grace Hopper is seen in Shanghai, China on 12 May 2024.", confidence=0.5)
    assert validate.check_draft(ok, facts, news) == []
    zh = DescribeRequest(purpose="news", language="zh")
    assert validate.check_draft(Draft(text="图为2024年5月12日，身穿军装的Grace Hopper在中国上海。", confidence=0.5),
                                facts, zh) == []
    # a name nobody gave, a place the GPS does not name, a date EXIF does not give: refused
    for bad, word in (("Barack Obama is seen in Shanghai, China on 12 May 2024.", "Barack"),
                      ("Grace Hopper is seen in Paris, France on 12 May 2024.", "Paris"),
                      ("Grace Hopper is seen in Shanghai, China on 3 June 2023.", "2023")):
        problems = validate.check_draft(Draft(text=bad, confidence=0.5), facts, news)
        assert any(word in p for p in problems), (bad, problems)
    # without her name recognised, the face keeps the [WHO] placeholder
    nobody = facts.model_copy(update={"people": []})
    assert any("[WHO]" in p for p in validate.check_draft(ok, nobody, news))


def test_captioner_news_names_her_and_the_place(facts):
    from ocula.backends.captioner import Caption
    from ocula.writing.base import DescribeRequest
    from ocula.writing.captioner import caption_draft

    cap = Caption(text="a woman in a military uniform", tokens=6, score=0.8, model="test")
    news = caption_draft(cap, facts, DescribeRequest(purpose="news")).text
    assert news.startswith("Grace Hopper — a woman in a military uniform in Shanghai, China, 2024-05-12"), news
    assert "[WHO]" not in news and "[WHERE]" not in news


def test_describe_a_new_photo_of_a_named_person_taken_elsewhere(bund, tmp_path, monkeypatch):
    pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
    from ocula.tasks.describe import describe
    from ocula.tasks.index import index
    from ocula.tasks.people_name import people_name

    monkeypatch.setenv("OCULA_HOME", str(tmp_path / "home"))
    library = tmp_path / "library"
    library.mkdir()
    (library / "hopper.jpg").write_bytes(bund.read_bytes())
    db = tmp_path / "index.db"
    index([library], db=db, steps=["faces", "metadata"])
    people_name(library / "hopper.jpg", "Grace Hopper", db=db)
    # another photo of her (mirrored, smaller), taken in Paris three weeks later
    mirror = altered(PHOTOS["hopper"], tmp_path / "mirror.jpg", "mirror")
    paris = exif_photo(tmp_path / "paris.jpg", 48.8584, 2.2945, "2024:06:02 10:05:00", size=(460, 540),
                       picture=mirror)
    en = describe(paris, purpose="news", db=db)
    assert [p.name for p in en.facts.people] == ["Grace Hopper"]
    assert en.text.startswith("Grace Hopper") and "in Paris, Île-de-France, France on 2 June 2024" in en.text, en.text
    zh = describe(paris, purpose="news", language="zh", db=db).text
    assert zh.startswith("图为2024年6月2日，") and "Grace Hopper在法国法兰西岛巴黎" in zh, zh
    off = describe(paris, purpose="news", db=db, people=False).text
    assert off.startswith("[WHO]") and "in Paris, Île-de-France, France" in off, off


def test_describe_write_xmp_again_after_naming_writes_the_name(bund, tmp_path, monkeypatch):
    """A re-run skips what it described before, unless the names known for a photo's faces
    changed: naming her redoes her photo (and a photo the index does not hold, where anyone named
    may be recognised), not an indexed photo without her; the run after that skips them all."""
    pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
    import csv
    import shutil
    from pathlib import Path

    from typer.testing import CliRunner

    from ocula.cli import app
    from ocula.sidecar import read_existing
    from ocula.tasks.index import index
    from ocula.tasks.people_name import people_name
    from people_helpers import SAMPLES

    monkeypatch.setenv("OCULA_HOME", str(tmp_path / "home"))
    library = tmp_path / "library"
    library.mkdir()
    hopper = library / "hopper.jpg"
    hopper.write_bytes(bund.read_bytes())
    shutil.copy(SAMPLES / "coffee.jpg", library / "coffee.jpg")
    db = tmp_path / "index.db"
    index([library], db=db, steps=["faces", "metadata"])
    shutil.copy(SAMPLES / "chelsea.jpg", library / "later.jpg")  # not in the index
    report = tmp_path / "report.csv"

    def describe() -> dict[str, str]:
        r = CliRunner().invoke(app, ["describe", str(library), "--purpose", "caption", "--steps", "faces,metadata",
                                     "--write-xmp", "--db", str(db), "--report", str(report)])
        assert r.exit_code == 0, r.output
        return {Path(row["source"]).name: (row["status"], row["text"]) for row in csv.DictReader(report.open())}

    def written(name: str) -> str:
        return read_existing(library / name, embed=False).descriptions["x-default"]

    first = describe()
    assert {n: s for n, (s, _) in first.items()} == {"coffee.jpg": "written", "hopper.jpg": "written",
                                                     "later.jpg": "written"}
    assert "Grace Hopper" not in written("hopper.jpg")
    people_name(hopper, "Grace Hopper", db=db)
    second = describe()
    assert second["hopper.jpg"][0] == "written" and "Grace Hopper" in second["hopper.jpg"][1]
    assert "Grace Hopper" in written("hopper.jpg"), written("hopper.jpg")
    assert second["coffee.jpg"] == ("unchanged", "")  # skipped: nobody named in it
    assert second["later.jpg"][0] == "written"        # described again: not in the index
    assert {n: s for n, (s, _) in describe().items()} == dict.fromkeys(first, "unchanged")
    # --no-people is another input: described again, without her name
    r = CliRunner().invoke(app, ["describe", str(hopper), "--purpose", "caption", "--steps", "faces,metadata",
                                 "--write-xmp", "--db", str(db), "--no-people"])
    assert r.exit_code == 0, r.output
    assert "Grace Hopper" not in written("hopper.jpg")
