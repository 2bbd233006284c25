"""What every command module shares: the console (stderr, so stdout stays for data such as an
``HC1:`` text or JSON) and how a command fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` marked as an error and end the command with exit ``code``
    (2: the input was wrong; 1: the work could not be done)."""
    console.print(f"[red]✗[/red] {message}")
    raise typer.Exit(code)


class ProgressOnDemand:
    """A progress bar that appears with the first report ``(done, total)``: a command whose
    service may find nothing to do fails with its message alone, no empty bar above it.

    >>> with ProgressOnDemand("certificates") as report:
    ...     pass  # nothing reported: nothing shown
    """

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Callable[[int, int], None]:
        return self.report

    def report(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,}"),
                TimeRemainingColumn(),
                console=console,
            )
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=total)
        assert self._task is not None
        self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
