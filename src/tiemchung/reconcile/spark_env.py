"""The running Python environment packed for Spark's executors (``--archives``).

The Spark engine's functions run in the executors' Python (DuckDB on Arrow batches, see
engines/spark_engine.py), so every executor needs tiemchung, duckdb and pyarrow. venv-pack
and conda-pack are the maintained tools, but neither is a dependency here and venv-pack does
not follow an editable install (a ``.pth`` pointing at a source checkout) — so this is a plain
tar of the virtual environment, with an editable tiemchung copied in as a package. Like
venv-pack's archives it keeps ``bin/python`` a link to the base interpreter: the executors
need the same Python version at that path (a node image with it, or a conda-pack'ed
interpreter); the command prints which.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

from .errors import SparkSetupError

#: files an executor never needs: byte code (rebuilt on import); and the editable-install
#: hook that points at this machine's checkout is left out (the package is copied instead)
_SKIP_SUFFIXES = (".pyc",)
_SKIP_DIRS = ("__pycache__",)


@dataclass(frozen=True)
class PackedEnv:
    archive: Path
    files: int
    interpreter: str
    python_version: str

    def spark_submit_line(self) -> str:
        """How to hand the archive to the executors (Spark unpacks it as ``./env``)."""
        return (
            f"spark-submit --archives {self.archive.name}#env "
            "--conf spark.pyspark.python=./env/bin/python ..."
            " (or: tiemchung reconcile --engine spark --spark-conf "
            f"spark.archives={self.archive.name}#env --spark-conf "
            "spark.pyspark.python=./env/bin/python ...)"
        )


def _points_at(pth: Path, sources: Path) -> bool:
    """Whether ``pth`` is the editable-install hook that adds ``sources`` to the path."""
    try:
        return str(sources) in pth.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def pack_environment(out: Path, prefix: Path | None = None, site: Path | None = None) -> PackedEnv:
    """Write a virtual environment (default: the running one) to ``out`` (``.tar.gz``),
    paths relative to the environment's root; refused outside a virtual environment (the
    system Python's packages are the node's business)."""
    if prefix is None:
        prefix = Path(sys.prefix)
        if prefix == Path(sys.base_prefix):
            prefix = None
    if prefix is None or not (prefix / "pyvenv.cfg").exists():
        raise SparkSetupError(
            "spark-env: không chạy trong môi trường ảo / not running in a virtual environment; "
            "run it with the virtual environment's tiemchung (.venv/bin/tiemchung)"
        )
    if not str(out).endswith((".tar.gz", ".tgz")):
        raise SparkSetupError(
            f"spark-env {out}: tên tệp phải kết thúc bằng .tar.gz / the archive's name must end "
            "in .tar.gz (Spark unpacks --archives by their suffix)"
        )
    if site is None:
        site = Path(sysconfig.get_paths(vars={"base": str(prefix)})["purelib"])
    import tiemchung

    package = Path(tiemchung.__file__).parent
    copied = not package.is_relative_to(prefix)  # an editable install: copy the sources
    n = 0
    with tarfile.open(out, "w:gz") as tar:
        for root, dirs, files in os.walk(prefix):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
            here = Path(root)
            for name in files:
                path = here / name
                if name.endswith(_SKIP_SUFFIXES) or (
                    copied and name.endswith(".pth") and _points_at(path, package.parent)
                ):
                    continue
                tar.add(path, arcname=str(path.relative_to(prefix)), recursive=False)
                n += 1
            for d in list(dirs):  # a linked folder is kept as the link
                if (here / d).is_symlink():
                    tar.add(here / d, arcname=str((here / d).relative_to(prefix)))
                    dirs.remove(d)
        if copied:
            for root, dirs, files in os.walk(package):
                dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
                for name in files:
                    if name.endswith(_SKIP_SUFFIXES):
                        continue
                    path = Path(root) / name
                    rel = site.relative_to(prefix) / "tiemchung" / path.relative_to(package)
                    tar.add(path, arcname=str(rel), recursive=False)
                    n += 1
    python = prefix / "bin" / "python"
    target = os.path.realpath(python)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return PackedEnv(out, n, target, version)
