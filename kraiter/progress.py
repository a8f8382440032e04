"""Progress of the long management commands, drawn by tqdm on stderr: rows done, rate and ETA.

Nothing is drawn for zero work, the total is fixed when the bar first appears (known up front,
or left open), the output is the stream's own (not Django's red error style), and the final line
is printed once, by `close()`.
"""

import codecs
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm


class ProgressBar:
    def __init__(self, label: str, *, stream: Any = None, unit: str = "rows") -> None:
        self.label = label
        # Django's command stderr styles everything it writes as an error (bold red): write to
        # the stream underneath it.
        self.stream = getattr(stream, "_out", stream) or sys.stderr
        self.unit = unit
        self._bar: tqdm[Any] | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        """`done` rows so far, of `total` (None: not known in advance). The first call's total stays."""
        if self._bar is None:
            if total == 0 or (total is None and done == 0):
                return
            self._bar = tqdm(
                total=total, desc=self.label, unit=f" {self.unit}", file=self.stream, mininterval=0.2, leave=True
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def count_lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts), read in 1 MB blocks."""
    count = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def file_encoding_problem(path: Path) -> str | None:
    """Why a file cannot be read as UTF-8 text, said so a person can fix it, or None."""
    with open(path, "rb") as handle:
        start = handle.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return (
            "the file is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8', or convert it: "
            f"iconv -f UTF-16 -t UTF-8 {path} > {path.stem}-utf8{path.suffix}"
        )
    return None


def text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text (UTF-8, a byte-order mark skipped), newlines kept."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield from handle
