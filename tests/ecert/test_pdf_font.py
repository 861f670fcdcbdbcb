"""The certificate PDF embeds its Chinese font when Debian's fonts-wqy-zenhei is installed (.ci/run
installs it, and the configuration picks it up by default): the text looks the same in every reader."""

from __future__ import annotations

import io

from pypdf import PdfReader

from applications.ecert import pdf
from core.config import _WQY, from_env

FIELDS = [("持证人", "张晓明"), ("身份证号码", "330102********1230")]


def _fonts(data: bytes) -> list[dict]:
    page = PdfReader(io.BytesIO(data)).pages[0]
    fonts = page["/Resources"]["/Font"]
    return [fonts[name].get_object() for name in fonts]


def _render(font_path):
    return pdf.render(
        title="无犯罪记录证明",
        fields=FIELDS,
        issuer="临江市公安局",
        number="EC-2026-000001",
        valid="2026-12-06 至 2027-12-05",
        payload="LJ1:TEST",
        portal="http://127.0.0.1:8000",
        font_path=font_path,
    )


def test_the_configured_default_is_the_installed_truetype_cjk_font():
    assert from_env()["ECERT_FONT"] == _WQY


def test_the_pdf_embeds_a_subset_of_that_font():
    data = _render(_WQY)
    embedded = []
    for font in _fonts(data):
        for descendant in font.get("/DescendantFonts", []) or [font]:
            descriptor = descendant.get_object().get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                embedded.append(font["/BaseFont"])
    assert embedded, "no embedded TrueType font in the certificate PDF"
    assert len(data) < 400_000  # a subset of the glyphs used, not the 17-MB collection


def test_without_the_font_the_pdf_falls_back_to_the_readers_cid_font():
    assert any("STSong-Light" in str(f.get("/BaseFont")) for f in _fonts(_render(None)))
