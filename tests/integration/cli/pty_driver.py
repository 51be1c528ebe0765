"""Driving a command through a pseudo-terminal, as a person at a keyboard would.

The program sees a real terminal (isatty, termios, a window size); the test reads what it prints (ANSI
codes stripped) and types keys, arrow keys included. Everything is awaited, so servers the program talks
to can run in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import struct
import termios
from collections.abc import Mapping, Sequence

UP, DOWN, ENTER, SPACE, CTRL_C = "\x1b[A", "\x1b[B", "\r", " ", "\x03"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class PtyProgram:
    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self.proc = proc
        self.master = master
        self.raw = ""
        self.position = 0
        self.closed = False
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(master, self._readable)

    @classmethod
    async def start(
        cls, argv: Sequence[str], env: Mapping[str, str], columns: int = 120, rows: int = 40
    ) -> PtyProgram:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=slave, stdout=slave, stderr=slave, env=dict(env), start_new_session=True
        )
        os.close(slave)
        os.set_blocking(master, False)
        return cls(proc, master)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            asyncio.get_running_loop().remove_reader(self.master)
        self.raw += data.decode("utf-8", errors="replace")
        self._changed.set()

    @property
    def text(self) -> str:
        """Everything printed so far, without colours and cursor movements."""
        return _ANSI.sub("", self.raw)

    async def expect(self, wanted: str, timeout: float = 20.0) -> str:
        """Wait until `wanted` is printed after the previous match; returns the text up to it."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    found = self.text.find(wanted, self.position)
                    if found >= 0:
                        before = self.text[self.position : found]
                        self.position = found + len(wanted)
                        return before
                    if self.closed:
                        raise AssertionError(f"the program ended before printing {wanted!r}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            tail = self.text[self.position :][-3000:]
            raise AssertionError(f"{wanted!r} was not printed; since the last match:\n{tail}") from None

    def type(self, *keys: str) -> None:
        for key in keys:
            os.write(self.master, key.encode())

    async def answer(self, prompt: str, *keys: str) -> str:
        before = await self.expect(prompt)
        self.type(*keys)
        return before

    async def finish(self, timeout: float = 30.0) -> int:
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
            while not self.closed:
                self._changed.clear()
                await self._changed.wait()
        return code

    def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        if not self.closed:
            asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
