"""Where a run's inputs and outputs are: a local path or a ``file://`` URI (a folder every
Spark node mounts), turned into the path both engines read; any other URI refused with the
reason, before any work starts.

Its own module so that the CLI, the bench and the tests resolve a location the same way.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import ReconcileInputError

#: URI schemes Spark reads that this version does not (yet) read directly: the inputs, the
#: outputs and the work tables must be on a file system every node mounts (file://)
REMOTE_SCHEMES = ("hdfs", "s3a", "s3", "abfss", "gs", "wasbs", "dbfs")


def local_path(value: str | Path, option: str, engine: str = "duckdb") -> Path:
    """The path ``value`` names for ``option`` (``--records``...): a path as is, a
    ``file:///abs/path`` URI as its path (``file://localhost/...`` too); a remote URI or a
    ``file://`` URI naming another host is refused with what to do instead."""
    if isinstance(value, Path):
        return value
    parts = urlsplit(value)
    if len(parts.scheme) <= 1:  # a plain path (or a Windows drive letter)
        return Path(value)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ReconcileInputError(
                f"{option} {value}: URI file:// trỏ tới máy khác ({parts.netloc}) / names "
                "another host; write file:///absolute/path (three slashes)"
            )
        return Path(unquote(parts.path))
    if engine == "duckdb":
        raise ReconcileInputError(
            f"{option} {value}: máy DuckDB chỉ đọc tệp cục bộ / the DuckDB engine reads local "
            "files only (a path or file:///...); use --engine spark for shared storage, or "
            "copy the file here"
        )
    raise ReconcileInputError(
        f"{option} {value}: phiên bản này chưa đọc/ghi trực tiếp {parts.scheme}:// / this "
        f"version does not read or write {parts.scheme}:// directly yet; put the inputs and "
        "--out on a file system every Spark node mounts and give it as file:///path"
    )
