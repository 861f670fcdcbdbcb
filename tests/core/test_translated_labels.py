"""core.i18n.translated_labels: a module's table of N_ labels translated once per language."""

from flask_babel import gettext

from applications.workflow.states import STATE_LABELS, State
from core.i18n import translated_labels


def test_each_language_gets_its_own_table_and_a_second_call_reuses_it(app):
    with app.test_request_context("/?lang=en"):
        english = translated_labels(STATE_LABELS)
        assert english == {k: gettext(v) for k, v in STATE_LABELS.items()}
        assert english[State.ACCEPTED].startswith("Accepted")
        assert translated_labels(STATE_LABELS) is english  # worked out once
    with app.test_request_context("/"):
        chinese = translated_labels(STATE_LABELS)
        assert chinese == dict(STATE_LABELS)
        assert chinese is not english
    with app.test_request_context("/?lang=en"):
        assert translated_labels(STATE_LABELS) == english  # the English table is intact


def test_another_table_is_not_confused_with_the_first(app):
    other = {"x": STATE_LABELS[State.ACCEPTED], "y": "不在目录里的标签"}
    with app.test_request_context("/?lang=en"):
        assert translated_labels(other) == {
            "x": gettext(STATE_LABELS[State.ACCEPTED]),
            "y": "不在目录里的标签",
        }
        assert set(translated_labels(STATE_LABELS)) == set(STATE_LABELS)
