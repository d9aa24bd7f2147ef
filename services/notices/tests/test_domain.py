from __future__ import annotations

import pytest

from tenderwire_notices.domain import ALLOWED_FROM, Action, IllegalTransitionError, check_transition
from tenderwire_shared.events.tenders import TenderStatus


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(TenderStatus))
def test_every_pair_of_status_and_action_is_either_allowed_or_refused_with_a_reason(
    status: TenderStatus, action: Action
) -> None:
    if status in ALLOWED_FROM[action]:
        check_transition(status, action)
        return
    with pytest.raises(IllegalTransitionError, match=f"cannot {action.value} a notice that is"):
        check_transition(status, action)


def test_the_lifecycle_matches_the_ungm_rules() -> None:
    assert ALLOWED_FROM[Action.AWARD] == {TenderStatus.CLOSED}
    assert TenderStatus.AWARDED not in ALLOWED_FROM[Action.CANCEL]
    assert TenderStatus.CLOSED in ALLOWED_FROM[Action.CANCEL]
    assert TenderStatus.CLOSED not in ALLOWED_FROM[Action.AMEND]
