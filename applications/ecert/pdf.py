"""The certificate as a one-page A4 PDF (reportlab), with the signed payload as a QR code (segno).

Fonts: reportlab embeds only TrueType-outline fonts, and Debian's Noto CJK (fonts-noto-cjk) are
CFF-outline OpenType collections it refuses ("postscript outlines are not supported"). So the text is
set in a TrueType CJK font given by ``ECERT_FONT`` (e.g. fonts-wqy-zenhei's ``wqy-zenhei.ttc``) when
configured, else in reportlab's built-in Adobe-GB1 CID font STSong-Light, which every PDF reader
renders with its own Chinese font (not embedded, but no file needed). Pure function of its inputs."""

from __future__ import annotations

import io
from collections.abc import Sequence

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

_FONTS: dict[str, str] = {}


def _font(path: str | None) -> str:
    key = path or ""
    if key not in _FONTS:
        if path:
            name = "ECertFont"
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        else:
            name = "STSong-Light"
            pdfmetrics.registerFont(UnicodeCIDFont(name))
        _FONTS[key] = name
    return _FONTS[key]


def qr_png(text: str, *, scale: int = 4) -> bytes:
    """The payload as a QR code PNG (error correction M; base45 fits the alphanumeric mode)."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def render(
    *,
    title: str,
    fields: Sequence[tuple[str, str]],
    issuer: str,
    number: str,
    valid: str,
    payload: str,
    portal: str,
    font_path: str | None = None,
) -> bytes:
    """One page: title, the certificate's fields, issuer, number, validity, the QR code and a note on
    how to verify it."""
    font = _font(font_path)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=1)
    c.setTitle(f"{title} {number}")
    c.setAuthor(issuer)
    width, height = A4
    c.setLineWidth(1.2)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)
    c.setFont(font, 24)
    c.drawCentredString(width / 2, height - 40 * mm, title)
    c.setFont(font, 11)
    c.drawCentredString(width / 2, height - 48 * mm, f"电子证照  编号：{number}")
    y = height - 70 * mm
    for label, value in fields:
        c.setFont(font, 13)
        c.drawString(30 * mm, y, f"{label}：")
        c.drawString(70 * mm, y, value)
        y -= 11 * mm
    y -= 4 * mm
    c.setFont(font, 13)
    c.drawString(30 * mm, y, f"有效期：{valid}")
    y -= 11 * mm
    c.drawString(30 * mm, y, f"签发单位：{issuer}")
    qr = ImageReader(io.BytesIO(qr_png(payload, scale=6)))
    size = 70 * mm
    c.drawImage(qr, width - 30 * mm - size, 50 * mm, size, size)  # above the note, clear of the text
    c.setFont(font, 9)
    note = [
        "本证照由系统签发，二维码内含数字签名（Ed25519，COSE_Sign1）。",
        f"核验：扫描二维码或访问 {portal} /verify 粘贴二维码内容；",
        "亦可用公开密钥 /.well-known/ecert-keys.json 离线核验。",
    ]
    for i, line in enumerate(note):
        c.drawString(30 * mm, 40 * mm - i * 6 * mm, line)
    c.showPage()
    c.save()
    return out.getvalue()
