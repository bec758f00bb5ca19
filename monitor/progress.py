"""Progress: a rich progress bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


def _count_files(paths) -> int:
    from monitor.ingest import expand_paths

    files, _ = expand_paths(paths)
    return len(files)


@contextmanager
def file_progress(paths, enabled: bool = True):
    """Yields a callback to call once per file done."""
    total = _count_files(paths)
    if enabled and sys.stderr.isatty() and total > 1:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("ingesting", total=total)

            def tick(path: Path) -> None:
                progress.update(task, advance=1, description=f"ingesting {Path(path).name}")

            yield tick
        return
    done = [0]

    def tick_log(path: Path) -> None:
        done[0] += 1
        log.info("ingest progress %d/%d files (%s)", done[0], total, path)

    yield tick_log
