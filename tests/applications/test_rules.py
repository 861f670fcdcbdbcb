"""Pure rules: the transition table and reference numbers; and reference numbers from real submits."""

from __future__ import annotations

import re
from datetime import date

import pytest

from applications.reference import ALPHABET, check_char, is_valid_reference, make_reference
from applications.workflow import (
    TRANSITIONS,
    Action,
    InvalidTransition,
    State,
    allowed_actions,
    next_state,
)

EXPECTED = {
    (State.DRAFT, Action.SUBMIT): State.SUBMITTED,
    (State.DRAFT, Action.WITHDRAW): State.WITHDRAWN,
    (State.SUBMITTED, Action.ACCEPT): State.ACCEPTED,
    (State.SUBMITTED, Action.NOT_ACCEPT): State.NOT_ACCEPTED,
    (State.SUBMITTED, Action.REQUEST_CORRECTION): State.CORRECTION_REQUESTED,
    (State.SUBMITTED, Action.WITHDRAW): State.WITHDRAWN,
    (State.ACCEPTED, Action.REQUEST_CORRECTION): State.CORRECTION_REQUESTED,
    (State.ACCEPTED, Action.APPROVE): State.APPROVED,
    (State.ACCEPTED, Action.REFUSE): State.REFUSED,
    (State.CORRECTION_REQUESTED, Action.RESUBMIT): State.RESUBMITTED,
    (State.CORRECTION_REQUESTED, Action.WITHDRAW): State.WITHDRAWN,
    (State.RESUBMITTED, Action.ACCEPT): State.ACCEPTED,
    (State.RESUBMITTED, Action.NOT_ACCEPT): State.NOT_ACCEPTED,
    (State.RESUBMITTED, Action.REQUEST_CORRECTION): State.CORRECTION_REQUESTED,
    (State.RESUBMITTED, Action.APPROVE): State.APPROVED,
    (State.RESUBMITTED, Action.REFUSE): State.REFUSED,
    (State.APPROVED, Action.DELIVER): State.DELIVERED,
}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_action_pair(state, action):
    if (state, action) in EXPECTED:
        assert next_state(state, action) == EXPECTED[(state, action)]
        assert next_state(state.value, action.value) == EXPECTED[(state, action)]
    else:
        with pytest.raises(InvalidTransition) as info:
            next_state(state, action)
        assert (info.value.state, info.value.action) == (state, action)
        assert re.search(r"[\u4e00-\u9fff]", info.value.message)


def test_the_table_is_the_design():
    assert TRANSITIONS == EXPECTED
    for state in (State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED, State.WITHDRAWN):
        assert allowed_actions(state) == ([Action.DELIVER] if state == State.APPROVED else [])
    assert set(allowed_actions(State.DRAFT)) == {Action.SUBMIT, Action.WITHDRAW}


def test_unknown_names_are_invalid_transitions():
    with pytest.raises(InvalidTransition):
        next_state("draft", "teleport")
    with pytest.raises(InvalidTransition):
        next_state("limbo", "submit")


# Reference numbers ---------------------------------------------------------------------------------


def test_format():
    ref = make_reference(date(2026, 3, 7), 42)
    assert re.fullmatch(r"LJ20260307000042[0-9A-HJ-NP-RT-Y]", ref)
    assert is_valid_reference(ref) and is_valid_reference(" " + ref.lower() + " ")
    assert ref[-1] in ALPHABET and not set("IOSZ") & set(ALPHABET)


@pytest.mark.parametrize("seq", [1, 7, 123, 999999])
def test_every_single_digit_change_is_caught(seq):
    ref = make_reference(date(2026, 11, 22), seq)
    for i in range(2, 16):
        for digit in "0123456789":
            if digit != ref[i]:
                changed = ref[:i] + digit + ref[i + 1 :]
                assert not is_valid_reference(changed), changed


@pytest.mark.parametrize("seq", [1, 7, 123, 456789])
def test_every_adjacent_swap_is_caught(seq):
    ref = make_reference(date(2026, 11, 22), seq)
    for i in range(2, 15):
        if ref[i] != ref[i + 1]:
            swapped = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
            assert not is_valid_reference(swapped), swapped


def test_wrong_shapes_are_invalid():
    ref = make_reference(date(2026, 1, 1), 1)
    for bad in ("", None, ref[:-1], ref + "0", "XX" + ref[2:], ref[:5] + "A" + ref[6:], ref[:-1] + "?"):
        assert not is_valid_reference(bad)
    assert check_char("20260101000001") == ref[-1]


def test_two_submits_the_same_day_get_sequential_numbers(app, citizen_client):
    from applications.models import Application
    from core.db import db

    from .helpers import submitted

    first, second = submitted(citizen_client), submitted(citizen_client)
    with app.app_context():
        refs = [db.session.get(Application, aid).reference for aid in (first, second)]
    today = date.today()
    assert refs == [make_reference(today, 1), make_reference(today, 2)]
    assert all(is_valid_reference(r) for r in refs)
