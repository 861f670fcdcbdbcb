"""A malicious-upload corpus, generated in memory (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg(size: tuple[int, int] = (64, 48), *, color: str = "red", **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", **save)
    return out.getvalue()


def png(size: tuple[int, int] = (32, 32), mode: str = "RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 0).save(out, "PNG", **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF carries a camera model and a GPS position (Hangzhou)."""
    exif = Image.Exif()
    exif[0x0110] = "TestPhone 12"  # Model
    exif[0x0132] = "2026:01:02 03:04:05"  # DateTime
    exif.get_ifd(GPS_IFD).update(
        {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # lat ref, lat, lon ref, lon
    )
    return jpeg((64, 48), exif=exif)


def jpeg_with_orientation(orientation: int = 6) -> bytes:
    """A landscape 64×32 JPEG, left half black / right half white, with an EXIF orientation tag."""
    image = Image.new("RGB", (64, 32), "white")
    image.paste((0, 0, 0), (0, 0, 32, 32))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-author-note")
    info.add_text("GPS", "30.25,120.16", zip=True)
    return png((16, 16), pnginfo=info)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_ihdr_size(width: int, height: int) -> bytes:
    """A tiny 1-bit PNG whose IHDR is patched to ``width × height`` (CRC fixed): a pixel bomb that is
    a few dozen bytes and never has to be decoded."""
    small = png((8, 8), mode="1")
    assert small[12:16] == b"IHDR"
    ihdr = struct.pack(">II", width, height) + small[24:29]
    return small[:8] + _chunk(b"IHDR", ihdr) + small[33:]


def pdf(*, pages: int = 1, setup=None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if setup:
        setup(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _js_action(code: str = "app.alert('pwned')") -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(code)}
    )


def pdf_js_open_action() -> bytes:
    def setup(writer: PdfWriter) -> None:
        writer.root_object[NameObject("/OpenAction")] = writer._add_object(_js_action())

    return pdf(setup=setup)


def pdf_js_names() -> bytes:
    """Document-level JavaScript in the catalog's /Names tree (pypdf's add_open_action)."""
    return pdf(setup=lambda w: w.add_open_action(JavaScript("app.alert(1)")))


def pdf_js_link_annotation() -> bytes:
    def setup(writer: PdfWriter) -> None:
        annot = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([NumberObject(0)] * 2 + [NumberObject(100)] * 2),
                NameObject("/A"): _js_action(),
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annot)])

    return pdf(setup=setup)


def pdf_launch_action() -> bytes:
    def setup(writer: PdfWriter) -> None:
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
        )
        writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})

    return pdf(setup=setup)


def pdf_with_attachment() -> bytes:
    return pdf(setup=lambda w: w.add_attachment("invoice.exe", b"MZ\x90\x00 not really"))


def pdf_with_xfa() -> bytes:
    def setup(writer: PdfWriter) -> None:
        writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
            {NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): TextStringObject("<xdp/>")}
        )

    return pdf(setup=setup)


def pdf_encrypted() -> bytes:
    return pdf(setup=lambda w: w.encrypt("secret", algorithm="RC4-128"))


def raw_pdf(objects: list[bytes], *, tail: bytes = b"") -> bytes:
    """A PDF written by hand, object 1 the catalog, with a correct xref table (for escaped names)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out) + tail


def pdf_js_hex_escaped() -> bytes:
    """/OpenAction << /S /JavaScript /JS … >> with both names written as #xx escapes."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            b"<< /S /Java#53cript /J#53 (app.alert\\(1\\)) >>",
        ]
    )


def pdf_no_pages() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


# A valid GIF header whose bytes also parse as JavaScript: GIF89a/*…*/=1;alert(…)//
GIF_JS_POLYGLOT = (
    b"GIF89a/*\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00*/=1;alert(document.cookie)//;"
)
HTML = b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script></svg>"
)
