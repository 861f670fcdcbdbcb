"""The one shared package, below every feature package: the base application factory, configuration,
database base, extensions, errors, security headers, logging, masking, the audit trail, file storage,
the one clock (:mod:`core.clock`) and the working-day calendar (:mod:`core.workdays`). It imports no
feature package; :mod:`portal` wires them.

- :mod:`core.memo`: a worker's short memory, what a request worked out kept a few seconds (timed, bounded).
- :mod:`core.csrf_tokens`: Flask-WTF's CSRF token, minted at most once a minute per session in a worker.
- :mod:`core.pagecache`: per-worker caches of rendered HTML (whole anonymous pages, shared fragments, the
  layout header).
"""
