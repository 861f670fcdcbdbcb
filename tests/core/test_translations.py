"""The English catalogue is complete and current (issue 23): every msgid in the sources has a reviewed
English translation, and the catalogue holds nothing the sources no longer say.

Run as a script (``python -m tests.core.test_translations``, which ``make messages`` does) it lists what
still needs translating.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
#: The folders and extra keywords ``make messages`` extracts with (keep the two in step).
MESSAGE_SOURCES = ("core", "auth", "catalog", "applications", "audit_viewer", "demo", "portal", "templates")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "N_": None}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%\d*[sdif]")


def source_msgids() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    ids: set[str] = set()
    for folder in MESSAGE_SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, options_map, keywords=KEYWORDS
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalogue():
    with open(PO, "rb") as f:
        return read_po(f)


def problems() -> list[str]:
    out: list[str] = []
    cat = catalogue()
    in_po = {m.id for m in cat if m.id}
    for msgid in sorted(source_msgids() - in_po):
        out.append(f"not in the catalogue (run `make messages`): {msgid}")
    for msgid in sorted(in_po - source_msgids()):
        out.append(f"no longer in the sources (run `make messages`): {msgid}")
    for m in cat:
        if not m.id:
            continue
        if not m.string or not str(m.string).strip():
            out.append(f"untranslated: {m.id}")
        elif m.fuzzy:
            out.append(f"fuzzy (check the translation, then remove the fuzzy flag): {m.id}")
        elif sorted(_PLACEHOLDER.findall(m.id)) != sorted(_PLACEHOLDER.findall(m.string)):
            out.append(f"placeholders differ: {m.id} -> {m.string}")
        elif re.search(r"[\u4e00-\u9fff]", m.string) and not _chinese_allowed(m.id):
            out.append(f"translation still Chinese: {m.id} -> {m.string}")
    return out


def _chinese_allowed(msgid: str) -> bool:
    # examples of what people type into Chinese fields stay Chinese (搜索说法、放假安排 lines)
    return "驾照" in msgid or "上班" in msgid


def test_every_message_has_a_current_english_translation():
    found = problems()
    assert not found, f"{len(found)} translation problems:\n" + "\n".join(found[:50])


def test_the_checker_catches_a_new_untranslated_string(tmp_path, monkeypatch):
    # a message added in a template but not translated must fail the check above
    extra = tmp_path / "templates"
    extra.mkdir()
    (extra / "new.html").write_text("{{ _('一条还没有翻译的新文字') }}", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "MESSAGE_SOURCES", (*MESSAGE_SOURCES, str(extra)))
    assert "not in the catalogue (run `make messages`): 一条还没有翻译的新文字" in problems()


def test_english_pages_use_the_compiled_catalogue(client):
    response = client.get("/login?lang=en")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Log in" in response.text and "登录密码" not in response.text


if __name__ == "__main__":
    found = problems()
    print("\n".join(found) if found else f"{PO.relative_to(ROOT)}: every message translated")
    sys.exit(1 if found else 0)
