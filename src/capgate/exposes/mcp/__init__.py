"""The MCP server, on the official SDK's low-level `Server`: one tool per document tool, both protocol eras.

Importing this package imports the SDK (about half a second), so only what serves MCP imports it.
"""
