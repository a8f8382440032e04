"""Fixtures for replaying Kraiter's pages: the templates their sequences send (tests/scheduling's),
and `beat`, which moves the clock and then does what beat's task does: react to new events
(triggers, exit conditions), then run the dispatcher."""

from datetime import timedelta

import pytest

from scheduling.dispatcher import dispatch_until_idle
from scheduling.reactions import react_until_idle
from tests.scheduling.conftest import Timeline, templates

__all__ = ["beat", "templates"]


class Beat(Timeline):
    def run(self, after: timedelta = timedelta(0)) -> int:
        self.clock.advance(after)
        react_until_idle()
        return dispatch_until_idle()


@pytest.fixture
def beat(clock) -> Beat:
    return Beat(clock)
