"""Chinese pages render their characters with a real CJK font, not as empty boxes.

Chromium says which platform fonts drew a node's text (DevTools' ``CSS.getPlatformFontsForNode``),
so the test asks it rather than trusting that a font is installed: without a CJK font (Debian's
``fonts-noto-cjk``, which ``.ci/run`` installs) the heading is drawn by a Latin fallback font
that has none of its glyphs, and screenshots of Chinese pages are unreadable.
"""

import unicodedata

import pytest

from privacy.consent.services.links import preference_token
from tests.customers.factories import CustomerFactory
from tests.factories import TeamFactory


def fonts_drawing(page, selector: str) -> list[tuple[str, int]]:
    """(family name, number of glyphs) of each platform font that drew the element's text."""
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    session.detach()
    return [(font["familyName"], font["glyphCount"]) for font in fonts]


@pytest.mark.browser
def test_a_chinese_page_draws_its_characters_with_a_cjk_font(transactional_db, live_server, page):
    # Given a person's preference centre, opened in Chinese
    customer = CustomerFactory(owner_team=TeamFactory(), email="ann@example.com")
    page.goto(f"{live_server.url}/preferences/{preference_token(customer)}/?lang=zh-hans")
    heading = page.locator("h1").inner_text()
    assert heading == "您的通讯偏好"
    assert all(unicodedata.name(character).startswith("CJK") for character in heading)

    # When Chromium lays the heading out, then every character is drawn by a CJK font
    fonts = fonts_drawing(page, "h1")
    assert len(fonts) == 1, fonts
    family, glyphs = fonts[0]
    assert "CJK" in family, fonts
    assert glyphs == len(heading)
    # And the characters take the width of real glyphs: each a full em wide, as CJK
    # ideographs are, where a missing glyph's box is narrower
    size = page.evaluate(
        """() => {
            const probe = document.createElement("span");
            probe.textContent = document.querySelector("h1").textContent;
            probe.style.cssText =
                "position: absolute; display: inline-block; font-size: 100px; white-space: nowrap";
            document.body.append(probe);
            const width = probe.getBoundingClientRect().width;
            probe.remove();
            return width;
        }"""
    )
    assert size == pytest.approx(100 * len(heading), rel=0.02)
