"""What an operator scrapes: Prometheus metrics at ``/metrics`` (prometheus-flask-exporter).

- ``flask_http_request_duration_seconds{method,url_rule,status}`` and ``flask_http_request_total``:
  request latency by route (the URL rule, ``/applications/<int:app_id>``, never the raw path);
- gauges computed at scrape time by callbacks (:func:`register_gauge`): the outbox backlog and the
  age of its oldest pending message (here), applications waiting per queue state (``applications``),
  and whatever a later module registers (a scheduler's job last-success times);
- ``portal_login_failures_total{reason}``, counted by the login view (:data:`LOGIN_FAILURES`).

Under gunicorn every worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py
sets and empties it, and marks dead workers on ``child_exit``) counters and histograms live in files
there and any worker's ``/metrics`` answers for all of them. Scrape-time gauges are computed by the
worker answering the scrape.

``/metrics`` is not public: it answers only to an address in ``METRICS_ALLOW`` (comma-separated networks,
default loopback ``127.0.0.0/8,::1``; the address as ``TRUSTED_PROXY_HOPS`` lets the portal see it) or
to ``Authorization: Bearer <METRICS_TOKEN>`` when that is set. Everybody else gets the ordinary 404.

Registering a gauge (any package may; call it from its ``init_app``, registering again replaces)::

    from core.metrics import register_gauge

    def _last_success() -> dict[tuple[str], float]:
        rows = db.session.execute(select(JobRun.job, func.max(JobRun.finished_at)).where(...).group_by(...))
        return {(job,): finished.timestamp() for job, finished in rows}

    register_gauge(
        "portal_job_last_success_timestamp_seconds",
        "When each scheduled job last succeeded (Unix time)",
        _last_success,
        labels=("job",),
    )

The callback runs in the scrape's request (an app context, ``db.session`` usable), so keep it to a
cheap COUNT/MAX on an index. It returns a number, or for labelled gauges a mapping from label-value
tuples to numbers. A callback that raises is skipped for that scrape, logged, and reported as
``portal_metrics_gauge_up{gauge="<name>"} 0`` (1 when it answered) — a database down still leaves the
rest of ``/metrics`` readable.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps

from flask import Flask, abort, current_app, request
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import func, select

from core.clock import now as clock_now
from core.db import db

log = logging.getLogger(__name__)

DEFAULT_ALLOW = "127.0.0.0/8,::1"

GaugeValue = float | int | Mapping[tuple[str, ...], float | int]


@dataclass(frozen=True)
class _Gauge:
    name: str
    documentation: str
    callback: Callable[[], GaugeValue]
    labels: tuple[str, ...]


_gauges: dict[str, _Gauge] = {}

#: Failed logins, by reason: ``bad_credentials`` (unknown account, wrong password or disabled account —
#: the one message the person sees) or ``locked`` (refused, or just locked, by the lockout).
LOGIN_FAILURES = Counter(
    "portal_login_failures_total",
    "Failed logins (wrong identifier or password, or refused while locked)",
    ["reason"],
    registry=None,
)


def register_gauge(
    name: str,
    documentation: str,
    callback: Callable[[], GaugeValue],
    labels: Sequence[str] = (),
) -> None:
    """Expose ``callback()``'s value as the gauge ``name`` at every scrape (see the module docstring).
    Registering a name again replaces the earlier callback (apps are built more than once in tests)."""
    _gauges[name] = _Gauge(name, documentation, callback, tuple(labels))


def count_login_failure(*, locked: bool) -> None:
    """Count one failed login (the login view calls this after its transaction)."""
    LOGIN_FAILURES.labels(reason="locked" if locked else "bad_credentials").inc()


class _ScrapeGauges(Collector):
    """Runs every registered gauge callback at scrape time."""

    def describe(self) -> list[Metric]:
        return []  # nothing to run when registered: the callbacks need a request

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "portal_metrics_gauge_up", "1 when the gauge's callback answered at this scrape", labels=["gauge"]
        )
        for gauge in list(_gauges.values()):
            try:
                value = gauge.callback()
            except Exception as exc:  # noqa: BLE001 - one failing gauge must not hide the others
                log.warning("metrics gauge %s failed: %s", gauge.name, type(exc).__name__)
                db.session.rollback()
                up.add_metric([gauge.name], 0)
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            if isinstance(value, Mapping):
                for key, number in value.items():
                    family.add_metric([str(part) for part in key], float(number))
            else:
                family.add_metric([], float(value))
            up.add_metric([gauge.name], 1)
            yield family
        yield up


_SCRAPE_GAUGES = _ScrapeGauges()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _PortalMetrics(PrometheusMetrics):
    """The exporter, answering from this app's registry — or, under gunicorn, from every worker's
    files — plus the scrape-time gauges."""

    def generate_metrics(self, accept_header=None, names=None):
        from prometheus_client.exposition import choose_encoder

        if multiprocess_dir():
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            registry.register(_SCRAPE_GAUGES)
        else:
            registry = self.registry
        if names:
            registry = registry.restricted_registry(names)
        encode, content_type = choose_encoder(accept_header)
        return encode(registry).decode("utf-8"), content_type


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for part in value.split(","):
        if part.strip():
            out.append(ipaddress.ip_network(part.strip(), strict=False))
    return out


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        return False
    return any(address in network for network in current_app.config["METRICS_NETWORKS"])


def _guard(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        if not _allowed():
            abort(404)
        return view(*args, **kwargs)

    return guarded


def init_metrics(app: Flask) -> None:
    """Serve ``/metrics`` (guarded), time every request by URL rule, expose the outbox gauges."""
    app.config.setdefault("METRICS_ALLOW", os.environ.get("METRICS_ALLOW") or DEFAULT_ALLOW)
    app.config.setdefault("METRICS_TOKEN", os.environ.get("METRICS_TOKEN") or None)
    app.config["METRICS_NETWORKS"] = _networks(app.config["METRICS_ALLOW"])
    registry = CollectorRegistry()  # one per app: tests build many apps in one process
    registry.register(LOGIN_FAILURES)
    registry.register(_SCRAPE_GAUGES)
    metrics = _PortalMetrics(
        app=None,
        registry=registry,
        group_by="url_rule",
        excluded_paths=["/static/"],
        metrics_decorator=_guard,
    )
    metrics.init_app(app)
    app.extensions["portal_metrics"] = metrics
    register_gauge(
        "portal_outbox_pending",
        "Outbox messages not yet delivered and still being tried",
        lambda: _outbox()[0],
    )
    register_gauge(
        "portal_outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox message not yet delivered (0 when none)",
        lambda: _outbox()[1],
    )
    register_gauge(
        "portal_outbox_given_up",
        "Outbox messages that gave up after the last attempt (flask notify requeue)",
        _outbox_given_up,
    )


def _outbox() -> tuple[int, float]:
    from core.outbox import DEFAULT_MAX_ATTEMPTS, OutboxMessage

    count, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < DEFAULT_MAX_ATTEMPTS
        )
    ).one()
    if oldest is None:
        return count, 0.0
    return count, max((clock_now() - oldest).total_seconds(), 0.0)  # min() keeps the column's UTC type


def _outbox_given_up() -> int:
    from core.outbox import DEFAULT_MAX_ATTEMPTS, OutboxMessage

    return db.session.execute(
        select(func.count()).where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts >= DEFAULT_MAX_ATTEMPTS,
            OutboxMessage.next_attempt_at.is_(None),
        )
    ).scalar_one()
