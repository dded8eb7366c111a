"""Running one terraform (or git) command: an argument list, never a shell, its output streamed and capped.

Cancelling the coroutine that waits for the command sends the process SIGINT (terraform then stops what it does,
writes its state and releases the state lock), waits for it to exit, and only then re-raises the cancellation.
The process is started under ``setpriv --pdeathsig KILL``: if the worker itself dies, terraform dies with it, as
it would with its container, and the lock it held stays for an operator to see.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

#: how long a SIGINTed terraform may take to stop cleanly before it is killed
INTERRUPT_GRACE_S = 300.0


class CappedLog:
    """The end of a stream: at most ``cap`` bytes are kept, with a note of how much was dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        self.parts.append(line)
        self.size += len(line)
        while self.size > self.cap and len(self.parts) > 1:
            gone = self.parts.pop(0)
            self.size -= len(gone)
            self.dropped += len(gone)
        if self.size > self.cap:  # one huge line
            cut = self.size - self.cap
            self.parts[0] = self.parts[0][cut:]
            self.size -= cut
            self.dropped += cut

    def text(self) -> str:
        body = "".join(self.parts)
        return f"[{self.dropped} earlier characters dropped]\n{body}" if self.dropped else body


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str
    interrupted: bool = False
    lines: int = field(default=0)


def redactor(secrets: list[str]) -> Callable[[str], str]:
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, "****")
        return text

    return redact


def _prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


async def run(
    argv: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    cap: int,
    redact: Callable[[str], str],
    on_line: Callable[[str, str], None] | None = None,
    stdin: bytes | None = None,
) -> Completed:
    """Run ``argv`` in ``cwd`` with exactly ``env``; ``on_line(stream, line)`` sees each redacted line as it comes."""
    proc = await asyncio.create_subprocess_exec(
        *_prefix(),
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C meant for the worker does not reach terraform; we forward it ourselves
    )
    logs = {"stdout": CappedLog(cap), "stderr": CappedLog(cap)}
    count = [0]

    async def pump(name: str, reader: asyncio.StreamReader | None) -> None:
        if reader is None:
            return
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = redact(raw.decode("utf-8", "replace"))
            logs[name].add(line)
            count[0] += 1
            if on_line is not None:
                on_line(name, line.rstrip("\n"))

    async def finish() -> int:
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await proc.stdin.drain()
            proc.stdin.close()
        await asyncio.gather(pump("stdout", proc.stdout), pump("stderr", proc.stderr))
        return await proc.wait()

    work = asyncio.ensure_future(finish())
    try:
        code = await asyncio.shield(work)
    except asyncio.CancelledError:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(asyncio.shield(work), INTERRUPT_GRACE_S)
            except (TimeoutError, asyncio.CancelledError):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(BaseException):
                    await work
        raise
    return Completed(code, logs["stdout"].text(), logs["stderr"].text(), lines=count[0])
