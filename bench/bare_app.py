"""The baseline for `make bench`: a bare Flask app answering each benchmarked path with canned bytes
of the same size as the portal's answer (BENCH_BODIES points at a JSON file path → body file; a path
listed without its query answers every query)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, request

app = Flask(__name__)
_bodies: dict[str, tuple[bytes, str]] = {}
for path, (file, mimetype) in json.loads(Path(os.environ["BENCH_BODIES"]).read_text()).items():
    _bodies[path] = (Path(file).read_bytes(), mimetype)


@app.route("/", defaults={"rest": ""})
@app.route("/<path:rest>")
def serve(rest: str):
    # the search benchmark's queries all differ: one canned answer for the path, whatever the query
    body, mimetype = _bodies.get(request.full_path.rstrip("?")) or _bodies[request.path]
    return Response(body, mimetype=mimetype)
