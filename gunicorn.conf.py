"""gunicorn settings shared by `make run` (the Makefile's serve target) and the benchmarks that serve the
portal (bench/clerk_load.py), so that what is measured is what runs. The command line still sets the
workers and the address."""

from __future__ import annotations

import gc
import sys


def post_worker_init(worker) -> None:
    """Once a worker has loaded the app: collect, then freeze what survives.

    The app's long-lived objects — pypinyin's dictionaries, the mappers, the compiled templates: some
    350,000 tracked objects — then stay out of the garbage collector's full passes, each of which
    otherwise stopped the worker for 70–150 ms every few hundred requests (the slowest 5 % of the
    clerk queue pages and claims at the million-row benchmark).
    """
    gc.collect()
    gc.freeze()


def on_starting(server) -> None:
    """Refuse to start, with one line naming the setting, when a part the portal needs is missing."""
    from core.preflight import problems
    from portal import create_app

    found = problems(create_app())
    for line in found:
        server.log.error("cannot start: %s", line)
        print(f"cannot start: {line}", file=sys.stderr)
    if found:
        sys.exit(1)
