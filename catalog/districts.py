"""The city's districts (辖区): where an applicant lives, which unit serves it, the routing rules' key.

One list for the citizen's form, the clerk's walk-in form, the unit editor and the submit check.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

DISTRICTS: tuple[str, ...] = ("东城区", "西城区", "江南区", "高新区")


def district_choices(blank_label=_l("请选择")) -> list[tuple[str, str]]:
    """Select choices: a blank first option with ``blank_label``, then every district."""
    return [("", blank_label)] + [(d, d) for d in DISTRICTS]
