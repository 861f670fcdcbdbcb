"""The application state machine: an explicit transition table (pure Python, no Flask, no I/O).

DESIGN §3::

    draft → submitted → accepted(受理) → approved(办结·准予) → delivered
                │            │         ↘ refused(办结·不予许可)
                │            ↘ correction_requested(补正) → resubmitted → (back to the unit's queue)
                ↘ not_accepted(不予受理)
     draft / submitted / correction_requested → withdrawn (by the citizen)

A correction may also be asked before acceptance (一次性告知 at the counter), so ``submitted`` can go
to ``correction_requested`` too. Anything not in the table is refused with :class:`InvalidTransition`.
"""

from __future__ import annotations

import enum

from core.i18n import N_


class State(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    CORRECTION_REQUESTED = "correction_requested"
    RESUBMITTED = "resubmitted"
    APPROVED = "approved"
    REFUSED = "refused"
    DELIVERED = "delivered"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"


class Action(enum.StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    ACCEPT = "accept"
    NOT_ACCEPT = "not_accept"
    REQUEST_CORRECTION = "request_correction"
    RESUBMIT = "resubmit"
    APPROVE = "approve"
    REFUSE = "refuse"
    DELIVER = "deliver"


TRANSITIONS: dict[tuple[State, Action], State] = {
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

COMPLETED = frozenset({State.APPROVED, State.REFUSED, State.DELIVERED})  # 办结 (delivered was approved)
CLOSED = frozenset({State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED, State.WITHDRAWN})
CITIZEN_ACTIONS = frozenset({Action.SUBMIT, Action.WITHDRAW, Action.RESUBMIT})

STATE_LABELS = {
    State.DRAFT: N_("草稿"),
    State.SUBMITTED: N_("已提交，待受理"),
    State.ACCEPTED: N_("已受理，办理中"),
    State.CORRECTION_REQUESTED: N_("待补正"),
    State.RESUBMITTED: N_("已补正，待审核"),
    State.APPROVED: N_("办结（准予）"),
    State.REFUSED: N_("办结（不予许可）"),
    State.DELIVERED: N_("已送达"),
    State.NOT_ACCEPTED: N_("不予受理"),
    State.WITHDRAWN: N_("已撤回"),
}


class InvalidTransition(Exception):
    """``action`` is not allowed from ``state``."""

    def __init__(self, state: State | str, action: Action | str) -> None:
        super().__init__(f"{action} is not allowed from {state}")
        # An unknown name is an invalid transition too: keep it as given instead of failing here.
        self.state: State | str = State(state) if state in State._value2member_map_ else state
        self.action: Action | str = Action(action) if action in Action._value2member_map_ else action
        self.message = N_("当前状态下不能执行此操作，请刷新页面查看最新状态。")


def next_state(state: State | str, action: Action | str) -> State:
    """The state after ``action`` from ``state``; raises :class:`InvalidTransition`."""
    try:
        return TRANSITIONS[(State(state), Action(action))]
    except (KeyError, ValueError):
        raise InvalidTransition(state, action) from None


def allowed_actions(state: State | str) -> list[Action]:
    return [a for (s, a) in TRANSITIONS if s == State(state)]
