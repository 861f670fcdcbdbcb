"""clean_upload: the malicious corpus is refused, each file with its own code and Chinese message, and
accepted files come back re-encoded without metadata. Pure tests: no app, no database, no disk."""

from __future__ import annotations

import hashlib
import io
import re
import time

import pytest
from PIL import Image
from pypdf import PdfReader

from applications.documents import uploads as uploads
from applications.documents.uploads import MAX_BYTES, MAX_PIXELS, CleanFile, UploadRejected, clean_upload
from tests.uploads import corpus as c

CJK = re.compile(r"[\u4e00-\u9fff]")


def _padded_jpeg(total: int) -> bytes:
    data = c.jpeg()
    return data + b"\0" * (total - len(data))


# (id, file name, data factory, expected code)
CORPUS = [
    ("html-renamed-jpg", "证件照.jpg", lambda: c.HTML, "type_not_allowed"),
    ("gif-js-polyglot", "avatar.jpg", lambda: c.GIF_JS_POLYGLOT, "type_not_allowed"),
    ("png-signature-on-pdf", "scan.png", lambda: c.png()[:8] + c.pdf(), "type_not_allowed"),
    ("png-ihdr-on-pdf", "scan.png", lambda: c.png()[:33] + c.pdf(), "corrupt_image"),
    ("svg-script-as-png", "photo.png", lambda: c.SVG, "type_not_allowed"),
    ("svg-script-as-svg", "photo.svg", lambda: c.SVG, "type_not_allowed"),
    ("zero-bytes", "photo.jpg", lambda: b"", "empty"),
    ("10mb-plus-one", "photo.jpg", lambda: _padded_jpeg(MAX_BYTES + 1), "too_large"),
    ("pixel-bomb-20000x20000", "bomb.png", lambda: c.png_with_ihdr_size(20_000, 20_000), "pixel_bomb"),
    ("pixel-bomb-7000x7000", "bomb.png", lambda: c.png_with_ihdr_size(7_000, 7_000), "pixel_bomb"),
    ("pdf-js-open-action", "form.pdf", c.pdf_js_open_action, "pdf_active_content"),
    ("pdf-js-names-tree", "form.pdf", c.pdf_js_names, "pdf_active_content"),
    ("pdf-js-link-annotation", "form.pdf", c.pdf_js_link_annotation, "pdf_active_content"),
    ("pdf-js-hex-escaped-names", "form.pdf", c.pdf_js_hex_escaped, "pdf_active_content"),
    ("pdf-launch-action", "form.pdf", c.pdf_launch_action, "pdf_active_content"),
    ("pdf-embedded-file", "form.pdf", c.pdf_with_attachment, "pdf_active_content"),
    ("pdf-xfa-form", "form.pdf", c.pdf_with_xfa, "pdf_active_content"),
    ("pdf-encrypted", "form.pdf", c.pdf_encrypted, "pdf_encrypted"),
    ("pdf-no-pages", "form.pdf", c.pdf_no_pages, "corrupt_pdf"),
    ("pdf-garbage-body", "form.pdf", lambda: b"%PDF-1.7\n" + b"\x8b\x13garbage" * 64, "corrupt_pdf"),
    ("name-dot-dot-slash", "../../etc/passwd.jpg", c.jpeg, "bad_name"),
    ("name-with-slash", "a/b.jpg", c.jpeg, "bad_name"),
    ("name-rtl-override", "photo\u202egpj.exe", c.jpeg, "bad_name"),
    ("truncated-jpeg", "photo.jpg", lambda: c.jpeg((256, 256))[:400], "corrupt_image"),
    ("jpeg-named-png", "photo.png", c.jpeg, "mismatch"),
]


@pytest.mark.parametrize(
    ("filename", "make", "code"), [row[1:] for row in CORPUS], ids=[row[0] for row in CORPUS]
)
def test_corpus_is_refused_with_its_own_code_and_chinese_message(filename, make, code):
    with pytest.raises(UploadRejected) as info:
        clean_upload(filename, make())
    assert info.value.code == code, info.value.detail
    assert CJK.search(info.value.message)


def test_each_code_has_a_distinct_message():
    """Different refusals never share a message, so the citizen always learns which problem it is."""
    messages = {}
    for _id, filename, make, code in CORPUS:
        with pytest.raises(UploadRejected) as info:
            clean_upload(filename, make())
        messages.setdefault(code, info.value.message)
    assert len(set(messages.values())) == len(messages)
    assert "10MB" in messages["too_large"]
    for label in ("JPG", "PNG", "PDF"):
        assert label in messages["type_not_allowed"]


def test_corpus_is_fast():
    started = time.perf_counter()
    for _id, filename, make, _code in CORPUS:
        with pytest.raises(UploadRejected):
            clean_upload(filename, make())
    assert time.perf_counter() - started < 5


def test_pixel_bomb_is_tiny_and_refused_from_the_header_even_if_pillow_check_is_off(monkeypatch):
    bomb = c.png_with_ihdr_size(20_000, 20_000)
    assert len(bomb) < 200
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    started = time.perf_counter()
    with pytest.raises(UploadRejected) as info:
        clean_upload("bomb.png", bomb)
    assert info.value.code == "pixel_bomb"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "name",
    [
        "..\\..\\x.jpg",
        "C:\\Users\\me\\photo.jpg",
        "photo\x00.jpg",
        "a\nb.jpg",
        "photo\x7f.jpg",
        "..jpg",
        "photo\u2066.jpg",
        "photo\u200f.jpg",
        "photo\u202a.jpg",
        "line\u2028break.jpg",
    ],
)
def test_bad_names(name):
    with pytest.raises(UploadRejected) as info:
        clean_upload(name, c.jpeg())
    assert info.value.code == "bad_name"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("photo.exe", c.jpeg, "mismatch"),
        ("photo.pdf", c.jpeg, "mismatch"),
        ("scan.jpg", c.pdf, "mismatch"),
        ("scan.png", c.pdf, "mismatch"),
        ("image.jpeg", c.png, "mismatch"),
    ],
)
def test_extension_must_agree_with_content(name, data, code):
    with pytest.raises(UploadRejected) as info:
        clean_upload(name, data())
    assert info.value.code == code
    assert CJK.search(info.value.message)


def test_allow_list_is_per_requirement():
    with pytest.raises(UploadRejected) as info:
        clean_upload("scan.pdf", c.pdf(), allowed=("jpg", "png"))
    assert info.value.code == "type_not_allowed"
    assert "JPG、PNG" in info.value.message
    assert "PDF" not in info.value.message
    assert clean_upload("photo.jpg", c.jpeg(), allowed=["JPEG"]).kind == "jpg"
    with pytest.raises(ValueError):
        clean_upload("photo.gif", c.jpeg(), allowed=("gif",))


def test_size_limit_boundary_and_custom_limit():
    cleaned = clean_upload("photo.jpg", _padded_jpeg(MAX_BYTES))  # exactly 10 MB is fine
    assert cleaned.size < 10_000
    with pytest.raises(UploadRejected) as info:
        clean_upload("photo.jpg", _padded_jpeg(3 * 1024 * 1024 + 1), max_bytes=3 * 1024 * 1024)
    assert info.value.code == "too_large"
    assert "3MB" in info.value.message


def test_too_many_pdf_pages():
    with pytest.raises(UploadRejected) as info:
        clean_upload("scan.pdf", c.pdf(pages=uploads.MAX_PDF_PAGES + 1))
    assert info.value.code == "pdf_too_many_pages"
    assert CJK.search(info.value.message)


def test_pdf_object_limit(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PDF_OBJECTS", 3)
    with pytest.raises(UploadRejected) as info:
        clean_upload("scan.pdf", c.pdf(pages=3))
    assert info.value.code == "pdf_too_complex"


# -- accepted files ------------------------------------------------------------------------------------


def test_gps_and_exif_are_gone_from_a_reencoded_photo():
    original = c.jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(c.GPS_IFD)  # the corpus photo really has GPS
        assert before.getexif()[0x0110] == "TestPhone 12"

    cleaned = clean_upload("IMG_0001.JPG", original)

    assert isinstance(cleaned, CleanFile)
    assert (cleaned.kind, cleaned.mimetype, cleaned.suffix) == ("jpg", "image/jpeg", ".jpg")
    assert cleaned.display_name == "IMG_0001.jpg"
    assert cleaned.sha256 == hashlib.sha256(cleaned.data).hexdigest()
    assert cleaned.size == len(cleaned.data)
    assert b"Exif" not in cleaned.data
    assert b"TestPhone" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.format == "JPEG"
        assert after.size == (64, 48)
        exif = after.getexif()
        assert len(exif) == 0
        assert c.GPS_IFD not in exif
        assert not exif.get_ifd(c.GPS_IFD)
        assert "exif" not in after.info
        assert "icc_profile" not in after.info
        after.load()


def test_orientation_is_applied_then_dropped():
    cleaned = clean_upload("rotated.jpg", c.jpeg_with_orientation(6))
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.size == (32, 64)  # landscape stored, portrait shown
        assert c.ORIENTATION not in after.getexif()
        rgb = after.convert("L")
        assert rgb.getpixel((16, 4)) < 64  # the black half is now on top
        assert rgb.getpixel((16, 60)) > 192


def test_png_text_chunks_are_gone():
    original = c.png_with_text()
    assert b"tEXt" in original and b"secret-author-note" in original
    cleaned = clean_upload("scan.png", original)
    assert cleaned.kind == "png"
    for marker in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"tIME", b"secret-author-note"):
        assert marker not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.size == (16, 16)
        assert not after.text


def test_png_with_a_pdf_appended_is_accepted_as_png_without_the_pdf():
    polyglot = c.png() + c.pdf()
    cleaned = clean_upload("scan.png", polyglot)
    assert cleaned.kind == "png"
    assert b"%PDF" not in cleaned.data


def test_png_modes_and_transparency_survive():
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    out = io.BytesIO()
    palette.save(out, "PNG", transparency=0)
    cleaned = clean_upload("icon.png", out.getvalue())
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.mode == "P"
        assert after.info.get("transparency") == 0

    rgba = c.png(mode="RGBA")
    with Image.open(io.BytesIO(clean_upload("a.png", rgba).data)) as after:
        assert after.mode == "RGBA"


def test_jpeg_modes():
    grey = io.BytesIO()
    Image.new("L", (8, 8), 128).save(grey, "JPEG")
    with Image.open(io.BytesIO(clean_upload("g.jpg", grey.getvalue()).data)) as after:
        assert after.mode == "L"
    cmyk = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 0, 0)).save(cmyk, "JPEG")
    with Image.open(io.BytesIO(clean_upload("c.jpg", cmyk.getvalue()).data)) as after:
        assert after.mode == "RGB"


def test_multi_picture_jpeg_from_a_phone_is_accepted_as_one_plain_jpeg():
    out = io.BytesIO()
    frames = [Image.new("RGB", (40, 30), "blue"), Image.new("RGB", (20, 15), "green")]
    frames[0].save(out, "MPO", save_all=True, append_images=frames[1:])
    cleaned = clean_upload("IMG_1234.JPG", out.getvalue())
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.format == "JPEG"
        assert after.size == (40, 30)
        assert getattr(after, "n_frames", 1) == 1


def test_plain_pdf_is_rewritten_and_trailing_bytes_are_dropped():
    junk = b"<html><script>alert(1)</script></html>"

    def setup(writer):
        writer.add_metadata({"/Author": "张三 330102199003071230", "/Title": "x"})

    original = c.pdf(pages=2, setup=setup) + junk
    cleaned = clean_upload("申请表.pdf", original)
    assert (cleaned.kind, cleaned.mimetype, cleaned.suffix) == ("pdf", "application/pdf", ".pdf")
    assert cleaned.display_name == "申请表.pdf"
    assert junk not in cleaned.data
    assert cleaned.data.rstrip().endswith(b"%%EOF")
    assert cleaned.data != original
    reader = PdfReader(io.BytesIO(cleaned.data))
    assert len(reader.pages) == 2
    assert reader.metadata is None
    assert "/Names" not in reader.trailer["/Root"]


def test_hand_written_pdf_with_junk_after_eof_is_accepted():
    data = c.raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ],
        tail=b"PK\x03\x04 a zip after the PDF",
    )
    cleaned = clean_upload("x.pdf", data)
    assert b"PK\x03\x04" not in cleaned.data


# -- display names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("身份证 正面.JPG", "身份证 正面.jpg"),
        ("photo.jpeg", "photo.jpg"),
        ("photo.jfif", "photo.jpg"),
        ("户口本 2024.03.05", "户口本 2024.03.05.jpg"),  # no extension: the suffix is added
        ("Cafe\u0301.jpg", "Caf\u00e9.jpg"),  # NFC
        ('a<b>c:"d"|e?f*.jpg', "a_b_c__d__e_f_.jpg"),
        ("", "材料.jpg"),
        ("   .jpg", "材料.jpg"),
        ("长" * 200 + ".jpg", "长" * 76 + ".jpg"),
    ],
)
def test_display_name(name, expected):
    cleaned = clean_upload(name, c.jpeg())
    assert cleaned.display_name == expected
    assert len(cleaned.display_name) <= 80
