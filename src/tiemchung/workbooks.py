"""Opening an uploaded XLSX workbook safely: the one place the platform calls openpyxl's
``load_workbook``.

An XLSX is a zip of XML files, and the platform opens workbooks that strangers upload
(backlog files, organisations' lists, worklist returns, tallies). Two attacks follow from
that, and both are refused here, before a single cell is read:

- **XML entity expansion and external entities** ("billion laughs", XXE): openpyxl parses
  through ``defusedxml`` when that package is importable — it is a dependency of the
  platform, and :func:`open_workbook` refuses to open anything if it is missing or turned
  off (``OPENPYXL_DEFUSEDXML=False``), rather than parse unprotected; a forbidden DTD or
  entity is a :class:`WorkbookError` naming it.
- **A zip bomb**: a few kilobytes that expand to gigabytes. The members' declared sizes are
  summed before parsing (``max_expanded_mb``, default 1 GiB: a million-row sheet is about a
  quarter of that), and the ratio of expanded to compressed size is capped.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

#: the whole workbook's XML, expanded: past this it is refused (a legitimate 1M-row backlog
#: sheet expands to about 250 MB)
MAX_EXPANDED_MB = 1024
#: expanded / compressed: sheet XML compresses 10–30×; 200× is a bomb
MAX_RATIO = 200


class WorkbookError(ValueError):
    """A workbook that is not opened; ``code`` is the rule (``unsafe_xml``, ``too_large``,
    ``invalid_xlsx``), ``str()`` bilingual as the platform's other file errors."""

    def __init__(self, code: str, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.code, self.message_vi, self.message_en = code, vi, en


def _require_defusedxml() -> None:
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise WorkbookError(
            "unsafe_xml",
            "Máy chủ thiếu defusedxml (hoặc OPENPYXL_DEFUSEDXML=False): không mở bảng tính",
            "defusedxml is missing or turned off (OPENPYXL_DEFUSEDXML=False): no workbook is "
            "opened without it",
        )


def _xml(info: zipfile.ZipInfo) -> bool:
    return info.filename.endswith((".xml", ".rels", ".vml"))


def _has_dtd(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a member's prologue declares a DTD (entities live there). Read up front
    because openpyxl parses a sheet only when its rows are iterated, far from the upload's
    answer; ``defusedxml`` still guards that parse too."""
    with z.open(info) as fh:
        head = fh.read(4096)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head.decode("utf-16", "ignore").encode("ascii", "ignore")
    return b"<!doctype" in head.lower() or b"<!entity" in head.lower()


def check_expansion(source: Path | bytes, max_expanded_mb: int = MAX_EXPANDED_MB) -> None:
    """Refuse a workbook whose members declare a DTD, or expand past the limit or the ratio
    (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            infos = z.infolist()
            dtd = next((i.filename for i in infos if _xml(i) and _has_dtd(z, i)), None)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(
            "invalid_xlsx",
            f"Tệp không phải bảng tính .xlsx đọc được ({exc})",
            f"not a readable .xlsx workbook ({exc})",
        ) from None
    if dtd is not None:
        raise WorkbookError(
            "unsafe_xml",
            f"Bảng tính chứa XML bị cấm (DTD trong {dtd})",
            f"the workbook holds forbidden XML (a DTD in {dtd})",
        )
    expanded = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if expanded > max_expanded_mb * 2**20:
        mb = expanded // 2**20
        raise WorkbookError(
            "too_large",
            f"Bảng tính giải nén ra {mb} MB, vượt giới hạn {max_expanded_mb} MB",
            f"the workbook expands to {mb} MB, over the {max_expanded_mb} MB limit",
        )
    if expanded > 10 * 2**20 and expanded / packed > MAX_RATIO:
        raise WorkbookError(
            "too_large",
            f"Bảng tính nén bất thường ({expanded // packed}× khi giải nén): bị từ chối",
            f"the workbook expands {expanded // packed}× its size: refused as a zip bomb",
        )


def open_workbook(
    source: Path | bytes,
    *,
    data_only: bool = True,
    max_expanded_mb: int = MAX_EXPANDED_MB,
) -> Any:
    """An openpyxl workbook in read-only mode, or :class:`WorkbookError`. The caller closes
    it (``book.close()``); rows are parsed lazily and still through ``defusedxml``."""
    _require_defusedxml()
    check_expansion(source, max_expanded_mb)
    import openpyxl
    from defusedxml import DefusedXmlException

    try:
        return openpyxl.load_workbook(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            read_only=True,
            data_only=data_only,
        )
    except DefusedXmlException as exc:
        raise WorkbookError(
            "unsafe_xml",
            f"Bảng tính chứa XML bị cấm (DTD hoặc thực thể: {type(exc).__name__})",
            f"the workbook holds forbidden XML (a DTD or entity: {type(exc).__name__})",
        ) from None
    except Exception as exc:  # openpyxl raises many types (zip, XML, key) for a bad file
        raise WorkbookError(
            "invalid_xlsx",
            f"Tệp không phải bảng tính .xlsx đọc được ({type(exc).__name__})",
            f"not a readable .xlsx workbook ({type(exc).__name__})",
        ) from None
