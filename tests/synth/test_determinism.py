"""Same seed, same bytes: across runs, across worker counts, for every format."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tiemchung.synth import generate, load_profile
from tiemchung.synth.draws import CELL


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_number_of_workers(tmp_path: Path) -> None:
    people = CELL + 500  # two cells, the last one short
    profile = load_profile(overrides={"legacy": {"max_sites": 3}})
    one = generate(people, 3, tmp_path / "a", workers=1, legacy=True, profile=profile)
    two = generate(people, 3, tmp_path / "b", workers=2, legacy=True, profile=profile)
    assert one == two
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(a) == 8 + 3 + 1 and a == b  # tables, summary, legacy files, manifest
    generate(people, 4, tmp_path / "c", workers=1)
    assert _digests(tmp_path / "c")["records.parquet"] != a["records.parquet"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_other_formats_are_deterministic_too(tmp_path: Path, fmt: str) -> None:
    generate(3_000, 9, tmp_path / "a", fmt=fmt)
    generate(3_000, 9, tmp_path / "b", fmt=fmt)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert f"records.{fmt}" in a and a == b
