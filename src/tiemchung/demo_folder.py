"""The demo's folder (``make demo`` builds into ``./demo-data``): reused when whole, rebuilt
when a build stopped half-way, never wiped when it is not the demo's.

Building the demo province takes minutes; running ``make demo`` again should take seconds. A
folder is *whole* when its marker exists: the marker is written last, after every other file,
so a build killed part-way (Ctrl-C, a full disk) leaves the *building* marker without it, and
the next run starts that folder again rather than serving half a province. A folder with
neither marker was not made by this code (an older demo, or somebody's data folder passed to
``--dir`` by mistake): it is left as it is — the demo reuses a database that already has people,
as it always did — and ``--fresh`` refuses to wipe it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

WHOLE = ".demo-whole"
BUILDING = ".demo-building"
# what a demo build writes into its folder (the SQLite database, the synthetic province, the
# demo's signing keys, the texts it "sends"): only these are removed on a rebuild
DEMO_FILES = (
    "tiemchung.db",
    "tiemchung.db-wal",
    "tiemchung.db-shm",
    "synth",
    "keys",
    "sms.jsonl",
)


class NotADemoFolderError(Exception):
    """``--fresh`` on a folder this code did not make: wiping it could lose real data."""


def is_whole(directory: Path) -> bool:
    return (directory / WHOLE).is_file()


def prepare(directory: Path, *, fresh: bool = False) -> str:
    """Make ``directory`` ready for the demo. ``"reuse"``: whole, used as it is; ``"build"``:
    ready for a build (then :func:`mark_whole`); ``"foreign"``: a database without a marker,
    left alone (never marked whole, so ``--fresh`` never wipes it later either).

    A half-built folder (the building marker without the whole one), or any demo folder with
    ``fresh``, loses the demo's files and is marked as building; an empty or new folder is
    marked as building. ``fresh`` on a folder with a database but no marker raises
    :class:`NotADemoFolderError`."""
    directory.mkdir(parents=True, exist_ok=True)
    if is_whole(directory) and not fresh:
        return "reuse"
    ours = is_whole(directory) or (directory / BUILDING).exists()
    if not ours and (directory / "tiemchung.db").exists():
        if fresh:
            raise NotADemoFolderError(
                f"{directory} có cơ sở dữ liệu không do demo tạo: không xoá / "
                f"{directory} holds a database the demo did not make: not wiped by --fresh"
            )
        return "foreign"  # an older demo (or another folder): build_demo reuses what it finds
    for name in DEMO_FILES:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    (directory / WHOLE).unlink(missing_ok=True)
    (directory / BUILDING).touch()
    return "build"


def mark_whole(directory: Path) -> None:
    """Called after the last file of a build is written: the whole marker appears atomically
    (written aside, then renamed), and only then the building marker goes."""
    tmp = directory / (WHOLE + ".tmp")
    tmp.write_text("tiemchung demo: built completely\n", encoding="utf-8")
    os.replace(tmp, directory / WHOLE)
    (directory / BUILDING).unlink(missing_ok=True)
