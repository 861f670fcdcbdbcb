"""The py-spy reading of `python -m bench --only spy-loggedin` (bench/spy_loggedin.py): shares of the
worker's request handling, with waiting time and recursion not counted twice."""

from __future__ import annotations

from bench.spy_loggedin import frame_label, shares

SITE = "/srv/app/.venv/lib/python3.11/site-packages"
RAW = [
    # waiting for a connection: not request handling, left out
    f"<module> (gunicorn:8);SyncWorker.run ({SITE}/gunicorn/workers/sync.py:126);"
    f"SyncWorker.accept ({SITE}/gunicorn/workers/sync.py:30) 50",
    # a request: Flask under gunicorn's handle, the view's template rendering twice (recursion) in one stack
    f"<module> (gunicorn:8);SyncWorker.handle ({SITE}/gunicorn/workers/sync.py:134);"
    f"Flask.__call__ ({SITE}/flask/app.py:1529);render (/root/.pyenv/versions/3.11.7/lib/python3.11/x.py:5);"
    f"render (/root/.pyenv/versions/3.11.7/lib/python3.11/x.py:9) 30",
    # the same function on another line counts as the same function
    f"<module> (gunicorn:8);SyncWorker.handle ({SITE}/gunicorn/workers/sync.py:140);"
    f"Flask.__call__ ({SITE}/flask/app.py:1530) 10",
    # the access log line, outside Flask
    f"<module> (gunicorn:8);SyncWorker.handle ({SITE}/gunicorn/workers/sync.py:180);"
    f"Logger.access ({SITE}/gunicorn/glogging.py:363) 10",
    "not a line py-spy writes",
]


def test_a_frame_is_named_by_function_and_file_without_the_install_prefix_or_line():
    assert frame_label(f"Flask.wsgi_app ({SITE}/flask/app.py:1479)") == "Flask.wsgi_app (flask/app.py)"
    assert frame_label("odd frame") == "odd frame"


def test_shares_count_only_request_handling_and_each_function_once_per_sample():
    samples, rows = shares(RAW)
    assert samples == 50  # the 50 waiting samples and the malformed line are not handling
    share = dict(rows)
    assert share["Flask.__call__ (flask/app.py)"] == 0.8
    assert share["render (x.py)"] == 0.6  # recursion: once per sample, not twice
    assert share["Logger.access (gunicorn/glogging.py)"] == 0.2
    assert rows[0][0] == "Flask.__call__ (flask/app.py)"  # largest first


def test_nothing_under_the_root_gives_no_rows():
    assert shares(RAW[:1]) == (0, [])
