"""The MCP server, on the official SDK's low-level `Server`: one tool per document tool, both protocol eras.

`capgate.exposes.mcp.server` imports the SDK (about half a second), so only what serves MCP imports it;
this package itself imports nothing.
"""

from typing import Literal

MCP_PATH = "/mcp"  # the Streamable HTTP endpoint on the MCP port

TextMode = Literal["compact", "json"]  # the text of a mapped tool result: laid out for a model, or its JSON
TEXT_MODES: tuple[TextMode, ...] = ("compact", "json")

ConfirmPolicy = Literal["allow", "deny"]  # a destructive call whose client cannot ask its user (`--confirm`)
CONFIRM_POLICIES: tuple[ConfirmPolicy, ...] = ("allow", "deny")
