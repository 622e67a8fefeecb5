"""A progress bar on a terminal, nothing in a pipe or a log file.

Progress is measured in bytes of the claim file when its size is known (an honest
ETA without counting rows first), in claims otherwise. Updated once per chunk, so
it costs nothing per row.
"""

from __future__ import annotations

import sys
from typing import Never

from tqdm import tqdm


class Progress:
    def __init__(self, total_bytes: int | None, *, enabled: bool | None = None) -> None:
        show = sys.stderr.isatty() if enabled is None else enabled
        self._by_bytes = total_bytes is not None
        self.rows = 0
        self._bar: tqdm[Never] | None = None
        if show:
            self._bar = tqdm(
                total=total_bytes,
                unit="B" if self._by_bytes else " claims",
                unit_scale=True,
                unit_divisor=1024 if self._by_bytes else 1000,
                desc="retro",
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.25,
            )

    def advance(self, nbytes: int, rows: int = 0) -> None:
        self.rows += rows
        if self._bar is None:
            return
        self._bar.update(nbytes if self._by_bytes else rows)
        if self._by_bytes and rows:
            self._bar.set_postfix_str(f"{self.rows:,} claims", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
