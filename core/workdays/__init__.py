"""The working-day calendar, shared infrastructure below every feature package.

- :mod:`core.workdays.rules` (pure, no Flask, no I/O): which local dates are working days — the
  State Council's published arrangements (chinese-calendar), a year's arrangement an admin entered,
  and for a year with neither the statutory holidays of 《全国年节及纪念日放假办法》 (2024 revision);
  admin overrides of single dates win over all of them. Also the parser of an arrangement file.
- :mod:`core.workdays.models`: the override and arrangement tables and :func:`load_calendar`, the one
  place that reads them.

Deadline arithmetic (承诺时限, pauses) lives with the applications' workflow; this package only knows
days.
"""
