"""The directory where the workers of `capgate serve --workers N` keep their metrics, for /metrics to sum.

prometheus_client keeps values in memory unless PROMETHEUS_MULTIPROC_DIR names a directory when it is first
imported; then each process keeps its values in files there, which any process can read (capgate.observe.metrics).
So this module imports nothing that imports prometheus_client, and the supervisor enters `metrics_directory()`
before it imports the rest; the workers it forks inherit the variable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def metrics_directory() -> Iterator[str]:
    """A new directory, named in PROMETHEUS_MULTIPROC_DIR, removed when the process that made it leaves the block.

    Not when a process forked inside the block leaves it: a worker that stops leaves the directory to the others.
    A new directory, not one the variable already named, holds no other run's counts; mkdtemp makes it private
    (0700), in TMPDIR if that is set.
    """
    owner = os.getpid()
    directory = tempfile.mkdtemp(prefix="capgate-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield directory
    finally:
        if os.getpid() == owner:
            shutil.rmtree(directory, ignore_errors=True)
