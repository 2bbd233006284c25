"""The fast PDF paths: the compiled QR encoder, the inline 1-bit image and the font subset
built once per process. Expected values come from outside the code under test: zxing-cpp's
reader, QR's own size rule (version v is 17 + 4v modules), poppler (pdftotext, pdftoppm) and
reportlab's stock TrueType font drawing the same text."""

from __future__ import annotations

import io
import pickle
import re
import shutil
import subprocess
import sys
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from tests.certificates.samples import sample_dcc
from tiemchung.certificates import hcert, pdf
from tiemchung.certificates.fontcache import ALPHABET, CachedTTFont
from tiemchung.certificates.keys import KeyStore
from tiemchung.certificates.names import dcc_name
from tiemchung.certificates.service import DoseLine, Issued
from tiemchung.identity import VIETNAMESE_LETTERS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
POPPLER = "poppler-utils (pdftoppm, pdftotext) missing: apt-get install poppler-utils"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore.for_data_dir(tmp_path_factory.mktemp("data"))
    store.init(now=NOW - timedelta(days=30))
    return store


def _cert(keys: KeyStore, name: str, site: str = "Trạm Y tế Phường Điện Biên") -> Issued:
    dcc = sample_dcc(nam=dcc_name(name))
    iat = int(NOW.timestamp())
    payload = hcert.cwt_payload(dcc, issuer="VN", iat=iat, exp=iat + 365 * 86400)
    return Issued(
        uvci=dcc["v"][0]["ci"],
        hc1=hcert.encode(keys.signer.sign(payload)),
        dcc=dcc,
        issued_at=NOW,
        expires_at=NOW + timedelta(days=365),
        kid="k",
        person_id="P-1",
        full_name=name,
        dob="1985-04-12",
        national_id="001085123456",
        doses=[DoseLine(1, 1, date(2021, 10, 1), "PFIZER", "Pfizer", site)],
    )


def _streams(data: bytes) -> list[tuple[bytes, bytes]]:
    """(dictionary, decompressed content) of every Flate stream of a PDF."""
    out = []
    for m in re.finditer(rb"\bobj\s*<<((?:(?!\bobj\b).)*?)>>\s*stream\r?\n", data, re.S):
        length = int(re.search(rb"/Length (\d+)", m.group(1)).group(1))  # type: ignore[union-attr]
        raw = data[m.end() : m.end() + length]
        out.append((m.group(1), zlib.decompress(raw) if b"FlateDecode" in m.group(1) else raw))
    return out


def _raster(path: Path, dpi: int = 72) -> np.ndarray:
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(path), str(path.with_suffix(""))],
        check=True,
    )
    return np.asarray(Image.open(path.with_suffix(".png")).convert("L"))


# -- QR -------------------------------------------------------------------------------------
def test_qr_modules_decode_back_at_level_q(keys: KeyStore) -> None:
    text = _cert(keys, "Nguyễn Văn An").hc1
    modules = pdf.qr_modules(text)
    n = modules.shape[0]
    assert modules.shape == (n, n) and modules.dtype == bool and (n - 17) % 4 == 0
    # Drawn here, by the test: 4 light modules of quiet zone, 4 pixels a module.
    img = np.pad(np.where(modules, 0, 255).astype(np.uint8), 4, constant_values=255)
    img = np.kron(img, np.ones((4, 4), np.uint8))
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.text for r in found] == [text]
    assert found[0].ec_level == "Q" and int(found[0].extra["Version"]) == (n - 17) // 4


def test_qr_png_decodes_back(keys: KeyStore) -> None:
    text = _cert(keys, "Nguyễn Văn An").hc1
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(pdf.qr_png(text))))
    assert [(r.text, r.ec_level) for r in found] == [(text, "Q")]


def test_page_carries_exactly_the_module_matrix(keys: KeyStore, tmp_path: Path) -> None:
    cert = _cert(keys, "Nguyễn Văn An")
    pdf.render([cert], tmp_path / "c.pdf")
    content = b"".join(
        c for d, c in _streams((tmp_path / "c.pdf").read_bytes()) if b"/Length1" not in d
    )
    m = re.search(rb"BI /W (\d+) /H (\d+) /BPC 1 /CS /G /F /AHx ID\n([0-9a-f\n]+)>\nEI", content)
    assert m, "no inline QR image in the page"
    w, h = int(m.group(1)), int(m.group(2))
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(m.group(3).decode()), np.uint8))
    light = bits.reshape(h, -1)[:, :w].astype(bool)
    assert np.array_equal(~light, pdf.qr_modules(cert.hc1))


# -- fonts ----------------------------------------------------------------------------------
def test_alphabet_fits_one_subset() -> None:
    assert set(VIETNAMESE_LETTERS) <= set(ALPHABET) and len(set(ALPHABET)) == len(ALPHABET)
    # 95 ASCII at their own codes, and 159 free codes for the rest (reportlab's subset 0).
    assert len(ALPHABET) - 95 <= 159


def test_font_files_are_the_same_in_every_file_and_built_once(
    keys: KeyStore, tmp_path: Path
) -> None:
    pdf.render([_cert(keys, "Trần Thị Bình")], tmp_path / "warm.pdf")
    fonts = [pdfmetrics.getFont(pdf.FONT), pdfmetrics.getFont(pdf.FONT_BOLD)]
    assert all(isinstance(f, CachedTTFont) for f in fonts)
    builds = [f.builds for f in fonts]  # type: ignore[attr-defined]
    names = ("Đặng Thị Ỷ Lan", "Lê Ngọc Hưởng", "Phạm Quốc Việt")
    files = []
    for i, name in enumerate(names):
        pdf.render([_cert(keys, name)], tmp_path / f"{i}.pdf")
        files.append((tmp_path / f"{i}.pdf").read_bytes())
    assert [f.builds for f in fonts] == builds  # type: ignore[attr-defined]
    font_files = [[c for d, c in _streams(f) if b"/Length1" in d] for f in files]
    assert len(font_files[0]) == 2 and font_files[0] == font_files[1] == font_files[2]
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "0.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Đặng Thị Ỷ Lan" in text and "Trạm Y tế Phường Điện Biên" in text


def _letters_page(path: Path, regular: str, bold: str, extra: str) -> None:
    c = Canvas(str(path), pagesize=A4, pageCompression=1)
    y = 800.0
    for face in (regular, bold):
        for chunk in (VIETNAMESE_LETTERS[i : i + 34] for i in range(0, 134, 34)):
            c.setFont(face, 13)
            c.drawString(40, y, chunk)
            y -= 22
        c.drawString(40, y, "Tiêm chủng — 1·2 … " + extra)
        y -= 30
    c.save()


#: A child process in which reportlab's stock TrueType fonts hold the DejaVu names first (so
#: pdf's cached ones are never registered: reportlab keeps the first font of a face).
_STOCK = """
import pickle, sys
from pathlib import Path
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from tiemchung.certificates import pdf
from tiemchung.certificates.fontcache import CachedTTFont
pdfmetrics.registerFont(TTFont(pdf.FONT, str(pdf.font_path())))
pdfmetrics.registerFont(TTFont(pdf.FONT_BOLD, str(pdf.font_path(bold=True))))
pdf._register_fonts()
assert not isinstance(pdfmetrics.getFont(pdf.FONT), CachedTTFont)
"""


def _stock(code: str, *args: str) -> None:
    subprocess.run([sys.executable, "-c", _STOCK + code, *args], check=True, cwd=ROOT)


def test_every_vietnamese_letter_draws_as_stock_reportlab_does(tmp_path: Path) -> None:
    """The cached subset against reportlab's own TrueType path, pixel for pixel, and text
    extraction (the ToUnicode map) giving back every letter — also letters outside the
    fixed alphabet (Greek, Cyrillic, ß), which land in the same subset, built for that file."""
    assert shutil.which("pdftoppm") and shutil.which("pdftotext"), POPPLER
    pdf._register_fonts()
    assert isinstance(pdfmetrics.getFont(pdf.FONT), CachedTTFont)
    extra = "Ωß Жук"
    _letters_page(tmp_path / "cached.pdf", pdf.FONT, pdf.FONT_BOLD, extra)
    _stock(
        "from tests.certificates.test_pdf import _letters_page\n"
        "_letters_page(Path(sys.argv[1]), pdf.FONT, pdf.FONT_BOLD, sys.argv[2])\n",
        str(tmp_path / "stock.pdf"),
        extra,
    )
    assert (tmp_path / "cached.pdf").read_bytes() != (tmp_path / "stock.pdf").read_bytes()
    assert np.array_equal(_raster(tmp_path / "cached.pdf"), _raster(tmp_path / "stock.pdf"))
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "cached.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(VIETNAMESE_LETTERS + extra.replace(" ", "")) <= set(text)


def test_certificate_page_looks_as_with_stock_fonts(keys: KeyStore, tmp_path: Path) -> None:
    assert shutil.which("pdftoppm"), POPPLER
    cert = replace(_cert(keys, "Nguyễn Thị Bích Ngọc Đặng"), kid="kid-1")
    pdf.render([cert], tmp_path / "cached.pdf")
    (tmp_path / "cert.pickle").write_bytes(pickle.dumps(cert))
    _stock(
        "cert = pickle.loads(Path(sys.argv[1]).read_bytes())\n"
        "pdf.render([cert], Path(sys.argv[2]))\n",
        str(tmp_path / "cert.pickle"),
        str(tmp_path / "stock.pdf"),
    )
    a, b = _raster(tmp_path / "cached.pdf", 100), _raster(tmp_path / "stock.pdf", 100)
    assert a.shape == b.shape and np.array_equal(a, b)


# -- what the page says ------------------------------------------------------------------------
def _text(data: bytes, tmp_path: Path) -> str:
    (tmp_path / "t.pdf").write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-raw", str(tmp_path / "t.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_issue_time_prints_in_vietnam_time_with_the_zone_named(
    keys: KeyStore, tmp_path: Path
) -> None:
    """Stored 01:51 UTC on 7 December 2026 is 08:51 in Vietnam; a configured zone is
    honoured (Tokyo: 10:51). A certificate issued at 20:30 UTC on 31 December is valid until
    a date read on the Vietnamese calendar (1 January, 03:30 in Vietnam)."""
    assert shutil.which("pdftotext"), POPPLER
    issued = datetime(2026, 12, 7, 1, 51, tzinfo=UTC)
    cert = replace(_cert(keys, "Nguyễn Văn An"), issued_at=issued)
    text = _text(pdf.render_bytes(cert), tmp_path)
    assert "08:51 07/12/2026, giờ Việt Nam / Vietnam time (UTC+7)" in text
    assert "01:51" not in text and " UTC " not in text
    tokyo = _text(pdf.render_bytes(cert, "Asia/Tokyo"), tmp_path)
    assert "10:51 07/12/2026, Asia/Tokyo (UTC+9)" in tokyo
    late = replace(cert, expires_at=datetime(2027, 12, 31, 20, 30, tzinfo=UTC))
    assert "01/01/2028" in _text(pdf.render_bytes(late), tmp_path)


def test_the_footer_speaks_to_the_holder_and_the_checker(keys: KeyStore, tmp_path: Path) -> None:
    """No developer text (a command, an API path, a key id); what the code is, who signed it
    and how to check it, in Vietnamese and English."""
    assert shutil.which("pdftotext"), POPPLER
    text = _text(pdf.render_bytes(replace(_cert(keys, "Nguyễn Văn An"), kid="kid-xyz")), tmp_path)
    for developer in ("tiemchung", "/api/", "trust-list", "kid", "`"):
        assert developer not in text, developer
    assert "có chữ ký số của Bộ Y tế Việt Nam" in text
    assert "Quét mã bằng ứng dụng kiểm tra chứng nhận COVID số" in text
    assert "digitally signed by the Ministry of Health of Viet Nam" in text
    assert "Scan it with any EU DCC verifier app" in text


def test_people_read_the_name_as_written_the_icao_form_only_labelled(
    keys: KeyStore, tmp_path: Path
) -> None:
    """Was: "MAC NGOC<UYEN" printed under the name as if it were one. The name is printed with
    its diacritics; the machine-readable form only in a line that says what it is."""
    assert shutil.which("pdftotext"), POPPLER
    text = _text(pdf.render_bytes(_cert(keys, "Mạc Ngọc Uyên")), tmp_path)
    assert "Mạc Ngọc Uyên" in text
    lines = [line for line in text.splitlines() if "NGOC<UYEN" in line]
    assert lines, text
    for line in lines:
        assert "(ICAO 9303): MAC NGOC<UYEN" in line and "máy đọc" in line, line
