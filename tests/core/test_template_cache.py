"""Compiled templates kept between worker starts (core.factory.TemplateCache in TEMPLATE_CACHE_DIR)."""

from __future__ import annotations

import logging
import re
import stat

from core.factory import TemplateCache


def _compiles(app) -> list[str]:
    """Record the templates ``app`` compiles from source (instead of loading them from the cache)."""
    env = app.jinja_env
    compiled: list[str] = []
    compile_source = env.compile

    def spy(source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return compile_source(source, name, filename, raw, defer_init)

    env.compile = spy
    return compiled


def _home(app) -> str:
    page = app.test_client().get("/")
    assert page.status_code == 200
    return page.text


def test_a_new_worker_loads_compiled_templates_instead_of_compiling_them(make_app, tmp_path):
    folder = tmp_path / "templates-cache"
    first = make_app(TEMPLATE_CACHE_DIR=str(folder))
    compiled_by_first = _compiles(first)
    page = _home(first)
    assert "base.html" in compiled_by_first
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # a cached file is code: the instance's only
    assert list(folder.glob("__jinja2_*.cache"))

    second = make_app(TEMPLATE_CACHE_DIR=str(folder))  # a worker started later, on the same folder
    compiled_by_second = _compiles(second)
    assert _without_nonces(_home(second)) == _without_nonces(page)
    assert compiled_by_second == []


def _without_nonces(page: str) -> str:
    return re.sub(r'nonce="[^"]*"', 'nonce=""', page)


def test_a_damaged_cache_file_is_compiled_again_and_the_page_still_answers(make_app, tmp_path):
    folder = tmp_path / "templates-cache"
    _home(make_app(TEMPLATE_CACHE_DIR=str(folder)))
    files = list(folder.glob("__jinja2_*.cache"))
    for n, f in enumerate(files):
        # the right magic header then garbage, a truncated file, and plain garbage
        f.write_bytes([f.read_bytes()[:12] + b"\x80garbage", f.read_bytes()[:20], b"not a cache"][n % 3])
    again = make_app(TEMPLATE_CACHE_DIR=str(folder))
    compiled = _compiles(again)
    assert "首页" in _home(again)
    assert "base.html" in compiled


def test_a_cache_folder_removed_while_running_costs_only_the_compiling(make_app, tmp_path, caplog):
    folder = tmp_path / "templates-cache"
    app = make_app(TEMPLATE_CACHE_DIR=str(folder))
    folder.rmdir()
    with caplog.at_level(logging.WARNING, logger="portal"):
        _home(app)
    assert "a compiled template was not kept" in caplog.text


def test_a_folder_that_cannot_be_made_leaves_the_templates_in_memory(make_app, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="portal"):
        app = make_app(TEMPLATE_CACHE_DIR=str(blocker / "cache"))
    assert "templates are compiled in memory only" in caplog.text
    assert not isinstance(app.jinja_env.bytecode_cache, TemplateCache)
    _home(app)


def test_an_empty_setting_keeps_no_files(make_app, tmp_path):
    app = make_app(TEMPLATE_CACHE_DIR="", INSTANCE_DIR=str(tmp_path / "inst"))
    _home(app)
    assert not (tmp_path / "inst" / "cache").exists()
