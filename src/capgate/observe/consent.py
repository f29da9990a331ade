"""What was decided about a destructive call before it was made: who asked, how, and what the answer was.

The MCP adapter decides (`capgate.exposes.mcp.consent`) and hands each decision to a recorder before it sends
anything upstream; `capgate serve` records them in the audit log, each as an entry of its own (`"event":
"consent"`) beside the call's own entries, so a decision is on disk whether or not the call follows.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Asked = Literal["elicitation", "input-required", "policy"]  # elicitation/create, InputRequiredResult, no one
Answer = Literal["accept", "decline", "cancel", "allow", "deny"]  # the human's three, the policy's two


@dataclass(frozen=True)
class ConsentRecord:
    """One decision; `arguments` are the consumed operation's (never a secret), `resource` its path values."""

    caller: str | None  # the inbound token's id, or the access token's subject
    client: str | None  # for an OAuth caller, the client its access token was issued to
    mcp_client: str | None  # the MCP client's name and version, when it said them (`clientInfo`)
    adapter: str
    target: str  # the tool
    operation: str
    resource: dict[str, Any]
    arguments: dict[str, Any]
    asked: Asked
    answer: Answer
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def entry(self) -> dict[str, Any]:
        """The audit log's line for it (`capgate audit` shows `outcome`)."""
        how = "the operator's policy" if self.asked == "policy" else f"the user, asked by {self.asked}"
        entry: dict[str, Any] = {"time": self.time, "event": "consent", "caller": self.caller}
        if self.client is not None:  # as the call's own entries name an OAuth caller's client
            entry["client"] = self.client
        return entry | {
            "mcp_client": self.mcp_client,
            "adapter": self.adapter,
            "target": self.target,
            "operation": self.operation,
            "resource": self.resource,
            "arguments": self.arguments,
            "asked": self.asked,
            "answer": self.answer,
            "outcome": f"consent: {self.answer} ({how})",
        }


Recorder = Callable[[ConsentRecord], Awaitable[None]]
