from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.gateway import Running, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream, recording_upstream


@dataclass
class Stack:
    document: str
    upstream: RecordingUpstream
    gateway: Running


@pytest.fixture(scope="module", params=["trigger-dev-runs", "trigger-dev-runs-seed"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A recording upstream and a gateway serving one bundled document in front of it."""
    with recording_upstream() as upstream, running_gateway(gateway_config(request.param, upstream.url)) as gateway:
        yield Stack(request.param, upstream, gateway)


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    stack.upstream.requests.clear()
    stack.upstream.replies.clear()
    return stack
