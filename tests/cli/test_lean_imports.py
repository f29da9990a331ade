"""Start-up cost: the REST path never imports the MCP SDK, and the MCP path skips the SDK's client side."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_serving_rest_imports_no_mcp() -> None:
    loaded = _run(
        "import sys, capgate.serve.server, capgate.cli.program; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('mcp', 'mcp_types')))"
    )
    assert loaded.strip() == "[]"


def test_the_mcp_adapter_skips_the_sdk_client_yet_mcp_imports_as_usual() -> None:
    out = _run(
        "import sys, capgate.exposes.mcp.server\n"
        "print('mcp.client' in sys.modules, 'mcp.server.mcpserver' in sys.modules)\n"
        "from mcp import ClientSession, types\n"  # the package's own __init__ runs on first need
        "import mcp\n"
        "from mcp.server import MCPServer\n"
        "print(ClientSession.__module__, mcp.server.lowlevel.Server.__name__, MCPServer.__name__,\n"
        "      types.Tool is capgate.exposes.mcp.server.types.Tool)\n"
    )
    assert out.splitlines() == ["False False", "mcp.client.session Server MCPServer True"]


def test_serving_imports_no_part_of_uvicorn_it_does_not_run() -> None:
    """uvicorn's command line, reloaders and file watcher stay out (capgate.serve.http_server), while the package
    still imports whole for whoever asks for it."""
    out = _run(
        "import sys, capgate.serve.server, capgate.cli.program\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'watchfiles', 'multiprocessing')))\n"
        "import uvicorn\n"
        "print(uvicorn.run.__module__, uvicorn.Server.__module__)\n"
    )
    assert out.splitlines() == ["[]", "uvicorn.main uvicorn.server"]
