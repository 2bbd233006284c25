"""Issue 19's targets (``bench/fhir.py``), one part at a time, each in its own module and
writing its own result file:

* ``search`` (``bench/fhir_search.py`` → ``bench/results/fhir_search.json``):
  ``Immunization?patient=`` over HTTP against a PostgreSQL store of N persons (10M) and ~2
  doses each, K concurrent clients (8); p50/p99 (target p99 ≤ 30 ms), baselines in the
  same run.

Other parts (``export``, ``webhook``) are added beside it as their own modules.

    nice -n 10 .venv/bin/python bench/fhir.py search [--people 10000000] [--clients 8] …
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

PARTS = {
    "search": "fhir_search",
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in PARTS:
        sys.exit(f"usage: bench/fhir.py {'|'.join(PARTS)} [options]\n\n{__doc__}")
    part = sys.argv.pop(1)
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    module = importlib.import_module(PARTS[part])
    # this script's own name shadows the ``fhir.resources`` package the parts validate with:
    # once the part is loaded, its folder leaves the path
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    module.main()


if __name__ == "__main__":
    main()
