"""One generated set shared by the tests: 2,000 residents with the default rates (~2 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from bench.gen2 import generate


def rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


class GeneratedSet:
    def __init__(self, out: Path) -> None:
        self.manifest = generate(2000, 11, out)
        self.register = rows(out / "register.parquet")
        self.records = rows(out / "records.parquet")
        self.truth = rows(out / "truth.parquet")
        self.person = {p["person_id"]: p for p in self.register}
        self.record = {r["record_id"]: r for r in self.records}

    def linked(self, field: str, process: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(record, register person) of the registered records whose ``field`` went through
        exactly ``process`` and nothing else."""
        return [
            (self.record[t["record_id"]], self.person[t["person_id"]])
            for t in self.truth
            if t["person_id"] and (t[f"{field}_process"] or "") == process
        ]


@pytest.fixture(scope="session")
def gen(tmp_path_factory: pytest.TempPathFactory) -> GeneratedSet:
    return GeneratedSet(tmp_path_factory.mktemp("gen2"))
