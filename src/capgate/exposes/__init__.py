"""Adapters that expose a document's operations: the REST facade and the MCP server."""
