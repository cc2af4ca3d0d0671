"""Start, watch and stop a daemon for a test.

A `Process` runs one executable in its own session (so signals reach only it), with stdout and
stderr captured to files in the test's directory. Readiness is a condition with a deadline: a TCP
port that accepts, or a line in the log; if the process exits while we wait, we fail at once with
the tail of its output. `stop()` sends SIGTERM, then SIGKILL after a timeout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .ports import LOOPBACK, port_accepts

POLL_INTERVAL = 0.05


class ProcessError(AssertionError):
    """A daemon failed to start, died early, or did not become ready in time."""


class Process:
    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike],
        workdir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.workdir = Path(workdir)
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.stdout_path = self.workdir / f"{name}.stdout.log"
        self.stderr_path = self.workdir / f"{name}.stderr.log"
        self.popen: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Process":
        if self.popen is not None:
            raise RuntimeError(f"{self.name} already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not Path(self.argv[0]).exists():
            raise ProcessError(f"{self.name}: executable not found: {self.argv[0]}")
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL. Returns the exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    self.popen.kill()
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=timeout)
        return self.popen.returncode

    # -- readiness -------------------------------------------------------------------------

    def _check_alive(self, waiting_for: str) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise ProcessError(
                f"{self.name} exited with status {self.popen.returncode} while waiting for "
                f"{waiting_for}\n{self.tail()}"
            )

    def wait_for_port(self, port: int, host: str = LOOPBACK, timeout: float = 15.0) -> None:
        """Wait until host:port accepts TCP connections (fail fast if the process exits)."""
        deadline = time.monotonic() + timeout
        what = f"{host}:{port} to accept connections"
        while True:
            self._check_alive(what)
            if port_accepts(port, host):
                return
            if time.monotonic() > deadline:
                raise ProcessError(f"{self.name}: timed out after {timeout}s waiting for {what}\n{self.tail()}")
            time.sleep(POLL_INTERVAL)

    def output(self) -> str:
        parts = []
        for p in (self.stdout_path, self.stderr_path):
            try:
                parts.append(p.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    def wait_for_log(self, pattern: str, timeout: float = 15.0) -> re.Match:
        """Wait until `pattern` (a regex) appears in stdout or stderr."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        what = f"log line matching {pattern!r}"
        while True:
            m = rx.search(self.output())
            if m:
                return m
            self._check_alive(what)
            if time.monotonic() > deadline:
                raise ProcessError(f"{self.name}: timed out after {timeout}s waiting for {what}\n{self.tail()}")
            time.sleep(POLL_INTERVAL)

    # -- diagnostics -----------------------------------------------------------------------

    def tail(self, lines: int = 60) -> str:
        out = [f"--- {self.name}: {' '.join(self.argv)} (pid {self.pid}, status {self.returncode})"]
        for label, p in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            try:
                text = p.read_text(errors="replace").splitlines()
            except FileNotFoundError:
                text = []
            out.append(f"--- {self.name} {label} (last {min(lines, len(text))} of {len(text)} lines, {p})")
            out.extend(text[-lines:])
        return "\n".join(out)


class ProcessRegistry:
    """The processes one test started, so the harness can show their logs on failure and stop them."""

    def __init__(self) -> None:
        self.processes: list[Process] = []

    def add(self, proc: Process) -> Process:
        self.processes.append(proc)
        return proc

    def __iter__(self) -> Iterable[Process]:
        return iter(list(self.processes))

    def stop_all(self) -> None:
        # Reverse start order: clients of the router first, the router last.
        for proc in reversed(self.processes):
            proc.stop()
