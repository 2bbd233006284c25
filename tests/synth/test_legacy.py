"""Legacy spreadsheets: Vietnamese headers, TCVN3/VNI files decode back to the records, and
the truth holds for the decoded rows."""

from __future__ import annotations

import csv
import unicodedata
from typing import Any

from openpyxl import load_workbook

from tests.synth.conftest import Dataset
from tiemchung.identity import (
    decode_tcvn3,
    decode_vni,
    detect_encoding,
    fold_name,
    normalize_name,
    repair_encoding,
    ward_by_code,
)
from tiemchung.synth import derive_wrong_fields
from tiemchung.synth.tables import LEGACY_HEADERS, LEGACY_VACCINE_NAMES

DECODE = {"tcvn3": decode_tcvn3, "vni": decode_vni, "unicode": lambda s: s}


def _load(dataset: Dataset) -> dict[str, list[list[Any]]]:
    out = {}
    for f in sorted((dataset.out / "legacy").glob("*.xlsx")):
        ws = load_workbook(f, read_only=True).active
        out[f.name] = [list(r) for r in ws.iter_rows(values_only=True)]
    return out


def test_legacy_files_decode_back_to_the_records(
    dataset: Dataset,
    records: list[dict[str, Any]],
    truth: list[dict[str, Any]],
    register: dict[str, Any],
) -> None:
    manifest = list(
        csv.DictReader((dataset.out / "legacy" / "manifest.csv").open(encoding="utf-8"))
    )
    encodings = {m["file"]: m["encoding"] for m in manifest}
    assert {"tcvn3", "vni", "unicode"} <= set(encodings.values())
    sheets = _load(dataset)
    by_id = {r["record_id"]: (r, t) for r, t in zip(records, truth, strict=True)}
    rows_checked = repaired_ok = 0
    for name, rows in sheets.items():
        enc = encodings[name]
        decode = DECODE[enc]
        # TCVN3 has no capital toned letters (the .VnTimeH font draws them): compare casefolded
        header = [decode(h).casefold() for h in rows[3]]
        assert header == [h.casefold() for h in LEGACY_HEADERS]
        if enc != "unicode":
            text = " ".join(str(c) for r in rows[4:] for c in r if isinstance(c, str))
            assert detect_encoding(text) == enc  # a whole file carries plenty of evidence
    for m in manifest:
        row = sheets[m["file"]][int(m["row"]) - 1]
        rec, t = by_id[m["record_id"]]
        decode = DECODE[m["encoding"]]
        _stt, name, dob, sex, nid, phone, addr, ward, vaccine, number, when = row
        # TCVN3 has no upper-case toned letters, so case is compared loosely.
        nfc = unicodedata.normalize("NFC", rec["full_name"])
        assert normalize_name(decode(name)) == normalize_name(nfc)
        assert fold_name(decode(name)) == fold_name(nfc)
        assert decode(sex).casefold() == rec["sex"].casefold()
        assert decode(addr).casefold() == rec["address"].casefold()
        assert decode(ward) == ward_by_code(rec["ward_code"].zfill(5), scheme="2021").name
        assert (dob, nid, phone, when) == (
            rec["dob"],
            rec["national_id"],
            rec["phone"],
            rec["dose_date"],
        )
        assert (LEGACY_VACCINE_NAMES[rec["vaccine"]], str(number)) == (vaccine, rec["dose_number"])
        # repair_encoding, cell by cell, knowing nothing of the file, on the name + address
        if m["encoding"] != "unicode":
            rows_checked += 1
            fixed = repair_encoding(f"{name}, {addr}")
            repaired_ok += fold_name(fixed) == fold_name(f"{nfc}, {rec['address']}")
        # the truth holds for the decoded legacy row
        if t["person_id"] is not None:
            legacy = dict(rec, full_name=decode(name), sex=decode(sex))
            expect = t["wrong_fields"].split(";") if t["wrong_fields"] else []
            assert derive_wrong_fields(legacy, register[t["person_id"]]) == expect
    assert rows_checked > 1000
    assert repaired_ok / rows_checked > 0.99, repaired_ok / rows_checked
