"""Certificates: signed payloads/s/core, verifications/s, PDFs/s — and the conformance table.

    .venv/bin/python bench/certificates.py                # → bench/results/certificates.json
    .venv/bin/python bench/certificates.py --conformance   # pass count per EXPECTEDRESULTS flag

Every certificate is distinct (its own UVCI and name), so nothing is cached between items.
The baseline, measured in the same run, is the bare ECDSA P-256 sign and verify of
`cryptography` over the same payload bytes: the ratio shows what the codec (CBOR, zlib,
Base45, schema) costs on top of the cryptography. Verification is also measured with two
processes, one per core of this machine, since the target is per machine, not per core.
"""

from __future__ import annotations

import argparse
import json
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

NOW = datetime.now(UTC).replace(microsecond=0)


def _dcc(i: int) -> dict:
    from tiemchung.certificates.names import dcc_name
    from tiemchung.certificates.uvci import new_uvci

    return {
        "ver": "1.3.3",
        "nam": dcc_name(f"Nguyễn Thị Bích Ngọc {chr(65 + i % 26)}{i}"),
        "dob": f"{1940 + i % 60}-0{1 + i % 9}-1{i % 10}",
        "v": [
            {
                "tg": "840539006",
                "vp": "1119349007",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": "2021-10-22",
                "co": "VN",
                "is": "Bộ Y tế Việt Nam / Ministry of Health of Viet Nam",
                "ci": new_uvci(),
            }
        ],
    }


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


def measure(n: int, n_pdf: int) -> dict:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding

    from tiemchung.certificates import hcert
    from tiemchung.certificates.pdf import render
    from tiemchung.certificates.service import DoseLine, Issued
    from tiemchung.certificates.verify import Trust, verify

    store = _keys()
    signer = store.signer  # type: ignore[attr-defined]
    payloads = _payloads(n)
    results: dict = {}

    # baseline: bare ECDSA P-256 / SHA-256 over the same bytes
    key, pub = signer.private_key, signer.certificate.public_key()
    with Timer() as t:
        sigs = [key.sign(p, ec.ECDSA(hashes.SHA256())) for p in payloads]
    results["baseline_ecdsa_sign_per_s"] = round(n / t.seconds)
    with Timer() as t:
        for p, s in zip(payloads, sigs, strict=True):
            pub.verify(s, p, ec.ECDSA(hashes.SHA256()))
    results["baseline_ecdsa_verify_per_s"] = round(n / t.seconds)

    with Timer() as t:
        texts = [hcert.encode(signer.sign(p)) for p in payloads]
    results["signed_per_s_per_core"] = round(n / t.seconds)
    results["signed_vs_bare_ecdsa"] = round(
        results["signed_per_s_per_core"] / results["baseline_ecdsa_sign_per_s"], 2
    )

    trust = Trust(store.dsc_certificates())  # type: ignore[attr-defined]
    verify(texts[0], trust)
    with Timer() as t:
        valid = sum(verify(x, trust).valid for x in texts)
    assert valid == n, f"only {valid} of {n} verified"
    results["verified_per_s_one_core"] = round(n / t.seconds)
    results["verified_vs_bare_ecdsa"] = round(
        results["verified_per_s_one_core"] / results["baseline_ecdsa_verify_per_s"], 2
    )
    certs = [c.public_bytes(Encoding.DER) for c in store.dsc_certificates()]  # type: ignore[attr-defined]
    workers = os.cpu_count() or 1
    half = (len(texts) + workers - 1) // workers
    chunks = [(texts[i : i + half], certs) for i in range(0, len(texts), half)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_verify_chunk, [(texts[:10], certs)] * workers))  # start workers
        with Timer() as t:
            done = list(pool.map(_verify_chunk, chunks))
    assert sum(ok for ok, _ in done) == n
    results["verified_per_s_all_cores"] = round(n / t.seconds)
    results["verify_processes"] = workers

    doses = [
        DoseLine(
            1,
            1,
            date(2021, 10, 1),
            "PFIZER",
            "Pfizer-BioNTech (Comirnaty)",
            "Trạm Y tế Phường Điện Biên",
        ),
        DoseLine(
            2,
            2,
            date(2021, 10, 22),
            "PFIZER",
            "Pfizer-BioNTech (Comirnaty)",
            "Trạm Y tế Phường Điện Biên",
        ),
    ]
    issued = [
        Issued(
            uvci=_dcc(i)["v"][0]["ci"],
            hc1=texts[i],
            dcc=_dcc(i),
            issued_at=NOW,
            expires_at=NOW + timedelta(days=365),
            kid="bench",
            person_id=f"P{i}",
            full_name=f"Nguyễn Thị Bích Ngọc {i}",
            dob="1985-04-12",
            national_id="001085123456",
            doses=doses,
        )
        for i in range(n_pdf)
    ]
    render([issued[0]], BytesIO())
    with Timer() as t:
        for cert in issued:
            render([cert], BytesIO())
    results["pdf_per_s_one_file_each"] = round(n_pdf / t.seconds, 1)
    with Timer() as t:
        render(issued, BytesIO())
    results["pdf_pages_per_s_merged"] = round(n_pdf / t.seconds, 1)
    # What `tiemchung certify --ward` does: one process per core over the batch.
    import tempfile

    from tiemchung.certificates.pdf import render_files

    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(os.cpu_count()) as pool:
        render_files(issued[:8], Path(tmp), pool)  # start the workers
        with Timer() as t:
            render_files(issued, Path(tmp), pool)
    results["pdf_per_s_one_file_each_process_pool"] = round(n_pdf / t.seconds, 1)
    results["pdf_pool_processes"] = os.cpu_count()
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
