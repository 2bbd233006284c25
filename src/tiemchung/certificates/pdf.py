"""The printable certificate: A4, Vietnamese and English, the signed QR code, an embedded font.

The font is DejaVu Sans (``fonts/``, Bitstream Vera licence), shipped with the package and
embedded (subset) in every PDF, so every Vietnamese letter prints the same everywhere and
nothing is downloaded at run time; the subset is the same in every file and built once per
process (:mod:`tiemchung.certificates.fontcache`). The QR code is made by zxing-cpp's compiled
encoder with error correction level Q (25% of the symbol can be lost) and drawn as one
1-bit image, one pixel per module, scaled without interpolation: sharp at any print
resolution.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Executor
from functools import cache
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import numpy as np
import zxingcpp
from PIL import Image
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from tiemchung.certificates.fontcache import CachedTTFont
from tiemchung.certificates.service import ISSUER, Issued, mask_id
from tiemchung.localtime import DEFAULT_ZONE, to_local, zone_label

log = logging.getLogger(__name__)
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
#: Error correction Q: the level the EU DCC specification recommends for printed codes.
QR_EC_LEVEL = "Q"


def font_path(bold: bool = False) -> Path:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(str(resources.files("tiemchung.certificates") / "fonts" / name))


@cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(CachedTTFont(FONT, str(font_path())))
    pdfmetrics.registerFont(CachedTTFont(FONT_BOLD, str(font_path(bold=True))))
    for name in (FONT, FONT_BOLD):
        if not isinstance(pdfmetrics.getFont(name), CachedTTFont):
            # reportlab keeps the first font registered for a face: the page still prints
            # right, but each file builds its own subset again.
            log.warning("font %s was registered elsewhere first: no cached subset", name)
    # Streams as binary Flate only: ASCII85 on top (reportlab's default, for 7-bit channels)
    # costs pure-Python time and a quarter more bytes. This process uses reportlab only here.
    rl_config.useA85 = 0


def _qr(text: str) -> zxingcpp.Barcode:
    """The QR symbol of ``text`` at error correction Q (zxing-cpp picks the smallest version
    and the best mask, in C++: ~2.5 ms against ~5-10 ms for the pure-Python encoder)."""
    return zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=QR_EC_LEVEL)


def qr_modules(text: str) -> np.ndarray:
    """The QR modules of ``text`` (error correction Q, no quiet zone): ``True`` = dark."""
    return np.asarray(_qr(text).to_image(scale=1, add_quiet_zones=False)) == 0


def qr_png(text: str, scale: int = 6) -> bytes:
    """A PNG of the QR code (error correction Q, 4-module quiet zone)."""
    img = Image.fromarray(np.asarray(_qr(text).to_image(scale=scale, add_quiet_zones=True)))
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_inline_image(modules: np.ndarray) -> str:
    """PDF operators painting ``modules`` (``True`` = dark) as an inline 1-bit grey image
    over the unit square, first row at the top (PDF 32000-1 §8.9.7), one sample per module,
    ASCII-hex encoded, a row per line. ~2.3 KB before the page's own compression; building
    it costs microseconds, where an 8-bit image XObject cost ~1.5 ms of zlib per page."""
    n_rows, n_cols = modules.shape
    light = np.packbits(~modules, axis=1)  # 1 = white in DeviceGray
    rows = "\n".join(row.tobytes().hex() for row in light)
    return f"BI /W {n_cols} /H {n_rows} /BPC 1 /CS /G /F /AHx ID\n{rows}>\nEI"


def _draw_qr(c: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code as one image, one pixel per module, scaled without interpolation (the
    PDF default): an exact symbol at any print resolution."""
    c.saveState()
    c.translate(x, y)
    c.scale(size, size)
    c.addLiteral(qr_inline_image(qr_modules(text)))
    c.restoreState()


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


#: The footer, for the holder and for whoever checks the paper (a border officer, an
#: employer): what the QR code is, who signed it, and how to check it, in both languages.
FOOTER = (
    "Mã QR là Chứng nhận COVID số theo chuẩn của Liên minh châu Âu (EU DCC), có chữ ký số của "
    "Bộ Y tế Việt Nam.",
    "Quét mã bằng ứng dụng kiểm tra chứng nhận COVID số để xác minh; thông tin hiện ra phải "
    "khớp với giấy này.",
    "The QR code is an EU Digital COVID Certificate (EU DCC), digitally signed by the Ministry "
    "of Health of Viet Nam.",
    "Scan it with any EU DCC verifier app to check it; the details it shows must match this page.",
)


def _page(c: Canvas, cert: Issued, tz: str) -> None:
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
    # People read the name as written, with its diacritics. The ICAO 9303 transliteration the
    # QR code also carries ("MAC NGOC<UYEN") is for machines and for a checker whose app shows
    # it: small, grey and labelled as such, never in the name's place.
    _label(c, left, y, "Họ và tên", "Full name", cert.full_name)
    if mrz:
        c.setFont(FONT, 7)
        c.setFillColorRGB(0.35, 0.35, 0.35)
        icao = f"Dạng máy đọc / machine-readable (ICAO 9303): {mrz}"
        c.drawString(left, y - 10, _fit(icao, FONT, 7, width / 2 - left + 5 * mm))
        c.setFillColorRGB(0, 0, 0)
    _label(c, width / 2 + 10 * mm, y, "Ngày sinh", "Date of birth", _dob(cert.dob))
    y -= 17 * mm
    _label(c, left, y, "Số định danh", "ID number", mask_id(cert.national_id))
    _label(
        c,
        width / 2 + 10 * mm,
        y,
        "Hiệu lực đến",
        "Valid until",
        to_local(cert.expires_at, tz).strftime("%d/%m/%Y"),
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
    issued = to_local(cert.issued_at, tz)
    c.drawString(
        left, foot + 11, f"Cấp lúc / Issued: {issued:%H:%M %d/%m/%Y}, {zone_label(tz, issued)}"
    )
    for i, line in enumerate(FOOTER):
        c.drawString(left, foot - 11 * i, line)


def render(certs: Iterable[Issued], out: str | Path | BinaryIO, tz: str = DEFAULT_ZONE) -> int:
    """Write one PDF with a page per certificate; returns the number of pages. Times print
    in the zone ``tz`` (the platform's ``Settings.timezone``), named on the page."""
    _register_fonts()
    target = str(out) if isinstance(out, Path) else out
    c = Canvas(target, pagesize=A4, pageCompression=1)
    c.setTitle("Giấy chứng nhận tiêm chủng COVID-19 / COVID-19 vaccination certificate")
    c.setAuthor(ISSUER)
    pages = 0
    for cert in certs:
        _page(c, cert, tz)
        c.showPage()
        pages += 1
    c.save()
    return pages


def render_bytes(cert: Issued, tz: str = DEFAULT_ZONE) -> bytes:
    buf = BytesIO()
    render([cert], buf, tz)
    return buf.getvalue()


def _render_file(job: tuple[Issued, Path, str]) -> Path:
    cert, path, tz = job
    render([cert], path, tz)
    return path


def render_files(
    certs: Iterable[Issued], folder: Path, pool: Executor | None = None, tz: str = DEFAULT_ZONE
) -> list[Path]:
    """One PDF per certificate, ``<person_id>.pdf`` in ``folder``.

    Rendering is CPU-bound Python (QR matrix, font subsetting), so batches for a ward or a
    province go through a process pool when one is given: one process per core.
    """
    jobs = [(cert, folder / f"{cert.person_id}.pdf", tz) for cert in certs]
    if pool is None:
        return [_render_file(job) for job in jobs]
    return list(pool.map(_render_file, jobs, chunksize=8))
