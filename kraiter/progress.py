"""A progress bar for long management commands (plain text, one line, no dependency)."""

import sys
import time
from collections.abc import Iterator
from typing import Any


class ProgressBar:
    def __init__(self, label: str, *, stream: Any = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        filled = self.width * done // max(total, 1)
        rate = done / max(now - self.started, 1e-6)
        line = f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} ({rate:.0f}/s)"
        self.stream.write(line + ("\n" if done >= total else ""))
        self.stream.flush()


class FileProgress:
    """Reads a file as text lines while counting the bytes, so a bar can show how far it got."""

    def __init__(self, path: str, *, encoding: str = "utf-8-sig") -> None:
        import os

        self.path = path
        self.size = max(os.path.getsize(path), 1)
        self.done = 0
        self.encoding = encoding

    def lines(self) -> Iterator[str]:
        with open(self.path, "rb") as handle:
            for raw in handle:
                self.done += len(raw)
                yield raw.decode(self.encoding if self.done == len(raw) else "utf-8")
