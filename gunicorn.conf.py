"""gunicorn settings shared by `make run` (the Makefile's serve target) and the benchmarks that serve the
portal (bench/clerk_load.py), so that what is measured is what runs. The command line still sets the
workers and the address.

Operating it (README, "Operating it"): logs are JSON lines like the portal's own (``logconfig_dict``),
SIGTERM drains (``graceful_timeout``), and the Prometheus metrics of every worker are shared through
``PROMETHEUS_MULTIPROC_DIR``."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

from core.logging import gunicorn_logconfig

# --- operations (issue 18 item 8) -------------------------------------------------------------------
# SIGTERM (systemd stop, a container stop, `kill <master>`): the master stops accepting connections
# and each worker finishes the request it is serving, then exits; after this many seconds the rest are
# killed. Give the process manager a little longer (systemd TimeoutStopSec=35, Kubernetes'
# default terminationGracePeriodSeconds=30).
graceful_timeout = 25

# gunicorn's own error log (and, with GUNICORN_ACCESS_LOG=1, its access log) as the portal's JSON
# lines: masked, with the request id. The portal's own access line (logger portal.access) is written
# either way, so gunicorn's is off by default. GUNICORN_PLAIN_LOGS=1 keeps gunicorn's own plain logs
# (what `--access-logfile FILE --access-logformat …` writes: the clerk-load benchmark reads each
# request's time in the worker from there).
if os.environ.get("GUNICORN_PLAIN_LOGS") != "1":
    logconfig_dict = gunicorn_logconfig(access_log=os.environ.get("GUNICORN_ACCESS_LOG") == "1")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'

# Prometheus multiprocess mode: each worker writes its counters and histograms to files here and any
# worker's /metrics adds them up. It must be set before prometheus_client is imported (the app is
# built after this file is read). An operator may choose the folder; otherwise a private temporary one.
_METRICS_DIR_MADE = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _METRICS_DIR_MADE:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")


def _clear_metrics_dir() -> None:
    """Values left by a previous run would be added to this one's: start empty."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker ended (restart, crash, shutdown): its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _METRICS_DIR_MADE:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# -----------------------------------------------------------------------------------------------------


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

    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    _clear_metrics_dir()
    found = problems(create_app())
    for line in found:
        server.log.error("cannot start: %s", line)
        print(f"cannot start: {line}", file=sys.stderr)
    if found:
        on_exit(server)
        sys.exit(1)
