"""Certificates: signed payloads/s/core, verifications/s, PDFs/s — and the conformance table.

    .venv/bin/python bench/certificates.py                # → bench/results/certificates.json
    .venv/bin/python bench/certificates.py --conformance   # pass count per EXPECTEDRESULTS flag

Every certificate is distinct (its own UVCI and name), so nothing is cached between items.
Baselines, measured in the same run:

* signing and verifying: the bare ECDSA P-256 sign and verify of `cryptography` over the same
  payload bytes (what the codec costs on top of the cryptography);
* the verifier's parts: jsonschema against the compiled schema check, the `base45` package
  against our vectorised decoder, on the same payloads;
* PDFs: the previous per-file path — reportlab's stock TrueType fonts (a subset built and
  compressed per file) and the pure-Python `qrcode` encoder — in a child process (reportlab
  keeps the first font registered for a face, so the two cannot share a process).

Each rate is given by the wall clock and by the process's own CPU time (`*_cpu`): this
2-core machine is shared, and the gap between the two is the time other work took the core.
The load average is recorded before each part.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Timer, write_result


class Clock:
    """``with Clock() as t: ...`` then ``t.wall`` and ``t.cpu`` (this process's CPU seconds)."""

    def __enter__(self) -> Clock:
        self.start, self.start_cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.start
        self.cpu = time.process_time() - self.start_cpu


def _rates(results: dict, key: str, n: int, t: Clock, digits: int = 0) -> None:
    results[key] = round(n / t.wall, digits or None)
    results[key + "_cpu"] = round(n / t.cpu, digits or None)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


NOW = datetime.now(UTC).replace(microsecond=0)


def _dcc(i: int) -> dict:
    """The tests' sample DCC with a name, date of birth and UVCI of its own per ``i``."""
    from tests.certificates.samples import DCC, sample_dcc

    from tiemchung.certificates.names import dcc_name
    from tiemchung.certificates.uvci import new_uvci

    return sample_dcc(
        nam=dcc_name(f"Nguyễn Thị Bích Ngọc {chr(65 + i % 26)}{i}"),
        dob=f"{1940 + i % 60}-0{1 + i % 9}-1{i % 10}",
        v=[{**DCC["v"][0], "ci": new_uvci()}],
    )


def _keys() -> object:
    from tiemchung.certificates.keys import KeyStore

    store = KeyStore.for_data_dir(Path(tempfile.mkdtemp()))
    store.init(now=NOW - timedelta(days=1))
    return store


def _payloads(n: int) -> list[bytes]:
    from tiemchung.certificates import hcert

    iat = int(NOW.timestamp())
    return [
        hcert.cwt_payload(_dcc(i), issuer="VN", iat=iat, exp=iat + 365 * 86400) for i in range(n)
    ]


def _verify_chunk(args: tuple[list[str], list[bytes]]) -> tuple[int, float]:
    from tiemchung.certificates.verify import Trust, verify

    texts, certs = args
    trust = Trust(certs)
    verify(texts[0], trust)  # warm the schema
    with Timer() as t:
        ok = sum(verify(x, trust).valid for x in texts)
    return ok, t.seconds


def _issued(texts: list[str], n_pdf: int) -> list:
    from tiemchung.certificates.service import DoseLine, Issued

    site = "Trạm Y tế Phường Điện Biên"
    doses = [
        DoseLine(1, 1, date(2021, 10, 1), "PFIZER", "Pfizer-BioNTech (Comirnaty)", site),
        DoseLine(2, 2, date(2021, 10, 22), "PFIZER", "Pfizer-BioNTech (Comirnaty)", site),
    ]
    surnames = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Võ", "Bùi")
    given = ("Thị Bích Ngọc", "Văn Hưởng", "Quốc Việt", "Thị Ỷ Lan", "Đức Thắng", "Ngọc Ánh")
    return [
        Issued(
            uvci=_dcc(i)["v"][0]["ci"],
            hc1=texts[i],
            dcc=_dcc(i),
            issued_at=NOW,
            expires_at=NOW + timedelta(days=365),
            kid="bench",
            person_id=f"P{i}",
            full_name=f"{surnames[i % 8]} {given[i % 6]} {i}",
            dob="1985-04-12",
            national_id="001085123456",
            doses=doses,
        )
        for i in range(n_pdf)
    ]


def _stock_renderer() -> None:
    """Child initializer: the previous per-file path. reportlab's stock TrueType fonts hold
    the DejaVu names before pdf registers its cached ones, and the QR matrix comes from the
    pure-Python `qrcode` encoder (fixed mask 2, as before)."""
    import logging

    import numpy as np
    import qrcode
    import qrcode.constants
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from tiemchung.certificates import pdf

    pdfmetrics.registerFont(TTFont(pdf.FONT, str(pdf.font_path())))
    pdfmetrics.registerFont(TTFont(pdf.FONT_BOLD, str(pdf.font_path(bold=True))))
    logging.getLogger(pdf.__name__).setLevel(logging.ERROR)  # the stock fonts are the point

    def qr_modules(text: str) -> np.ndarray:
        qr = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_Q, border=0, mask_pattern=2
        )
        qr.add_data(text)
        qr.make(fit=True)
        return np.array(qr.get_matrix(), dtype=bool)

    pdf.qr_modules = qr_modules  # type: ignore[assignment]


def _render_each(issued: list) -> tuple[float, float, bool]:
    """(wall, cpu) seconds to render one PDF per certificate, and whether the fonts were the
    cached ones."""
    from reportlab.pdfbase import pdfmetrics

    from tiemchung.certificates import pdf
    from tiemchung.certificates.fontcache import CachedTTFont

    pdf.render([issued[0]], BytesIO())
    with Clock() as t:
        for cert in issued:
            pdf.render([cert], BytesIO())
    return t.wall, t.cpu, isinstance(pdfmetrics.getFont(pdf.FONT), CachedTTFont)


def measure_verify(n: int) -> dict:
    import base45
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding

    from tiemchung.certificates import hcert
    from tiemchung.certificates.schema import compiled, validator
    from tiemchung.certificates.verify import Trust, verify

    store = _keys()
    signer = store.signer  # type: ignore[attr-defined]
    payloads = _payloads(n)
    results: dict = {"loadavg_before_sign_verify": _load()}

    # baseline: bare ECDSA P-256 / SHA-256 over the same bytes
    key, pub = signer.private_key, signer.certificate.public_key()
    with Clock() as t:
        sigs = [key.sign(p, ec.ECDSA(hashes.SHA256())) for p in payloads]
    _rates(results, "baseline_ecdsa_sign_per_s", n, t)
    with Clock() as t:
        for p, s in zip(payloads, sigs, strict=True):
            pub.verify(s, p, ec.ECDSA(hashes.SHA256()))
    _rates(results, "baseline_ecdsa_verify_per_s", n, t)

    with Clock() as t:
        texts = [hcert.encode(signer.sign(p)) for p in payloads]
    _rates(results, "signed_per_s_per_core", n, t)
    results["signed_vs_bare_ecdsa"] = round(
        results["signed_per_s_per_core_cpu"] / results["baseline_ecdsa_sign_per_s_cpu"], 2
    )

    trust = Trust(store.dsc_certificates())  # type: ignore[attr-defined]
    verdicts = [verify(texts[0], trust)]
    with Clock() as t:
        verdicts = [verify(x, trust) for x in texts]
    assert sum(v.valid for v in verdicts) == n, "not every certificate verified"
    _rates(results, "verified_per_s_one_process", n, t)
    results["verified_vs_bare_ecdsa"] = round(
        results["verified_per_s_one_process_cpu"] / results["baseline_ecdsa_verify_per_s_cpu"], 2
    )

    # Baseline: the same verifier with the previous schema check (jsonschema on every
    # payload) and Base45 decoder (the pure-Python package), on the same texts.
    verify_mod = sys.modules[
        "tiemchung.certificates.verify"
    ]  # the package's `verify` is the function

    def jsonschema_errors(dcc: object, limit: int = 3) -> list[str]:
        return [e.message for e in validator().iter_errors(dcc)][:limit]

    fast_errors, fast_b45 = verify_mod.schema_errors, hcert.b45decode
    verify_mod.schema_errors, hcert.b45decode = jsonschema_errors, base45.b45decode  # type: ignore[assignment]
    try:
        with Clock() as t:
            assert all(verify(x, trust).valid for x in texts)
    finally:
        verify_mod.schema_errors, hcert.b45decode = fast_errors, fast_b45
    _rates(results, "baseline_previous_schema_and_base45_verified_per_s", n, t)
    results["verified_vs_previous_cpu"] = round(
        results["verified_per_s_one_process_cpu"]
        / results["baseline_previous_schema_and_base45_verified_per_s_cpu"],
        2,
    )

    # The verifier's parts against their references, on the same payloads.
    dccs = [v.dcc for v in verdicts]
    bodies = [x[len(hcert.PREFIX) :] for x in texts]
    reference, fast = validator(), compiled()
    with Clock() as t:
        assert not any(any(True for _ in reference.iter_errors(d)) for d in dccs)
    results["schema_jsonschema_us"] = round(t.cpu / n * 1e6, 1)
    with Clock() as t:
        assert all(fast(d) for d in dccs)
    results["schema_compiled_us"] = round(t.cpu / n * 1e6, 1)
    with Clock() as t:
        packaged = [base45.b45decode(b) for b in bodies]
    results["base45_package_us"] = round(t.cpu / n * 1e6, 1)
    with Clock() as t:
        ours = [hcert.b45decode(b) for b in bodies]
    assert ours == packaged
    results["base45_vectorised_us"] = round(t.cpu / n * 1e6, 1)
    results["verify_us_cpu"] = round(1e6 / results["verified_per_s_one_process_cpu"], 1)

    certs = [c.public_bytes(Encoding.DER) for c in store.dsc_certificates()]  # type: ignore[attr-defined]
    workers = os.cpu_count() or 1
    half = (len(texts) + workers - 1) // workers
    chunks = [(texts[i : i + half], certs) for i in range(0, len(texts), half)]
    results["loadavg_before_verify_processes"] = _load()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_verify_chunk, [(texts[:10], certs)] * workers))  # start workers
        with Timer() as wall:
            done = list(pool.map(_verify_chunk, chunks))
    assert sum(ok for ok, _ in done) == n
    results["verified_per_s_all_processes"] = round(n / wall.seconds)
    results["verify_processes"] = workers
    results["_texts"] = texts
    return results


def measure_pdf(texts: list[str], n_pdf: int) -> dict:
    from tiemchung.certificates.pdf import render, render_files

    issued = _issued(texts, n_pdf)
    results: dict = {"loadavg_before_pdf": _load()}
    wall, cpu, cached = _render_each(issued)
    assert cached, "the cached fonts were not the ones registered"
    results["pdf_per_s_one_file_each"] = round(n_pdf / wall, 1)
    results["pdf_per_s_one_file_each_cpu"] = round(n_pdf / cpu, 1)
    # A fresh (spawned) child: a forked one would inherit the cached fonts already registered.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=_stock_renderer) as child:
        wall, cpu, cached = child.submit(_render_each, issued).result()
    assert not cached, "the baseline child used the cached fonts"
    results["baseline_previous_path_pdf_per_s"] = round(n_pdf / wall, 1)
    results["baseline_previous_path_pdf_per_s_cpu"] = round(n_pdf / cpu, 1)
    results["pdf_vs_previous_path_cpu"] = round(
        results["pdf_per_s_one_file_each_cpu"] / results["baseline_previous_path_pdf_per_s_cpu"],
        2,
    )
    with Clock() as t:
        render(issued, BytesIO())
    _rates(results, "pdf_pages_per_s_merged", n_pdf, t, 1)
    # What `tiemchung certify --ward` does: one process per core over the batch.
    results["loadavg_before_pdf_pool"] = _load()
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(os.cpu_count()) as pool:
        render_files(issued[:16], Path(tmp), pool)  # start the workers
        with Timer() as wall_t:
            render_files(issued, Path(tmp), pool)
        sizes = [p.stat().st_size for p in Path(tmp).iterdir()]
    results["pdf_per_s_one_file_each_process_pool"] = round(n_pdf / wall_t.seconds, 1)
    results["pdf_pool_processes"] = os.cpu_count()
    results["pdf_file_kib_mean"] = round(sum(sizes) / len(sizes) / 1024, 1)
    return results


def measure(n: int, n_pdf: int) -> dict:
    results = measure_verify(n)
    texts = results.pop("_texts")
    results.update(measure_pdf(texts, n_pdf))
    return results


def conformance_table() -> dict:
    from tiemchung.certificates import conformance

    root = Path(__file__).resolve().parents[1] / "tests" / "data" / "eu-dcc"
    return conformance.table(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conformance", action="store_true", help="print the pass table only")
    parser.add_argument("--n", type=int, default=3000, help="certificates to sign and verify")
    parser.add_argument("--pdf", type=int, default=200, help="PDFs to render")
    args = parser.parse_args()
    if args.conformance:
        table = conformance_table()
        print("| flag | vectors | as expected | explained (xfail) |")
        print("| --- | ---: | ---: | ---: |")
        for flag, row in table.items():
            print(f"| {flag} | {row['vectors']} | {row['pass']} | {row['known']} |")
        return
    load_before = os.getloadavg()
    started = time.perf_counter()
    results = measure(args.n, args.pdf)
    results["loadavg_before"] = [round(x, 2) for x in load_before]
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = {"signed_per_s_per_core": 3000, "verified_per_s": 5000, "pdf_per_s": 100}
    results["conformance"] = conformance_table()
    path = write_result(
        "certificates",
        inputs={"certificates": args.n, "pdfs": args.pdf},
        results=results,
        packages=[
            "cbor2",
            "base45",
            "numpy",
            "cryptography",
            "jsonschema",
            "qrcode",
            "reportlab",
            "zxing-cpp",
        ],
    )
    print(json.dumps(results, indent=2))
    print(f"→ {path}")


if __name__ == "__main__":
    main()
