"""Issue 19's targets (``bench/fhir.py``), one part at a time, each in its own module and
writing its own result file:

* ``export`` (``bench/fhir_export.py`` → ``bench/results/fhir_export.json``): ``$export`` of
  1M patients and 2M immunizations as NDJSON (target ≥ 50,000 resources/s, memory flat,
  every resource valid), against a CSV baseline of the same rows.
* ``webhook`` (``bench/fhir_webhook.py`` → ``bench/results/fhir_webhook.json``): a dose
  recorded over HTTP → its webhook at a local receiver (p99 ≤ 2 s), none lost across a
  SIGKILL of the server.
* ``search`` (``bench/fhir_search.py`` → ``bench/results/fhir_search.json``):
  ``Immunization?patient=`` over HTTP against a PostgreSQL store of N persons (10M) and ~2
  doses each, K concurrent clients (8); p50/p99 (target p99 ≤ 30 ms), baselines in the
  same run.

    nice -n 10 .venv/bin/python bench/fhir.py --part export|webhook|search [the part's options]
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

PARTS = {
    "export": "fhir_export",
    "webhook": "fhir_webhook",
    "search": "fhir_search",
}


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "--part" or args[1] not in PARTS:
        sys.exit(f"usage: bench/fhir.py --part {'|'.join(PARTS)} [options]\n\n{__doc__}")
    part = args[1]
    sys.argv = [f"bench/{PARTS[part]}.py", *args[2:]]
    # this script's folder is on the path when run as a file, and its name would hide the
    # ``fhir`` package (fhir.resources): import the part as ``bench.<part>`` from the root
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    importlib.import_module(f"bench.{PARTS[part]}").main()


if __name__ == "__main__":
    main()
