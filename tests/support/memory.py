"""Run a command and measure the most memory it held, under a cap so that a regression cannot take the machine."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float  # the kernel's own count (getrusage of this one child), not a sample


def run_measured(
    argv: Sequence[str], *, env: dict[str, str], address_space_mib: int = 2048, timeout: float = 60
) -> Measured:
    """Run `argv` with its address space capped (RLIMIT_AS) and a deadline; its peak RSS comes from wait4."""
    cap = address_space_mib * MIB

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    process = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=limit, text=True
    )
    output: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda: output.__setitem__("out", process.stdout.read() if process.stdout else "")),
        threading.Thread(target=lambda: output.__setitem__("err", process.stderr.read() if process.stderr else "")),
    ]
    for reader in readers:
        reader.start()
    deadline = threading.Timer(timeout, lambda: os.kill(process.pid, signal.SIGKILL))
    deadline.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        deadline.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    for reader in readers:
        reader.join(timeout)
    return Measured(process.returncode, output.get("out", ""), output.get("err", ""), usage.ru_maxrss / 1024)


def rss_mib(pid: int) -> tuple[float, float]:
    """A running process's resident memory now and at its peak (VmRSS, VmHWM), from /proc/PID/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]
