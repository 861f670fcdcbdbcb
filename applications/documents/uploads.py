"""Checking and cleaning an uploaded file before it is stored. Pure Python: no Flask, no database, no disk.

:func:`clean_upload` takes the citizen's file name and bytes and either returns a :class:`CleanFile` —
*new* bytes, safe to store and to hand back to staff — or raises :class:`UploadRejected` with a short code
and a Simplified-Chinese message that names the problem and says what to do.

Nothing the citizen sends is trusted:

* the type comes from the content (libmagic), never from the name or the browser's Content-Type; the
  name's extension, when it has one, must agree with the content;
* magic bytes alone are fooled by polyglots, so every file is also fully decoded: images with Pillow
  (``verify()`` then ``load()``), PDFs with pypdf;
* images are re-encoded from their pixels, so EXIF (GPS position, camera, time), ICC profiles, text
  chunks and any bytes appended after the image are gone; the EXIF orientation is applied first so the
  picture still stands the right way up;
* a pixel bomb is refused from the header, before any pixel is decoded (:data:`MAX_PIXELS`, also set as
  Pillow's ``Image.MAX_IMAGE_PIXELS``);
* PDFs that are encrypted or carry active content (JavaScript, launch actions, embedded files, rich
  media, XFA forms) are refused; accepted PDFs are rebuilt page by page through ``PdfWriter``, which drops
  the document catalog (names, open actions, outlines, metadata), earlier revisions and trailing bytes.

The stored suffix is always derived from the content, and the citizen's name survives only as
``display_name`` (for ``Content-Disposition``).

What this does *not* do: rasterise PDFs. Fonts and images inside an accepted PDF pass through unchanged,
so staff PDF viewers must be kept up to date (an optional clamd scan sits in front of this, see STACK.md).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import magic
from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
#: PDF limits that keep one upload from holding a worker for seconds: checking and rebuilding cost about
#: 35 µs an object and 150 µs a page, and 10 MB can hold 100,000 empty pages. A scanned 100-page PDF
#: has about a thousand objects.
MAX_PDF_PAGES = 300
MAX_PDF_OBJECTS = 50_000

Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_KIND_BY_MIMETYPE = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_MIMETYPE = {kind: mimetype for mimetype, kind in _KIND_BY_MIMETYPE.items()}
_SUFFIX = {"jpg": ".jpg", "png": ".png", "pdf": ".pdf"}
_LABEL = {"jpg": "JPG", "png": "PNG", "pdf": "PDF"}
_KIND_BY_EXTENSION = {
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".jpe": "jpg",
    ".jfif": "jpg",  # what Windows names JPEGs saved from a browser
    ".png": "png",
    ".pdf": "pdf",
}
_ALLOWED_ALIASES = {"jpg": "jpg", "jpeg": "jpg", "png": "png", "pdf": "pdf"}
_PIL_FORMAT = {"jpg": "JPEG", "png": "PNG"}

# Characters that reorder how a name is displayed ("photo\u202egpj.exe" shows as "photoexe.jpg").
_BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)
# An extension is 1-5 ASCII letters/digits with at least one letter ("v1.2" or "2024.03" have none).
_EXTENSION_RE = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,5}")
_WINDOWS_RESERVED_RE = re.compile(r'[<>:"|?*]')
DISPLAY_NAME_MAX = 80
DEFAULT_DISPLAY_STEM = "材料"

# Active content in a PDF: keys that hold it, and /S (action), /Subtype (annotation) and /Type values.
_PDF_ACTIVE_KEYS = frozenset(
    [
        "/JS",
        "/JavaScript",
        "/EmbeddedFiles",
        "/EmbeddedFile",
        "/EF",
        "/RichMedia",
        "/RichMediaContent",
        "/RichMediaSettings",
        "/XFA",
    ]
)
_PDF_ACTIVE_NAMES = frozenset(
    [
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/GoToE",
        "/RichMediaExecute",
        "/EmbeddedFile",
        "/RichMedia",
        "/FileAttachment",
        "/Movie",
        "/Sound",
        "/Screen",
        "/Rendition",
        "/3D",
    ]
)
_PDF_TYPED_KEYS = ("/S", "/Subtype", "/Type")
# Page entries not copied into the rebuilt PDF (applies to everything cloned below a page as well).
_PDF_EXCLUDED_KEYS = ("/Metadata", "/PieceInfo", "/AA", "/B", "/Thumb")


class UploadRejected(Exception):
    """The file was refused. ``code`` is short ASCII for logs and tests; ``message`` is for the citizen.

    ``detail`` (English, may be empty) says what was seen, for the log only — never show it.
    """

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class CleanFile:
    """A checked, re-encoded file: store ``data`` under ``suffix``, serve it as ``mimetype``."""

    data: bytes
    kind: str  # "jpg" | "png" | "pdf"
    mimetype: str
    suffix: str  # ".jpg" | ".png" | ".pdf"
    sha256: str  # of ``data``, the cleaned bytes
    size: int  # len(data)
    display_name: str  # the citizen's name, made safe, with ``suffix``; for Content-Disposition only


# -- messages ------------------------------------------------------------------------------------------


def _types_label(kinds: Iterable[str]) -> str:
    return "、".join(_LABEL[k] for k in ("jpg", "png", "pdf") if k in set(kinds))


def _megabytes(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:g}MB" if mb >= 1 else f"{max(1, n // 1024)}KB"


def _reject(code: str, message: str, detail: str = "") -> UploadRejected:
    return UploadRejected(code, message, detail)


MESSAGES = {
    "empty": "这个文件是空的（0 字节），可能没有保存完整。请重新选择文件后上传。",
    "bad_name": "文件名中含有不允许的字符（如“/”“\\”“..”、控制字符或改变文字方向的隐藏字符）。"
    "请把文件重命名为普通的名称（例如“身份证正面.jpg”）后重新上传。",
    "corrupt_image": "图片已损坏或不完整，无法打开。请重新拍照或重新导出图片后上传。",
    "pixel_bomb": "图片尺寸过大（超过 4000 万像素）。"
    "请缩小图片尺寸（例如用手机“编辑—调整大小”或截图）后重新上传。",
    "pdf_active_content": "PDF 文件中含有脚本、附件、多媒体或动态表单等内容，出于安全考虑不能接收。"
    "请用“打印—另存为 PDF”或扫描方式重新生成 PDF 后上传。",
    "pdf_encrypted": "PDF 文件设置了密码或加密，工作人员无法打开。"
    "请取消密码保护（或“打印—另存为 PDF”）后重新上传。",
    "corrupt_pdf": "PDF 文件已损坏、不完整或没有任何页面，无法打开。请重新生成或重新扫描后上传。",
    "pdf_too_many_pages": f"PDF 文件超过 {MAX_PDF_PAGES} 页。"
    "请只保留需要提交的页面，或拆分为几个文件后分别上传。",
    "pdf_too_complex": "PDF 文件结构过于复杂，无法完成安全检查。"
    "请用“打印—另存为 PDF”或扫描方式重新生成后上传。",
}


def _too_large_message(max_bytes: int) -> str:
    return f"文件超过 {_megabytes(max_bytes)}，不能上传。请压缩图片、降低扫描分辨率或把文件拆分后重新上传。"


def _type_message(allowed: Iterable[str], mimetype: str) -> str:
    labels = _types_label(allowed)
    message = (
        f"这里只能上传 {labels} 格式的文件，所选文件不是这些格式。请另存为或转换成 {labels} 后重新上传。"
    )
    if mimetype in ("image/heic", "image/heif", "image/avif"):
        message += "苹果手机拍摄的 HEIC 照片，可在相册中“共享—存储到文件”时选择 JPG，或截图后上传。"
    return message


def _mismatch_message(extension: str, kind: str) -> str:
    label = _LABEL[kind]
    return (
        f"文件扩展名“{extension}”与文件的实际内容（{label} 文件）不一致。请确认选择的是正确的文件；"
        f"如果它确实是 {label} 文件，请把扩展名改为“{_SUFFIX[kind]}”后重新上传。"
    )


# -- entry point ---------------------------------------------------------------------------------------


def clean_upload(
    filename: str,
    data: bytes,
    allowed: Iterable[str] = ("jpg", "png", "pdf"),
    max_bytes: int = MAX_BYTES,
) -> CleanFile:
    """Check ``data`` (uploaded as ``filename``) and return its cleaned form.

    ``allowed`` is the requirement's allow-list ("jpg" — "jpeg" is accepted as an alias —, "png",
    "pdf"); an unknown entry is a programming error (``ValueError``).

    Raises :class:`UploadRejected` with code ``empty``, ``too_large``, ``bad_name``, ``type_not_allowed``,
    ``mismatch``; then for images ``pixel_bomb`` or ``corrupt_image``; for PDFs ``pdf_encrypted``,
    ``corrupt_pdf`` (unreadable, no pages), ``pdf_too_many_pages`` (over :data:`MAX_PDF_PAGES`),
    ``pdf_active_content`` or ``pdf_too_complex`` (over :data:`MAX_PDF_OBJECTS`). The checks run in
    that order and the first failure wins.
    """
    allowed_kinds = _normalise_allowed(allowed)
    data = bytes(data)
    if not data:
        raise _reject("empty", MESSAGES["empty"])
    if len(data) > max_bytes:
        raise _reject("too_large", _too_large_message(max_bytes), f"{len(data)} bytes > {max_bytes}")
    name = _check_name(filename)

    mimetype = magic.from_buffer(data[:8192], mime=True)
    kind = _KIND_BY_MIMETYPE.get(mimetype)
    if kind is None or kind not in allowed_kinds:
        raise _reject("type_not_allowed", _type_message(allowed_kinds, mimetype), f"libmagic: {mimetype}")

    stem, extension = _split_extension(name)
    if extension is not None and _KIND_BY_EXTENSION.get(extension) != kind:
        raise _reject("mismatch", _mismatch_message(extension, kind), f"{extension} on {mimetype}")

    cleaned = _clean_pdf(data) if kind == "pdf" else _clean_image(data, kind)
    suffix = _SUFFIX[kind]
    return CleanFile(
        data=cleaned,
        kind=kind,
        mimetype=_MIMETYPE[kind],
        suffix=suffix,
        sha256=hashlib.sha256(cleaned).hexdigest(),
        size=len(cleaned),
        display_name=_display_name(stem, suffix),
    )


def _normalise_allowed(allowed: Iterable[str]) -> frozenset[str]:
    if isinstance(allowed, str):
        allowed = (allowed,)
    kinds = set()
    for entry in allowed:
        kind = _ALLOWED_ALIASES.get(entry.strip().lower().lstrip("."))
        if kind is None:
            raise ValueError(f"unknown upload type {entry!r}; use jpg, png or pdf")
        kinds.add(kind)
    if not kinds:
        raise ValueError("allowed must name at least one upload type")
    return frozenset(kinds)


# -- names ---------------------------------------------------------------------------------------------


def _check_name(filename: str | None) -> str:
    """Refuse names with path parts, control or bidi characters; return the name NFC-normalised."""
    raw = filename or ""
    for text in (raw, unicodedata.normalize("NFC", raw)):
        if "/" in text or "\\" in text or ".." in text:
            raise _reject("bad_name", MESSAGES["bad_name"], f"path in name {text!r}")
        for ch in text:
            if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
                raise _reject("bad_name", MESSAGES["bad_name"], f"character U+{ord(ch):04X} in name")
    return unicodedata.normalize("NFC", raw).strip()


def _split_extension(name: str) -> tuple[str, str | None]:
    """``("证件照", ".jpg")`` for ``"证件照.JPG"``; ``(name, None)`` when the name has no extension."""
    stem, dot, tail = name.rpartition(".")
    if dot and _EXTENSION_RE.fullmatch(tail):
        return stem, "." + tail.lower()
    return name, None


def _display_name(stem: str, suffix: str) -> str:
    """The citizen's base name, NFC, characters Windows cannot save replaced, cut to 80 with ``suffix``."""
    stem = _WINDOWS_RESERVED_RE.sub("_", stem).strip().strip(".").strip()
    stem = stem[: DISPLAY_NAME_MAX - len(suffix)].rstrip() or DEFAULT_DISPLAY_STEM
    return stem + suffix


# -- images --------------------------------------------------------------------------------------------


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise _reject("pixel_bomb", MESSAGES["pixel_bomb"], f"{width}x{height}")


def _clean_image(data: bytes, kind: str) -> bytes:
    """Decode fully (header size check, ``verify()``, ``load()``), apply EXIF orientation, re-encode bare.

    The explicit size check runs on the header before any pixel is decoded, so it does not depend on
    the process-wide warning filter (``warnings.catch_warnings`` is not thread-safe before 3.14).
    """
    fmt = _PIL_FORMAT[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                _check_pixels(probe.size)
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                _check_pixels(image.size)
                image.load()
                try:
                    upright = ImageOps.exif_transpose(image)
                except Exception:  # noqa: BLE001 - unreadable EXIF: keep the pixels as they are
                    upright = image.copy()
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _reject("pixel_bomb", MESSAGES["pixel_bomb"], str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, EOFError, …
        raise _reject("corrupt_image", MESSAGES["corrupt_image"], f"{type(exc).__name__}: {exc}") from None

    return _encode_jpeg(upright) if kind == "jpg" else _encode_png(upright)


def _encode_jpeg(image: Image.Image) -> bytes:
    """JPEG quality 85, no EXIF/ICC/comments; greyscale stays greyscale, everything else becomes RGB."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.info = {}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _encode_png(image: Image.Image) -> bytes:
    """PNG, optimised, with only pixel data and transparency: no text, EXIF, ICC, time or private chunks."""
    transparency = image.info.get("transparency")
    if image.mode == "PA":
        image = image.convert("RGBA")
    elif image.mode not in ("1", "L", "LA", "I;16", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    options: dict = {"optimize": True}
    if transparency is not None and (
        (image.mode == "P" and isinstance(transparency, int | bytes))
        or (image.mode in ("1", "L", "I;16") and isinstance(transparency, int))
        or (image.mode == "RGB" and isinstance(transparency, tuple) and len(transparency) == 3)
    ):
        options["transparency"] = transparency
    image.info = {}
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


# -- PDFs ----------------------------------------------------------------------------------------------


def _clean_pdf(data: bytes) -> bytes:
    """Refuse encrypted PDFs and active content, then rebuild the pages alone into a new file."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _reject("pdf_encrypted", MESSAGES["pdf_encrypted"])
        pages = list(reader.pages)
        if not pages:
            raise _reject("corrupt_pdf", MESSAGES["corrupt_pdf"], "no pages")
        if len(pages) > MAX_PDF_PAGES:
            raise _reject("pdf_too_many_pages", MESSAGES["pdf_too_many_pages"], f"{len(pages)} pages")
        found = _find_active_content(reader)
        if found:
            raise _reject("pdf_active_content", MESSAGES["pdf_active_content"], found)
        writer = PdfWriter()
        writer.metadata = None
        for page in pages:
            writer.add_page(page, excluded_keys=_PDF_EXCLUDED_KEYS)
        out = io.BytesIO()
        writer.write(out)
        cleaned = out.getvalue()
        if len(PdfReader(io.BytesIO(cleaned)).pages) != len(pages):
            raise _reject("corrupt_pdf", MESSAGES["corrupt_pdf"], "page count changed on rewrite")
    except UploadRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises PdfReadError, ValueError, KeyError, RecursionError, …
        raise _reject("corrupt_pdf", MESSAGES["corrupt_pdf"], f"{type(exc).__name__}: {exc}") from None
    return cleaned


def _find_active_content(reader: PdfReader) -> str | None:
    """Walk every object reachable from the trailer; describe the first active content found, or None.

    Reading the whole graph (rather than a list of known places: catalog /Names, /OpenAction, /AA, page
    annotations, /AcroForm) also catches actions chained through /Next, annotations on form fields and
    names written with ``#xx`` escapes, which pypdf decodes.
    """
    stack: list = [reader.trailer]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            raise _reject("pdf_too_complex", MESSAGES["pdf_too_complex"], f"over {MAX_PDF_OBJECTS} objects")
        if isinstance(obj, DictionaryObject):
            for key, value in dict.items(obj):
                if key in _PDF_ACTIVE_KEYS:
                    return f"key {key}"
                if key in _PDF_TYPED_KEYS:
                    name = value.get_object() if isinstance(value, IndirectObject) else value
                    if isinstance(name, NameObject) and name in _PDF_ACTIVE_NAMES:
                        return f"{key} {name}"
                if isinstance(value, IndirectObject | DictionaryObject | ArrayObject):
                    stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(v for v in obj if isinstance(v, IndirectObject | DictionaryObject | ArrayObject))
    return None
