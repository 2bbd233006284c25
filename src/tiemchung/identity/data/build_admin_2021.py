"""Build ``admin_units_2021.csv.gz``: the three-level units in force before 1 July 2025.

Run at development time only (nothing imports this module)::

    pip download --no-deps vietnam-provinces==0.4.3 -d /tmp/vp   # GSO list of 2021-02-03
    pip download --no-deps vietnam-provinces==0.5.0 -d /tmp/vp   # GSO list of 2023-05-07
    pip download --no-deps vietnam-provinces==0.6.0 -d /tmp/vp   # GSO list of 2025-01-04
    (cd /tmp/vp && for w in *.whl; do unzip -o -q "$w" -d "${w%%-py3*}"; done)
    python src/tiemchung/identity/data/build_admin_2021.py \\
        /tmp/vp/vietnam_provinces-0.4.3/vietnam_provinces/data/nested-divisions.json \\
        /tmp/vp/vietnam_provinces-0.5.0/vietnam_provinces/data/nested-divisions.json \\
        /tmp/vp/vietnam_provinces-0.6.0/vietnam_provinces/data/nested-divisions.json

Snapshots are given oldest first. Every code that appears in any snapshot becomes one row;
its name, parent and province are those of the newest snapshot that has it, earlier different
names go to ``former_names`` (``|``-separated), and a code missing from the newest snapshot
(a unit merged away between 2021 and 2025) is marked ``retired=1``.

Columns: ``level,code,name,parent_code,province_code,retired,former_names``; codes are GSO codes
zero-padded to 2 (province), 3 (district) and 5 (ward) digits.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("admin_units_2021.csv.gz")
WIDTH = {"province": 2, "district": 3, "ward": 5}


def _rows(path: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(level, code) -> (name, parent_code, province_code) for one snapshot."""
    out: dict[tuple[str, str], tuple[str, str, str]] = {}
    for p in json.loads(Path(path).read_text(encoding="utf-8")):
        pc = f"{p['code']:02d}"
        out[("province", pc)] = (p["name"], "", pc)
        for d in p["districts"]:
            dc = f"{d['code']:03d}"
            out[("district", dc)] = (d["name"], pc, pc)
            for w in d["wards"]:
                out[("ward", f"{w['code']:05d}")] = (w["name"], dc, pc)
    return out


def build(paths: list[str]) -> bytes:
    snaps = [_rows(p) for p in paths]
    newest = snaps[-1]
    keys = sorted({k for s in snaps for k in s},
                  key=lambda k: (("province", "district", "ward").index(k[0]), k[1]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["level", "code", "name", "parent_code", "province_code", "retired",
                "former_names"])
    for key in keys:
        latest = next(s[key] for s in reversed(snaps) if key in s)
        former: list[str] = []
        for s in snaps:
            if key in s and s[key][0] != latest[0] and s[key][0] not in former:
                former.append(s[key][0])
        w.writerow([key[0], key[1], latest[0], latest[1], latest[2],
                    0 if key in newest else 1, "|".join(former)])
    return gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


if __name__ == "__main__":
    OUT.write_bytes(build(sys.argv[1:]))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
