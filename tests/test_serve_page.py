"""The web page in a real browser: `ocula serve` (uvicorn in a thread, 127.0.0.1, a free port)
over a copy of samples/ (plus a duplicate), indexed first, and Debian's chromium driven by the
python playwright package (never `playwright install`). Upload the cat, read its facts and its
descriptions in English and Chinese, search for it, find the duplicate, re-index through the page
(server-sent events), strip an uploaded image's metadata, ask for an image with no diffusion model
(503 shown), show the problem for a file that is not an image; every image has alt text, every
control a label, the keyboard reaches the file picker and the search box, and no request leaves
the machine. With an API key: the key form, the 401, then thumbnails and job outputs fetched with
the header, in dark colours on a phone-sized screen. Full-page screenshots are left in
test-output/serve-page.png and serve-page-dark-narrow.png."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from serve_helpers import SAMPLES, copy_samples, make_app, serving

# the page talks to the server started here and to nothing else
pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TIMEOUT_MS = 90_000  # first calls load the models
API_KEY = "page-test-key"


def _require_browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="the python playwright package is not installed")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A copy of samples/ (with a duplicate of coffee.jpg), indexed; its own OCULA_HOME."""
    _require_browser()
    pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
    from ocula.config import load_settings
    from ocula.tasks.index import index

    root = tmp_path_factory.mktemp("serve-page")
    folder = copy_samples(root / "photos")
    (root / "home").mkdir()
    index([folder], db=root / "index.db", settings=load_settings(env={"OCULA_HOME": str(root / "home")}))
    return root, folder  # make_app(root, ...) serves root/index.db with root/home


@pytest.fixture(scope="module")
def server(photos):
    root, folder = photos
    with serving(make_app(root, folder=folder, workers=2)) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_server(photos):
    root, folder = photos
    with serving(make_app(root, folder=folder, workers=2, api_key=API_KEY)) as url:
        yield url


@pytest.fixture
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser, **context):
    """A page that records every request it makes and every script error."""
    pg = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, "locale": "en-US", **context}).new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.requests, pg.console_errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    return pg


@pytest.fixture
def page(browser):
    return _page(browser)


def _only_local(page) -> None:
    """Nothing went anywhere but this machine (blob: and data: URLs stay in the page)."""
    remote = [u for u in page.requests
              if urlsplit(u).scheme not in ("blob", "data") and urlsplit(u).hostname not in LOCAL_HOSTS]
    assert remote == []


# --- checks run in the page ---------------------------------------------------------------

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && [...e.labels].some(l => l.textContent.trim()))
               && !(e.getAttribute('aria-label') || '').trim() && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML.slice(0, 120))"""

NAMELESS_BUTTONS = """() => [...document.querySelectorAll('button, a[href]')]
  .filter(e => !e.textContent.trim() && !(e.getAttribute('aria-label') || '').trim())
  .map(e => e.outerHTML.slice(0, 120))"""

NO_ALT = """() => [...document.querySelectorAll('img')]
  .filter(e => !(e.getAttribute('alt') || '').trim()).map(e => e.outerHTML.slice(0, 160))"""

STRUCTURE = """() => ({
  h1: document.querySelectorAll('h1').length,
  header: !!document.querySelector('header'), main: document.querySelectorAll('main').length,
  untitledSections: [...document.querySelectorAll('main > section')]
      .filter(s => !s.querySelector('h2')).map(s => s.id),
  duplicateIds: [...document.querySelectorAll('[id]')].map(e => e.id)
      .filter((id, i, all) => all.indexOf(id) !== i),
  liveRegions: document.querySelectorAll('[aria-live]').length,
  lang: document.documentElement.lang,
})"""


def _a11y(page) -> None:
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(NAMELESS_BUTTONS) == []
    assert page.evaluate(NO_ALT) == []
    s = page.evaluate(STRUCTURE)
    assert s["h1"] == 1 and s["header"] and s["main"] == 1 and s["lang"] == "en"
    assert s["untitledSections"] == [] and s["duplicateIds"] == []
    assert s["liveRegions"] >= 3


def _tab_order(page, stop: str, limit: int = 40) -> list[str]:
    """Press Tab from the top of the page until the element with id ``stop`` has focus."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
        if seen[-1] == stop:
            break
    return seen


# --- the scenario ---------------------------------------------------------------------------

def test_page(page, server, samples, output_dir):
    from playwright.sync_api import expect

    page.goto(server + "/")
    expect(page).to_have_title("ocula")
    expect(page.locator("#server-info")).to_contain_text("ocula")
    _a11y(page)

    # keyboard: Tab reaches the file picker (with a visible focus ring on the drop zone), then the search box
    order = _tab_order(page, "search-query")
    assert "file-input" in order and order[-1] == "search-query", order
    assert order.index("file-input") < order.index("search-query")
    page.focus("#file-input")
    assert page.eval_on_selector("#drop", "e => getComputedStyle(e).outlineStyle") != "none"

    # upload the cat: facts, then descriptions in both languages
    page.set_input_files("#file-input", str(samples / "chelsea.jpg"))
    card = page.locator("article.card").first
    expect(card.locator("h3")).to_have_text("chelsea.jpg")
    expect(card.locator("dl.facts")).to_contain_text("cat")
    expect(card.locator("dl.facts")).to_contain_text("Colours")
    en = card.locator('.desc-text[data-purpose="alt"][data-lang="en"]')
    zh = card.locator('.desc-text[data-purpose="alt"][data-lang="zh"]')
    expect(en).to_contain_text("cat")
    expect(zh).to_contain_text("猫")
    expect(card.locator(".status")).to_have_text("Done.")
    texts = card.locator(".desc-text").all_inner_texts()
    assert len(texts) == 14 and all(t.strip() and t.strip() not in ("…", "—") for t in texts), texts
    assert card.locator('.desc-text[data-purpose="caption"][data-lang="zh"]').get_attribute("lang") == "zh"
    # the preview's alt is now the English alt text
    expect(card.locator("img.preview")).to_have_attribute("alt", en.inner_text().strip())
    expect(card.locator("button:has-text('Copy')").first).to_be_enabled()

    # search by words: type, press Enter, the cat is in the gallery with alt text and a loaded thumbnail
    page.click("#search-query")
    page.keyboard.type("cat")
    page.keyboard.press("Enter")
    hit = page.locator("#gallery figure.hit", has_text="chelsea.jpg")
    expect(hit).to_have_count(1)
    img = hit.locator("img")
    assert (img.get_attribute("alt") or "").strip()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    expect(page.locator("#search-status")).to_contain_text("result")

    # duplicates: the copy of the coffee, both shown
    page.click("#dupes-btn")
    group = page.locator("#dupes .dupe-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("coffee-copy.jpg")
    expect(group).to_contain_text("coffee.jpg")
    expect(page.locator("#gallery figure")).to_have_count(0)
    for thumb in group.locator("img").element_handles():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb)

    # index the folders through the page: the job's events end in a report
    page.click("#index-btn")
    expect(page.locator("#search-status")).to_contain_text("Indexed:")
    expect(page.locator("#index-btn")).to_be_enabled()

    # enhance: strip the uploaded image's metadata; the output is shown with alt text and a download link
    page.select_option("#enhance-op", "strip")
    page.click("#enhance-form button[type=submit]")
    out = page.locator("#enhance-out figure.output")
    expect(out).to_have_count(1)
    expect(out.locator("img")).to_have_attribute("alt", "Metadata stripped from chelsea.jpg, 451×300 pixels")
    assert out.locator("a[download]").get_attribute("download").startswith("chelsea-strip.")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=out.locator("img").element_handle())

    # a long job can be cancelled from the page: a 4x Real-ESRGAN upscale stops at its next tile
    page.select_option("#enhance-op", "upscale")
    page.click("#enhance-form button[type=submit]")
    page.locator("#enhance button.cancel").click()
    expect(page.locator("#enhance-status")).to_contain_text("cancelled", timeout=60_000)
    expect(page.locator("#enhance button.cancel")).to_have_count(0)
    expect(out).to_have_count(1)  # nothing new was shown

    # generate with no diffusion model installed: the 503 problem is shown, with how to get one
    page.fill("#gen-prompt", "a lighthouse at dawn")
    page.click("#generate-form button[type=submit]")
    err = page.locator("#errors .error", has_text="Generate")
    expect(err).to_contain_text("503")
    assert len(err.inner_text()) > 40

    # a file that is not an image: a readable problem (422) in the live region, not a stack trace
    page.set_input_files("#file-input", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    bad = page.locator("#errors .error", has_text="notes.txt")
    expect(bad).to_contain_text("422")
    assert "Traceback" not in bad.inner_text()
    expect(page.locator("article.card", has_text="notes.txt")).to_contain_text("Could not analyse")
    assert page.locator("#enhance-image option").all_inner_texts() == ["chelsea.jpg"]

    _a11y(page)
    page.screenshot(path=str(output_dir / "serve-page.png"), full_page=True)

    _only_local(page)
    assert any("/api/v1/describe" in u for u in page.requests)
    # no script errors; failed requests the test provoked (422, 503) are logged by the browser itself
    assert [e for e in page.console_errors if "status of" not in e] == []


@pytest.fixture(scope="module")
def trips(tmp_path_factory):
    """Sample pictures given GPS and capture times: a two-day trip to Shanghai and an evening in
    Paris; indexed, served."""
    _require_browser()
    from conftest import exif_photo
    from ocula.config import load_settings
    from ocula.tasks.index import index

    root = tmp_path_factory.mktemp("serve-trips")
    folder = root / "trips"
    folder.mkdir()
    shots = [("sh-bund", "rocket", 31.2400, 121.4900, "2024:05:12 10:00:00"),
             ("sh-tea", "coffee", 31.2270, 121.4920, "2024:05:12 16:30:00"),
             ("sh-garden", "flower", 31.2272, 121.4921, "2024:05:13 11:00:00"),
             ("paris-cat", "chelsea", 48.8584, 2.2945, "2023:07:14 21:00:00"),
             ("paris-coffee", "coffee", 48.8606, 2.3376, "2023:07:14 22:10:00")]
    for name, picture, lat, lon, when in shots:
        exif_photo(folder / f"{name}.jpg", lat, lon, when, size=(400, 300), picture=SAMPLES / f"{picture}.jpg")
    (root / "home").mkdir()
    index([folder], db=root / "index.db", settings=load_settings(env={"OCULA_HOME": str(root / "home")}))
    with serving(make_app(root, folder=folder, workers=2)) as url:
        yield url, folder


def test_page_places_and_moments(page, trips, output_dir):
    """A photo's place and time among its facts (and the travel post), search by a Chinese place
    name, and the Moments view: titles in both languages, covers, a moment's photos in order."""
    from playwright.sync_api import expect

    url, folder = trips
    page.goto(url + "/")
    page.set_input_files("#file-input", str(folder / "sh-tea.jpg"))
    card = page.locator("article.card").first
    expect(card.locator("dl.facts")).to_contain_text("Shanghai, China / 中国上海")
    expect(card.locator("dl.facts")).to_contain_text("2024-05-12 16:30 (UTC+08:00) · Sunday spring afternoon")
    travel = card.locator('.desc-text[data-purpose="travel"][data-lang="zh"]')
    expect(travel).to_contain_text("中国上海")
    expect(card.locator('.desc-text[data-purpose="news"][data-lang="en"]')).to_contain_text("in Shanghai, China")
    expect(card.locator(".status")).to_have_text("Done.")

    page.fill("#search-query", "巴黎")
    page.press("#search-query", "Enter")
    hits = page.locator("#gallery figure.hit")
    expect(hits.first).to_contain_text("Paris, Île-de-France, France")
    assert {t.split("\n")[0] for t in hits.all_inner_texts()[:2]} == {"paris-cat.jpg", "paris-coffee.jpg"}

    page.click("#moments-btn")
    cards = page.locator("#moment-list figure.moment")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Shanghai, 12–13 May 2024")  # the latest first
    expect(cards.first.locator('[lang="zh"]')).to_have_text("上海，2024年5月12日至13日")
    expect(cards.first).to_contain_text("3 photos")
    expect(cards.nth(1)).to_contain_text("Paris, 14 July 2023")
    for img in page.locator("#moment-list img").element_handles():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)
    cards.first.get_by_role("button", name="Show the 3 photos of Shanghai, 12–13 May 2024").click()
    shown = page.locator("#moment-photos figure.hit .name")
    expect(shown).to_have_count(3)
    assert shown.all_inner_texts() == ["sh-bund.jpg", "sh-tea.jpg", "sh-garden.jpg"]
    for img in page.locator("#moment-photos img").element_handles():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)
    expect(page.locator("#moments-status")).to_contain_text("in the order they were taken")

    _a11y(page)
    page.screenshot(path=str(output_dir / "serve-page-moments.png"), full_page=True)
    _only_local(page)
    assert [e for e in page.console_errors if "status of" not in e] == []


def test_page_with_api_key(browser, keyed_server, samples, output_dir):
    """A server with a key: the page asks for it, shows the 401, then works with it (thumbnails and
    outputs fetched with the header, jobs followed by polling); dark colours on a phone-sized screen."""
    from playwright.sync_api import expect

    page = _page(browser, color_scheme="dark", viewport={"width": 420, "height": 860})
    page.goto(keyed_server + "/")
    expect(page.locator("#auth-form")).to_be_visible()
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgb(246, 247, 249)"

    page.fill("#search-query", "cat")
    page.press("#search-query", "Enter")
    expect(page.locator("#errors .error", has_text="Search")).to_contain_text("401")

    page.fill("#api-key", API_KEY)
    page.press("#api-key", "Enter")
    page.locator("#errors .error button").first.click()  # dismiss the 401
    expect(page.locator("#errors .error")).to_have_count(0)
    page.press("#search-query", "Enter")
    hit = page.locator("#gallery figure.hit", has_text="chelsea.jpg")
    expect(hit).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:')",
                           arg=hit.locator("img").element_handle())

    page.set_input_files("#file-input", str(samples / "chelsea.jpg"))
    expect(page.locator('.desc-text[data-purpose="caption"][data-lang="zh"]')).to_contain_text("猫")
    page.select_option("#enhance-op", "restore")
    page.click("#enhance-form button[type=submit]")
    out = page.locator("#enhance-out figure.output img")
    expect(out).to_have_attribute("alt", "Restored chelsea.jpg, 451×300 pixels")
    expect(page.locator("#errors .error")).to_have_count(0)
    # the key stays in this tab's session storage and goes out as a Bearer header only
    assert page.evaluate("() => sessionStorage.getItem('ocula.apiKey')") == API_KEY
    assert not any(API_KEY in u for u in page.requests)

    _a11y(page)
    page.screenshot(path=str(output_dir / "serve-page-dark-narrow.png"), full_page=True)
    _only_local(page)
    assert [e for e in page.console_errors if "status of" not in e] == []


# --- the People panel -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def people_server(tmp_path_factory):
    """A folder where Obama appears three times and Hopper four (two unnamed people), indexed."""
    _require_browser()
    pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
    from people_helpers import altered, copy, obama_three_times

    from ocula.config import load_settings
    from ocula.tasks.index import index

    root = tmp_path_factory.mktemp("people-page")
    f = root / "photos"
    obama_three_times(f)
    altered(f / "hopper.jpg", f / "hopper-mirror.jpg", "mirror")
    altered(f / "hopper.jpg", f / "hopper-smaller.jpg", "smaller")
    altered(f / "hopper.jpg", f / "hopper-cropped.jpg", "cropped")
    copy("coffee", f / "coffee.jpg")
    (root / "home").mkdir()
    index([f], db=root / "index.db", steps=["faces", "classify"],
          settings=load_settings(env={"OCULA_HOME": str(root / "home")}))
    with serving(make_app(root, folder=f, workers=2)) as url:
        yield url


def test_people_panel(page, people_server, output_dir):
    """Faces grouped into people: click a face to name its person, see a person's photos, name
    one face (a mistake), merge it back, say "not this person"; names in any script."""
    from playwright.sync_api import expect

    page.goto(people_server + "/")
    cards = page.locator("#people-list article.person")
    expect(cards).to_have_count(2)
    expect(page.locator("#people-status")).to_contain_text("2 people")
    for img in cards.locator("img.face").element_handles():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)
    obama = cards.filter(has_text="3 faces")
    hopper = cards.filter(has_text="4 faces")

    # click the face: the name field gets the focus; type, Enter
    obama.locator("button.face-btn").click()
    assert page.evaluate("() => document.activeElement.id").startswith("person-name-")
    page.keyboard.type("Barack Obama")
    page.keyboard.press("Enter")
    expect(page.locator("#people-list")).to_contain_text("Barack Obama")
    hopper.locator("input").fill("格蕾丝·霍珀")
    hopper.locator("button", has_text="Name").click()
    expect(page.locator("#people-list h3", has_text="格蕾丝·霍珀")).to_have_count(1)

    # a person's photos; name one of them "Barack" by mistake, then merge it back
    page.locator("#people-list article", has_text="Barack Obama").locator("button", has_text="Photos").click()
    photos = page.locator("#person-photos figure.hit")
    expect(photos).to_have_count(3)
    small = photos.filter(has_text="obama_small.jpg")
    small.locator("input").fill("Barack")
    small.locator("button", has_text="Name").click()
    expect(page.locator("#people-status")).to_contain_text("is Barack")
    expect(cards).to_have_count(3)
    page.select_option("#merge-keep", label="Barack Obama (2)")
    page.select_option("#merge-other", label="Barack (1)")
    page.click("#merge-form button[type=submit]")
    expect(page.locator("#people-status")).to_contain_text("merged into Barack Obama")
    expect(cards).to_have_count(2)
    expect(page.locator("#people-list article", has_text="Barack Obama")).to_contain_text("also Barack")
    expect(photos).to_have_count(3)
    # a name field shows the whole name, and says it as its tooltip
    for card in cards.element_handles():
        field = card.query_selector(".name-form input")
        assert field.evaluate("i => i.scrollWidth <= i.clientWidth"), field.input_value()
        assert field.get_attribute("title") == field.input_value()

    # not this person: the darker copy leaves Obama for good
    photos.filter(has_text="obama-darker.jpg").locator("button.not-them").click()
    expect(page.locator("#people-status")).to_contain_text("is not Barack Obama")
    assert page.locator("#people-status").inner_text().startswith("The face at ")  # a sentence, capitalised
    expect(photos).to_have_count(2)
    for img in photos.locator("img").element_handles():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)

    _a11y(page)
    page.screenshot(path=str(output_dir / "serve-page-people.png"), full_page=True)
    _only_local(page)
    assert [e for e in page.console_errors if "status of" not in e] == []
