"""Running packer: one process group per bake, its output streamed to the bake's log as it comes.

Packer starts in a session (and process group) of its own, so stopping a bake reaches everything it
started (its plugin processes, shell-local scripts): SIGTERM first, which lets packer delete its
temporary instance, key pair and security group, then SIGKILL after a grace period. The process is
always waited for, so no zombie is left. A pid file (pid and work dir) lets the next attempt of the
same bake stop a packer that outlived its worker.

:func:`run_packer` knows nothing of Temporal: ``tick(log_offset)`` is called about every second
(the activity heartbeats there) and answers whether to stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .machine_readable import Transcript

CANCELED, TIMED_OUT = "canceled", "timed out"


@dataclass
class PackerOutcome:
    exit_code: int | None
    #: why the bakery stopped packer (``canceled``, ``timed out``), None if it ended by itself
    stopped: str | None
    transcript: Transcript
    log_offset: int
    pid: int
    log_lines: list[str] = field(default_factory=list)


class _Log:
    """The bake's log file, appended by the reader thread; its size is the heartbeat's offset."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self.offset = self._file.seek(0, 2)
        self._max = max_bytes
        self._lock = threading.Lock()
        self._full = False
        self.last: list[str] = []

    def write(self, text: str) -> None:
        data = (text + "\n").encode("utf-8", errors="replace")
        with self._lock:
            self.last = [*self.last[-39:], text]
            if self._full:
                return
            if self.offset + len(data) > self._max:
                data, self._full = b"[bake log truncated: it reached the bakery's max_log_bytes]\n", True
            self._file.write(data)
            self._file.flush()
            self.offset += len(data)

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def reap_stale(pidfile: Path, grace_s: float) -> bool:
    """Stop a packer an earlier attempt of this bake left running (its worker died); True if one was."""
    try:
        pid_text, marker = pidfile.read_text().split("\n", 1)
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    if not _alive(pid) or cwd != marker.strip():
        pidfile.unlink(missing_ok=True)
        return False  # gone, or the pid now belongs to someone else
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True


def run_packer(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log_file: Path,
    *,
    timeout_s: float,
    kill_grace_s: float,
    tick: Callable[[int], bool],
    pidfile: Path | None = None,
    max_log_bytes: int = 32 * 1024 * 1024,
    tick_interval_s: float = 0.5,
    first_lines: list[str] | None = None,
) -> PackerOutcome:
    """Run packer to its end, or until ``tick`` says stop or ``timeout_s`` passes."""
    log = _Log(log_file, max_log_bytes)
    for line in first_lines or []:
        log.write(line)
    transcript = Transcript()
    proc = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if pidfile is not None:
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        pidfile.write_text(f"{proc.pid}\n{cwd}")

    def pump() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            text = transcript.feed(raw.decode("utf-8", errors="replace"))
            if text is not None:
                for line in text.split("\n"):
                    log.write(line)

    reader = threading.Thread(target=pump, name=f"packer-{proc.pid}", daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    stopped: str | None = None
    try:
        while True:
            try:
                proc.wait(timeout=tick_interval_s)
                break
            except subprocess.TimeoutExpired:
                pass
            if tick(log.offset):
                stopped = CANCELED
            elif time.monotonic() > deadline:
                stopped = TIMED_OUT
            if stopped:
                log.write(f"==> gennaker: bake {stopped}; stopping packer (SIGTERM, then SIGKILL)")
                _stop(proc, kill_grace_s, lambda: tick(log.offset), tick_interval_s)
                break
    finally:
        if proc.poll() is None:  # an error in this thread: never leave packer behind
            _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers packer left in its group
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()
        if pidfile is not None:
            pidfile.unlink(missing_ok=True)
    return PackerOutcome(proc.returncode, stopped, transcript, log.offset, proc.pid, list(log.last))


def _stop(proc: subprocess.Popen[bytes], grace_s: float, keep_alive: Callable[[], object], step: float) -> None:
    _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            proc.wait(timeout=step)
            return
        except subprocess.TimeoutExpired:
            keep_alive()  # still heartbeating: packer is cleaning up
    _signal_group(proc.pid, signal.SIGKILL)
