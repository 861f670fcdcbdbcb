"""Pure rules: the transition table and reference numbers; and reference numbers from real submits."""

from __future__ import annotations

import re
from datetime import date

import pytest

from applications.models import Application
from applications.submission import operations
from applications.submission.operations import transition
from applications.submission.reference import ALPHABET, check_char, is_valid_reference, make_reference
from applications.workflow.states import (
    Action,
    InvalidTransition,
    State,
    allowed_actions,
    next_state,
)
from auth.models import Role, User
from core.clock import local_today

CLERK = User(id=7, role=Role.CLERK, real_name="王建国")
REFERENCE = "LJ20260307000042X"


@pytest.fixture
def audited(monkeypatch) -> list[dict]:
    """The audit rows :func:`transition` writes, collected here (these checks need no database)."""
    rows: list[dict] = []
    recorder = type(
        "Audit", (), {"record": staticmethod(lambda action, **kw: rows.append({"action": action, **kw}))}
    )
    monkeypatch.setattr(operations, "audit", recorder)
    return rows


def _application(state: State) -> Application:
    return Application(id=41, state=state, reference=REFERENCE, unit_id=3)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_action_pair(state, action, audited):
    """An allowed action moves the application, with one status event and one audit row; any other is
    refused with InvalidTransition and leaves the state, the timeline and the audit trail alone."""
    app = _application(state)
    if action in allowed_actions(state):
        new = transition(app, action, CLERK, note="备注")
        assert app.state == new and new != state
        assert next_state(state.value, action.value) == new  # by name too
        (event,) = app.events
        assert (event.from_state, event.to_state, event.action) == (state.value, new.value, action.value)
        assert (event.actor_id, event.actor_role, event.unit_id, event.note) == (7, "clerk", 3, "备注")
        assert audited == [
            {
                "action": f"application.{action.value}",
                "object_type": "application",
                "object_id": 41,
                "details": {"from": state.value, "to": new.value, "reference": REFERENCE},
            }
        ]
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(app, action, CLERK)
        assert (info.value.state, info.value.action) == (state, action)
        assert re.search(r"[\u4e00-\u9fff]", info.value.message)
        assert app.state == state and list(app.events) == [] and audited == []
        with pytest.raises(InvalidTransition):
            next_state(state.value, action.value)


#: The lifecycles of DESIGN §3 (the diagram in applications/workflow/states.py): each step is an action
#: and the state it must reach.
JOURNEYS = {
    "approved and delivered": [
        (Action.SUBMIT, State.SUBMITTED),
        (Action.ACCEPT, State.ACCEPTED),
        (Action.APPROVE, State.APPROVED),
        (Action.DELIVER, State.DELIVERED),
    ],
    "refused": [
        (Action.SUBMIT, State.SUBMITTED),
        (Action.ACCEPT, State.ACCEPTED),
        (Action.REFUSE, State.REFUSED),
    ],
    "not accepted": [(Action.SUBMIT, State.SUBMITTED), (Action.NOT_ACCEPT, State.NOT_ACCEPTED)],
    "corrected before and after acceptance, approved": [
        (Action.SUBMIT, State.SUBMITTED),
        (Action.REQUEST_CORRECTION, State.CORRECTION_REQUESTED),  # 一次性告知 at the counter
        (Action.RESUBMIT, State.RESUBMITTED),
        (Action.ACCEPT, State.ACCEPTED),
        (Action.REQUEST_CORRECTION, State.CORRECTION_REQUESTED),
        (Action.RESUBMIT, State.RESUBMITTED),
        (Action.APPROVE, State.APPROVED),
    ],
    "corrected after acceptance, refused": [
        (Action.SUBMIT, State.SUBMITTED),
        (Action.ACCEPT, State.ACCEPTED),
        (Action.REQUEST_CORRECTION, State.CORRECTION_REQUESTED),
        (Action.RESUBMIT, State.RESUBMITTED),
        (Action.REFUSE, State.REFUSED),
    ],
    "corrected, then not accepted": [
        (Action.SUBMIT, State.SUBMITTED),
        (Action.REQUEST_CORRECTION, State.CORRECTION_REQUESTED),
        (Action.RESUBMIT, State.RESUBMITTED),
        (Action.NOT_ACCEPT, State.NOT_ACCEPTED),
    ],
    "asked twice, withdrawn during the correction": [
        (Action.SUBMIT, State.SUBMITTED),
        (Action.REQUEST_CORRECTION, State.CORRECTION_REQUESTED),
        (Action.RESUBMIT, State.RESUBMITTED),
        (Action.REQUEST_CORRECTION, State.CORRECTION_REQUESTED),
        (Action.WITHDRAW, State.WITHDRAWN),
    ],
    "draft withdrawn": [(Action.WITHDRAW, State.WITHDRAWN)],
    "withdrawn after submit": [(Action.SUBMIT, State.SUBMITTED), (Action.WITHDRAW, State.WITHDRAWN)],
}


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_each_journey_of_the_design_can_be_walked(name, audited):
    app = _application(State.DRAFT)
    for action, expected in JOURNEYS[name]:
        assert transition(app, action, CLERK) == expected, (name, action)
    steps = JOURNEYS[name]
    assert [(e.action, e.to_state) for e in app.events] == [(a.value, s.value) for a, s in steps]
    assert [row["action"] for row in audited] == [f"application.{a.value}" for a, _ in steps]


def test_nothing_is_allowed_beyond_the_design():
    walked = {(s, a) for steps in JOURNEYS.values() for s, (a, _) in zip(_states(steps), steps, strict=True)}
    allowed = {(state, action) for state in State for action in allowed_actions(state)}
    assert allowed == walked
    for state in (State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED, State.WITHDRAWN):
        assert allowed_actions(state) == ([Action.DELIVER] if state == State.APPROVED else [])
    assert set(allowed_actions(State.DRAFT)) == {Action.SUBMIT, Action.WITHDRAW}


def _states(steps) -> list[State]:
    """The state each step of a journey starts from."""
    return [State.DRAFT, *(s for _, s in steps[:-1])]


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
    today = local_today()  # the Beijing business date (a UTC date is yesterday's after 16:00 UTC)
    assert refs == [make_reference(today, 1), make_reference(today, 2)]
    assert all(is_valid_reference(r) for r in refs)
