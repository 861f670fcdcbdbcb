"""Message marking for code that must not import Flask (pure rules).

``N_("…")`` only marks a string for extraction (``pybabel extract -k N_``); it is translated with
``gettext`` where it is shown.
"""


def N_(message: str) -> str:
    return message
