"""The second generator: deterministic, rates as configured, and a truth that the register
confirms — every label is re-derived here from the register and the record, independently of
how the generator decided it."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from bench.gen2 import generate
from bench.gen2.rates import PROCESSES, Rates

from tests.bench_gen2.conftest import GeneratedSet
from tiemchung.identity import (
    CCCD_PROVINCES,
    fold_name,
    parse_dob,
    parse_national_id,
    parse_sex,
    repair_typing,
    ward_by_code,
)


def _canon(name: str) -> str:
    """Only what name formatting changes undone: NFC, case, spacing."""
    return " ".join(unicodedata.normalize("NFC", name).lower().split())


def _untelex(name: str) -> str:
    """A folded name with Telex keystrokes read back (``coong`` -> ``cong``, ``traanf`` ->
    ``tran``): each word's trailing tone key dropped, then its doubled and w-keys merged.
    Coarse (``hoas`` cannot be told from a name ending in s), but enough to show a word is
    keystrokes of the register's word."""
    out = []
    for word in fold_name(name).split():
        word = re.sub(r"(?<=[a-z])[sfrxj]$", "", word)
        word = re.sub(r"aa|ee|oo|dd", lambda m: m.group(0)[0], word)
        out.append(re.sub(r"([aou])w", r"\1", word))
    return " ".join(out)


def _digits(text: str) -> str:
    return re.sub(r"[ .]", "", text)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate(400, 5, tmp_path / "a")
    b = generate(400, 5, tmp_path / "b")
    c = generate(400, 6, tmp_path / "c")
    for name in ("register", "records", "truth"):
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (
            tmp_path / "b" / f"{name}.parquet"
        ).read_bytes()
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() != (
            tmp_path / "c" / f"{name}.parquet"
        ).read_bytes()
    assert a["processes"] == b["processes"]
    assert a["records"] == b["records"]
    assert c["records"] != a["records"] or c["processes"] != a["processes"]


def test_every_process_happens_at_its_rate(gen: GeneratedSet) -> None:
    """applied / eligible within 4.5 binomial standard deviations of the rate, and every
    process in the truth file at least as often as it was freshly applied (copies add)."""
    in_truth: Counter[str] = Counter()
    for t in gen.truth:
        for p in PROCESSES:
            if p.name in (t[f"{p.field}_process"] or "").split(";"):
                in_truth[f"{p.field}.{p.name}"] += 1
    for key, c in gen.manifest["processes"].items():
        for prefix, least in (("", 500), ("careless_", 50)):
            n, k, rate = c[f"{prefix}eligible"], c[f"{prefix}applied"], c[f"{prefix}rate"]
            assert n >= least, (key, prefix)
            sd = math.sqrt(n * rate * (1 - rate))
            assert abs(k - n * rate) <= 4.5 * sd + 1, (key, prefix, k, n * rate)
        assert c["careless_rate"] > c["rate"] or c["rate"] == 0
        assert c["applied"] > 0 and in_truth[key] >= c["applied"] + c["careless_applied"], key


def test_rates_override_and_refuse_nonsense(tmp_path: Path) -> None:
    m = generate(300, 2, tmp_path, rates={"full_name.ocr": 0.5, "population.duplicate": 0.2})
    ocr = m["processes"]["full_name.ocr"]
    assert 0.4 < ocr["applied"] / ocr["eligible"] < 0.6
    assert m["duplicates"] > 0.1 * m["records"]
    with pytest.raises(ValueError, match="unknown rate"):
        Rates.build({"full_name.nope": 0.1})
    with pytest.raises(ValueError, match="add up to"):
        Rates.build({"dob.year_only": 0.9, "dob.placeholder": 0.2})
    with pytest.raises(ValueError, match="probability"):
        Rates.build({"dob.year_only": 1.5})


def test_labels_wrong_incomplete_correct_follow_the_processes(gen: GeneratedSet) -> None:
    label = {(p.field, p.name): p.label for p in PROCESSES}
    for t in gen.truth:
        for f in ("national_id", "full_name", "dob", "sex", "ward_code", "phone", "address"):
            done = {label[(f, n)] for n in (t[f"{f}_process"] or "").split(";") if n}
            want = "wrong" if "wrong" in done else "incomplete" if done else "correct"
            assert t[f"{f}_status"] == want, (t["record_id"], f)
        five = ("national_id", "full_name", "dob", "sex", "ward_code")
        if t["person_id"]:
            assert (t["wrong_fields"] or "") == ";".join(
                f for f in five if t[f"{f}_status"] == "wrong"
            )
            assert (t["incomplete_fields"] or "") == ";".join(
                f for f in five if t[f"{f}_status"] == "incomplete"
            )
        else:
            assert t["wrong_fields"] is None and t["incomplete_fields"] is None


def test_correct_values_equal_the_register_once_standardised(gen: GeneratedSet) -> None:
    checked = 0
    for t in gen.truth:
        if not t["person_id"]:
            continue
        r, p = gen.record[t["record_id"]], gen.person[t["person_id"]]
        if t["national_id_status"] == "correct":
            assert parse_national_id(r["national_id"]).digits == p["national_id"]
        if t["full_name_status"] == "correct":
            assert _canon(r["full_name"]) == _canon(p["full_name"])
        if t["dob_status"] == "correct":
            assert parse_dob(r["dob"]).iso == p["dob"]
        if t["sex_status"] == "correct":
            assert parse_sex(r["sex"]) == {"M": "male", "F": "female"}[p["sex"]]
        if t["ward_code_status"] == "correct":
            assert r["ward_code"].zfill(5) == p["ward_code"]
        if t["phone_status"] == "correct" and p["phone"]:
            assert r["phone"].replace(" ", "").replace("+84", "0") == p["phone"]
        checked += 1
    assert checked > 3000


def test_register_ids_have_the_cccd_structure(gen: GeneratedSet) -> None:
    for p in gen.register:
        nid = p["national_id"]
        assert len(nid) == 12 and nid.isdigit()
        assert nid[:3] in CCCD_PROVINCES
        year = int(p["dob"][:4])
        assert int(nid[3]) == (year // 100 - 19) * 2 + (p["sex"] == "F")
        assert nid[4:6] == f"{year % 100:02d}"
        assert p["old_id"] is None or (len(p["old_id"]) == 9 and p["old_id"].isdigit())
    assert len({p["national_id"] for p in gen.register}) == len(gen.register)
    share_old = sum(p["old_id"] is not None for p in gen.register) / len(gen.register)
    assert 0.1 < share_old < 0.4


def test_id_errors_are_what_their_label_says(gen: GeneratedSet) -> None:
    by_address: dict[str, set[str]] = defaultdict(set)
    for p in gen.register:
        by_address[p["address"]].add(p["national_id"])
    holder = {p["national_id"]: p for p in gen.register}
    for r, _ in gen.linked("national_id", "blank"):
        assert r["national_id"] == ""
    for r, p in gen.linked("national_id", "digit_off"):
        a, b = _digits(r["national_id"]), p["national_id"]
        assert len(a) == 12 and sum(x != y for x, y in zip(a, b, strict=True)) == 1
    for r, p in gen.linked("national_id", "transposed"):
        a, b = _digits(r["national_id"]), p["national_id"]
        diff = [i for i in range(12) if a[i] != b[i]]
        assert len(diff) == 2 and diff[1] == diff[0] + 1
        assert a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    for r, p in gen.linked("national_id", "digit_dropped"):
        a, b = _digits(r["national_id"]), p["national_id"]
        assert len(a) == 11 and any(b[:i] + b[i + 1 :] == a for i in range(12))
    for r, p in gen.linked("national_id", "old_id"):
        assert r["national_id"] == p["old_id"]
    found = 0
    relatives = gen.linked("national_id", "relative_id")
    for r, p in relatives:
        a = _digits(r["national_id"])
        assert a != p["national_id"] and len(a) == 12
        if a in holder:  # the relative may be one of the people the register lacks
            found += 1
            assert holder[a]["address"] == p["address"] and a in by_address[p["address"]]
    assert relatives and found >= 0.8 * len(relatives)


def test_name_errors_are_what_their_label_says(gen: GeneratedSet) -> None:
    for r, p in gen.linked("full_name", "middle_dropped"):
        aw, bw = _canon(r["full_name"]).split(), _canon(p["full_name"]).split()
        assert aw[0] == bw[0] and aw[-1] == bw[-1] and 2 <= len(aw) < len(bw)
        assert all(w in bw[1:-1] for w in aw[1:-1])
    for r, p in gen.linked("full_name", "word_order"):
        aw, bw = _canon(r["full_name"]).split(), _canon(p["full_name"]).split()
        assert sorted(aw) == sorted(bw) and aw != bw
    for r, p in gen.linked("full_name", "vni_slip"):
        a = _canon(r["full_name"])
        assert re.search(r"[a-zđ][0-9]", a)
        assert fold_name(re.sub(r"[0-9]", "", a)) == fold_name(p["full_name"])
    telex = gen.linked("full_name", "telex_slip")
    for r, p in telex:
        a, b = _canon(r["full_name"]), _canon(p["full_name"])
        early = any(a[:i] + a[i + 1 :] == b for i in range(len(a)) if a[i] in "sfrxj")
        assert early or _canon(repair_typing(a)) == b or _untelex(a) == fold_name(b), (a, b)
    for r, p in gen.linked("full_name", "letter_dropped"):
        a, b = _canon(r["full_name"]), _canon(p["full_name"])
        assert any(b[:i] + b[i + 1 :] == a for i in range(len(b)))
    for r, p in gen.linked("full_name", "letter_doubled"):
        a, b = _canon(r["full_name"]), _canon(p["full_name"])
        assert any(b[:i] + b[i] + b[i:] == a for i in range(len(b)))
    for r, p in gen.linked("full_name", "letters_swapped"):
        a, b = _canon(r["full_name"]), _canon(p["full_name"])
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        assert len(a) == len(b) and len(diff) == 2 and diff[1] == diff[0] + 1
    pairs = (
        ("rn", "m"),
        ("l", "1"),
        ("i", "l"),
        ("o", "0"),
        ("s", "5"),
        ("đ", "d"),
        ("b", "8"),
        ("g", "9"),
        ("cl", "d"),
        ("i", "1"),
    )
    for r, p in gen.linked("full_name", "ocr"):
        a, b = _canon(r["full_name"]), _canon(p["full_name"])
        assert a != b
        assert any(
            b[:i] + y + b[i + len(x) :] == a or b[:i] + x + b[i + len(y) :] == a
            for x, y in pairs
            for i in range(len(b))
        ), (a, b)


def test_date_errors_are_what_their_label_says(gen: GeneratedSet) -> None:
    for r, p in gen.linked("dob", "year_only"):
        assert r["dob"] == p["dob"][:4] and len(p["dob"]) == 10
    for r, p in gen.linked("dob", "placeholder"):
        assert parse_dob(r["dob"]).iso == f"{p['dob'][:4]}-01-01" != p["dob"]
    for r, p in gen.linked("dob", "day_month_swap"):
        y, m, d = p["dob"].split("-")
        assert parse_dob(r["dob"]).iso == f"{y}-{d}-{m}" and d != m
    for r, p in gen.linked("dob", "year_off"):
        assert abs(parse_dob(r["dob"]).year - int(p["dob"][:4])) == 1
    year_only = sum(len(p["dob"]) == 4 for p in gen.register) / len(gen.register)
    assert 0.01 < year_only < 0.2


def test_other_fields_errors_are_what_their_label_says(gen: GeneratedSet) -> None:
    for r, _ in gen.linked("sex", "blank"):
        assert r["sex"] == ""
    for r, p in gen.linked("sex", "flipped"):
        assert parse_sex(r["sex"]) != {"M": "male", "F": "female"}[p["sex"]]
    moved = gen.linked("ward_code", "moved")
    assert moved
    for r, p in moved:
        new, old = (
            ward_by_code(r["ward_code"], scheme="2021"),
            ward_by_code(p["ward_code"], scheme="2021"),
        )
        assert new is not None and old is not None and new.code != old.code
        assert new.parent_code == old.parent_code
    blank = gen.linked("ward_code", "blank")
    assert blank and all(r["ward_code"] == "" for r, _ in blank)
    assert sum(bool(r["address"]) for r, _ in blank) > 0.8 * len(blank)
    for r, p in gen.linked("phone", "digit_off"):
        a = r["phone"].replace(" ", "").replace("+84", "0")
        assert sum(x != y for x, y in zip(a, p["phone"], strict=True)) == 1


def test_addresses_are_free_text_with_abbreviations(gen: GeneratedSet) -> None:
    addresses = [r["address"] for r in gen.records if r["address"]]
    abbreviated = [a for a in addresses if re.search(r"\b(P\.|Q\.|TP\.|TP |Tp |H\.|X\.|F\.)", a)]
    assert 0.3 < len(abbreviated) / len(addresses) < 0.8
    assert any(a.startswith("số ") for a in addresses)
    assert any(re.match(r"(số )?\d+ ", a) for a in addresses)
    assert all(p["address"].count(",") >= 3 for p in gen.register)


def test_households_share_addresses_and_surnames(gen: GeneratedSet) -> None:
    homes: dict[str, list[str]] = defaultdict(list)
    for p in gen.register:
        homes[p["address"]].append(p["full_name"].split()[0])
    shared = [s for s in homes.values() if len(s) >= 2]
    assert len(shared) > 0.3 * len(homes)
    same_surname = sum(1 for s in shared if len(set(s)) < len(s))
    assert same_surname > 0.5 * len(shared)


def test_people_outside_the_register_and_double_entries(gen: GeneratedSet) -> None:
    register_ids = {p["national_id"] for p in gen.register}
    kinds = Counter(t["kind"] for t in gen.truth)
    assert kinds["foreigner"] > 0 and kinds["missing"] > 0
    for t in gen.truth:
        r = gen.record[t["record_id"]]
        if t["kind"] != "resident":
            assert t["person_id"] is None
        if t["kind"] == "foreigner" and t["national_id_status"] == "correct":
            assert re.fullmatch(r"[A-Z]{1,2}\d{7,8}", r["national_id"])
        if t["kind"] == "missing" and t["national_id_status"] == "correct":
            assert _digits(r["national_id"]) not in register_ids
    doses: dict[str, Counter[str]] = defaultdict(Counter)
    for t in gen.truth:
        r = gen.record[t["record_id"]]
        if t["person_id"] and not t["duplicate_of"]:
            doses[t["person_id"]][r["dose_number"]] += 1
        if t["duplicate_of"]:
            first, t0 = (
                gen.record[t["duplicate_of"]],
                next(x for x in gen.truth if x["record_id"] == t["duplicate_of"]),
            )
            assert t0["person_id"] == t["person_id"] and t0["duplicate_of"] is None
            assert first["dose_number"] == r["dose_number"]
            assert (first["dose_date"], first["record_id"]) < (r["dose_date"], r["record_id"])
    assert all(set(c) <= {"1", "2", "3"} and max(c.values()) == 1 for c in doses.values())
    share = sum(1 for t in gen.truth if t["duplicate_of"]) / len(gen.truth)
    assert 0.01 < share < 0.035
