from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from capgate.consumes.signals import STANDARD_PASS_BACK
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


def passed_back(stack: Stack, sent: dict[str, str]) -> dict[str, str]:
    """The headers of `sent` (an upstream answer's) that the gateway passes back: the default document declares
    Trigger.dev's, the seed declares none, so it passes back only the standard ones (retry-after, RateLimit…)."""
    if stack.document == "trigger-dev-runs":
        return sent
    return {name: value for name, value in sent.items() if name in STANDARD_PASS_BACK}
