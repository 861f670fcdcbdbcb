"""The portal plus one slow page, served by gunicorn in the graceful-shutdown test
(tests/ops/test_graceful_shutdown.py). Configured by the environment like ``wsgi.py``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from portal import create_app

app = create_app()


@app.route("/_test/slow")
def slow():
    Path(os.environ["SLOW_MARKER"]).write_text("in flight")  # the test sends SIGTERM now
    time.sleep(float(os.environ.get("SLOW_SECONDS", "2")))
    return "finished after the signal"
