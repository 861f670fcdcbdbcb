"""`python -m bench --only templates`: what a new worker pays for its templates, with and without the
compiled templates kept in ``TEMPLATE_CACHE_DIR`` (core.factory.TemplateCache).

In one process: an app on an empty cache folder loads every template of templates/ (compiling each and
writing it to the folder: a worker's first start), then a second app on the same folder loads them all
again (a worker started later, after a restart or a deploy). Both are CPU time in one run, so their ratio
holds on a shared host.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path


def _load_all(env) -> tuple[int, float]:
    names = [n for n in env.list_templates() if n.endswith((".html", ".txt", ".xml"))]
    started = time.process_time()
    for name in names:
        env.get_template(name)
    return len(names), time.process_time() - started


def run(log=print) -> dict:
    from portal import create_app

    work = Path(tempfile.mkdtemp(prefix="bench-templates-"))
    old = os.environ.get("INSTANCE_DIR")
    os.environ["INSTANCE_DIR"] = str(work / "instance")
    try:
        config = {"TEMPLATE_CACHE_DIR": str(work / "templates-cache"), "LOG_LEVEL": "WARNING"}
        count, cold = _load_all(create_app(config).jinja_env)  # the first worker: compiles, keeps
        _, warm = _load_all(create_app(config).jinja_env)  # a worker started later: loads
    finally:
        if old is None:
            os.environ.pop("INSTANCE_DIR", None)
        else:
            os.environ["INSTANCE_DIR"] = old
        shutil.rmtree(work, ignore_errors=True)
    result = {"templates": count, "compile_ms": cold * 1000, "cached_ms": warm * 1000}
    log(
        f"templates: a new worker loads {count} templates in {result['compile_ms']:.0f} ms of CPU compiling "
        f"them, {result['cached_ms']:.0f} ms from TEMPLATE_CACHE_DIR "
        f"({cold / warm if warm else 0:.0f}× less)"
    )
    return result
