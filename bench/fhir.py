"""The FHIR and partner-sharing benchmarks of issue 19 (targets in ISSUE19.md), one part at a
time: ``--part webhook`` (``bench/fhir_webhook.py``); the other parts are added beside it.

    .venv/bin/python bench/fhir.py --part webhook [the part's own options]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTS = ("webhook",)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--part", choices=PARTS, required=True)
    args, rest = ap.parse_known_args()
    if args.part == "webhook":
        from bench import fhir_webhook

        fhir_webhook.main(rest)


if __name__ == "__main__":
    main()
