"""The problem state machine, pair by pair."""

from __future__ import annotations

import itertools

import pytest

from tierdesk.core.errors import DomainError, IllegalTransition
from tierdesk.problems import workflow
from tierdesk.problems.choices import ProblemStatus as S

LEGAL = {
    (S.NEW, S.INVESTIGATING),
    (S.NEW, S.ROOT_CAUSE_KNOWN),
    (S.NEW, S.CLOSED),
    (S.INVESTIGATING, S.ROOT_CAUSE_KNOWN),
    (S.INVESTIGATING, S.RESOLVED),
    (S.INVESTIGATING, S.CLOSED),
    (S.ROOT_CAUSE_KNOWN, S.INVESTIGATING),
    (S.ROOT_CAUSE_KNOWN, S.RESOLVED),
    (S.ROOT_CAUSE_KNOWN, S.CLOSED),
    (S.RESOLVED, S.INVESTIGATING),
    (S.RESOLVED, S.CLOSED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S.values, S.values)))
def test_every_pair_of_the_transition_table(current: str, target: str) -> None:
    if (current, target) in LEGAL:
        workflow.check_transition(current, target, root_cause="Expired certificate on the gateway.")
    else:
        with pytest.raises(IllegalTransition) as raised:
            workflow.check_transition(current, target, root_cause="Expired certificate on the gateway.")
        assert raised.value.allowed == workflow.allowed_targets(current)


@pytest.mark.parametrize("target", [S.ROOT_CAUSE_KNOWN, S.RESOLVED])
def test_knowing_or_fixing_the_cause_needs_it_written_down(target: str) -> None:
    with pytest.raises(DomainError, match="root cause"):
        workflow.check_transition(S.INVESTIGATING, target, root_cause="  ")


def test_closed_is_the_end() -> None:
    assert workflow.allowed_targets(S.CLOSED) == []
    assert list(workflow.TERMINAL) == [S.CLOSED]
    with pytest.raises(DomainError, match="Unknown"):
        workflow.check_transition(S.NEW, "archived", root_cause="")
