"""One small generated dataset shared by the synth tests (a few seconds to make)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tiemchung.synth import generate, load_profile

PEOPLE = 24_000  # two cells, so cell boundaries are exercised
SEED = 11


@dataclass
class Dataset:
    out: Path
    summary: dict[str, Any]
    profile: dict[str, Any]

    def rows(self, name: str) -> list[dict[str, Any]]:
        return pq.read_table(self.out / f"{name}.parquet").to_pylist()


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("synth") / "out"
    # Six legacy files: with the default shares, two TCVN3, one VNI, three Unicode.
    profile = load_profile(overrides={"legacy": {"max_sites": 6}})
    summary = generate(PEOPLE, SEED, out, profile=profile, legacy=True, workers=1)
    return Dataset(out, summary, profile)


@pytest.fixture(scope="session")
def register(dataset: Dataset) -> dict[str, dict[str, Any]]:
    return {r["person_id"]: r for r in dataset.rows("register")}


@pytest.fixture(scope="session")
def records(dataset: Dataset) -> list[dict[str, Any]]:
    return dataset.rows("records")


@pytest.fixture(scope="session")
def truth(dataset: Dataset) -> list[dict[str, Any]]:
    return dataset.rows("truth")
