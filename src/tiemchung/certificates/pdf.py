"""The printable certificate: A4, Vietnamese and English, the signed QR code, an embedded font.

The font is DejaVu Sans (``fonts/``, Bitstream Vera licence), shipped with the package and
embedded (subset) in every PDF, so every Vietnamese letter prints the same everywhere and
nothing is downloaded at run time. The QR code is made by :mod:`qrcode` with error correction
level Q (25% of the symbol can be lost) and drawn as vector squares, so it stays sharp at any
print resolution.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from functools import cache
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import qrcode
import qrcode.constants
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tiemchung.certificates.service import ISSUER, Issued, mask_id

FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
#: A fixed mask pattern: any of the eight is valid for every reader (the format information
#: names it), and scoring all eight in pure Python costs ~25 ms, five times the rest of a page.
QR_MASK = 2


def font_path(bold: bool = False) -> Path:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(str(resources.files("tiemchung.certificates") / "fonts" / name))


@cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(FONT, str(font_path())))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(font_path(bold=True))))


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR modules of ``text`` (error correction Q, no quiet zone)."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_Q, border=0, mask_pattern=QR_MASK
    )
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_png(text: str, scale: int = 6) -> bytes:
    """A PNG of the QR code (error correction Q, 4-module quiet zone)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=scale, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    buf = BytesIO()
    qr.make_image().save(buf)
    return buf.getvalue()


def _draw_qr(c: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code as a 1-bit image, one pixel per module, scaled without interpolation: an
    exact vector-sharp symbol at any print resolution, and a few hundred bytes in the PDF."""
    matrix = qr_matrix(text)
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if cell else 1 for row in matrix for cell in row])
    c.drawImage(ImageReader(img), x, y, size, size)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` points."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _dob(dob: str | None) -> str:
    if not dob:
        return "—"
    parts = dob.split("-")
    return "/".join(reversed(parts))


def _label(c: Canvas, x: float, y: float, vi: str, en: str, value: str) -> None:
    c.setFont(FONT, 8.5)
    c.setFillColorRGB(0.35, 0.35, 0.35)
    c.drawString(x, y + 14, f"{vi} / {en}")
    c.setFillColorRGB(0, 0, 0)
    c.setFont(FONT_BOLD, 12.5)
    c.drawString(x, y, value)


def _page(c: Canvas, cert: Issued) -> None:
    width, height = A4
    left, right = 20 * mm, width - 20 * mm
    top = height - 22 * mm
    c.setFillColorRGB(0.65, 0.09, 0.11)
    c.rect(0, height - 12 * mm, width, 12 * mm, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setFont(FONT_BOLD, 10)
    c.drawString(
        left, height - 8 * mm, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM — SOCIALIST REPUBLIC OF VIET NAM"
    )
    c.setFillColorRGB(0, 0, 0)
    c.setFont(FONT_BOLD, 17)
    c.drawCentredString(width / 2, top - 8 * mm, "GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19")
    c.setFont(FONT, 12)
    c.drawCentredString(width / 2, top - 15 * mm, "COVID-19 VACCINATION CERTIFICATE (EU DCC)")
    c.setFont(FONT, 9.5)
    c.drawCentredString(width / 2, top - 21 * mm, ISSUER)

    qr_size = 78 * mm
    qr_y = top - 28 * mm - qr_size
    _draw_qr(c, cert.hc1, (width - qr_size) / 2, qr_y, qr_size)
    c.setFont(FONT, 7.5)
    c.drawCentredString(width / 2, qr_y - 5 * mm, cert.uvci)

    y = qr_y - 17 * mm
    nam = cert.dcc.get("nam", {})
    mrz = " ".join(p for p in (nam.get("fnt"), nam.get("gnt")) if p)
    _label(c, left, y, "Họ và tên", "Full name", cert.full_name)
    c.setFont(FONT, 8.5)
    c.drawString(left, y - 11, mrz)
    _label(c, width / 2 + 10 * mm, y, "Ngày sinh", "Date of birth", _dob(cert.dob))
    y -= 17 * mm
    _label(c, left, y, "Số định danh", "ID number", mask_id(cert.national_id))
    _label(
        c,
        width / 2 + 10 * mm,
        y,
        "Hiệu lực đến",
        "Valid until",
        cert.expires_at.strftime("%d/%m/%Y"),
    )

    y -= 14 * mm
    c.setFont(FONT_BOLD, 11)
    c.drawString(left, y, "Các mũi đã tiêm / Doses received")
    y -= 3 * mm
    c.setLineWidth(0.6)
    c.line(left, y, right, y)
    cols = (left, left + 20 * mm, left + 74 * mm, left + 100 * mm)
    y -= 5 * mm
    c.setFont(FONT, 8.5)
    c.setFillColorRGB(0.35, 0.35, 0.35)
    for x, head in zip(
        cols,
        ("Mũi / Dose", "Vắc xin / Vaccine", "Ngày / Date", "Nơi tiêm / Site"),
        strict=True,
    ):
        c.drawString(x, y, head)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(FONT, 10)
    for d in cert.doses[:10]:
        y -= 6.5 * mm
        c.drawString(cols[0], y, str(d.dose_number))
        c.drawString(cols[1], y, _fit(d.product_name, FONT, 10, cols[2] - cols[1] - 3 * mm))
        c.drawString(cols[2], y, d.dose_date.strftime("%d/%m/%Y"))
        c.drawString(cols[3], y, _fit(d.site_name, FONT, 10, right - cols[3]))
    y -= 4 * mm
    c.line(left, y, right, y)

    c.setFont(FONT, 8)
    c.setFillColorRGB(0.3, 0.3, 0.3)
    foot = 24 * mm
    c.drawString(
        left,
        foot,
        f"Cấp ngày / Issued: {cert.issued_at:%d/%m/%Y %H:%M} UTC   ·   kid {cert.kid}",
    )
    c.drawString(
        left,
        foot - 11,
        "Mã QR theo chuẩn Chứng nhận COVID số của EU; kiểm tra bằng ứng dụng xác minh EU DCC "
        "hoặc `tiemchung verify`.",
    )
    c.drawString(
        left,
        foot - 22,
        "The QR code is an EU Digital COVID Certificate; verify it with any EU DCC verifier "
        "(trust list: /api/v1/trust-list).",
    )


def render(certs: Iterable[Issued], out: str | Path | BinaryIO) -> int:
    """Write one PDF with a page per certificate; returns the number of pages."""
    _register_fonts()
    target = str(out) if isinstance(out, Path) else out
    c = Canvas(target, pagesize=A4, pageCompression=1)
    c.setTitle("Giấy chứng nhận tiêm chủng COVID-19 / COVID-19 vaccination certificate")
    c.setAuthor(ISSUER)
    pages = 0
    for cert in certs:
        _page(c, cert)
        c.showPage()
        pages += 1
    c.save()
    return pages


def render_bytes(cert: Issued) -> bytes:
    buf = BytesIO()
    render([cert], buf)
    return buf.getvalue()


def _render_file(job: tuple[Issued, Path]) -> Path:
    cert, path = job
    render([cert], path)
    return path


def render_files(certs: Iterable[Issued], folder: Path, pool: Executor | None = None) -> list[Path]:
    """One PDF per certificate, ``<person_id>.pdf`` in ``folder``.

    Rendering is CPU-bound Python (QR matrix, font subsetting), so batches for a ward or a
    province go through a process pool when one is given: one process per core.
    """
    jobs = [(cert, folder / f"{cert.person_id}.pdf") for cert in certs]
    if pool is None:
        return [_render_file(job) for job in jobs]
    return list(pool.map(_render_file, jobs, chunksize=8))
