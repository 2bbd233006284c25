"""`tiemchung aefi list|summary` over the seeded test world (both backends): the reports a
site recorded through the service, listed and counted with the cluster flag; a bad date
exits 2 with words in both languages."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from tests.factories import resolve_scope, submission, world
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.aefi import reports
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.scope import Actor, Role

runner = CliRunner()
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def _seed(settings: Settings) -> None:
    """Three Pfizer doses (lot PF-OK) at site a1 on 1 October 2021, each with a report:
    serious on the 2nd and 4th (hospitalisation), non-serious on the 3rd. Two serious in 3
    doses is far above 10 per 10,000 → PF-OK is flagged by its rate (not a burst: two < 3)."""
    today = date(2021, 10, 20)
    with Platform(settings) as platform, platform.sessions() as s:
        subs = [
            submission(None, site_id=world().sites["a1"], dose_date=date(2021, 10, 1))
            for _ in range(3)
        ]
        results = record_doses(s, platform.catalog, SITE_A1, subs, today=today)
        for day, r in zip((2, 3, 4), results, strict=True):
            assert r.dose is not None
            serious = day != 3
            data = reports.AefiInput(
                onset_at=datetime(2021, 10, day, 8, 0, tzinfo=TZ),
                symptoms=["anaphylaxis"] if serious else ["fever"],
                reporter_name="Lê Văn Báo",
                outcome="recovering",
                seriousness=["hospitalisation"] if serious else [],
            )
            reports.record_report(s, SITE_A1, int(r.dose["id"]), data, today=today, tz=TZ)
        s.commit()


def test_summary_and_list_show_the_flagged_lot(env: Settings, tmp_path: Path) -> None:
    _seed(env)
    out = _run("aefi", "summary")
    assert out.splitlines() == [
        "place\tproduct\tlot\treports\tserious\tdeaths\tflag",
        "-\tPFIZER\tPF-OK\t3\t2\t0\trate",
    ]
    # by site, from the 3rd on: two reports (one serious)
    out = _run("aefi", "summary", "--by", "site", "--from", "2021-10-03")
    assert out.splitlines()[1] == f"{world().sites['a1']}\tPFIZER\tPF-OK\t2\t1\t0\trate"
    # a rule that asks 10,000 per 10,000 (every dose) does not flag 2 in 3
    out = _run("aefi", "summary", "--per-10k", "10000")
    assert out.splitlines()[1] == "-\tPFIZER\tPF-OK\t3\t2\t0"
    lines = _run("aefi", "list", "--serious").splitlines()
    assert len(lines) == 2 and all(line.endswith("FLAG:rate") for line in lines)
    assert lines[0].split("\t")[1] == "2021-10-04 08:00"  # newest first, Vietnam's time
    path = tmp_path / "aefi.csv"
    _run("aefi", "list", "--non-serious", "--out", str(path))
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "Mã báo cáo / Report id" and len(rows) == 2
    assert rows[1][7] == "fever" and rows[1][8] == "False"


def test_a_bad_date_is_named(env: Settings) -> None:
    out = _run("aefi", "list", "--from", "01/10/2021", code=2)
    assert "--from" in out and "not a date" in out and "ngày không hợp lệ" in out
    out = _run("aefi", "summary", "--by", "ward", code=2)
    assert "unknown level 'ward'" in out


@pytest.mark.parametrize(
    ("args", "vi", "en"),
    [
        (("aefi", "--help"), "Phản ứng sau tiêm", "Adverse events following immunisation"),
        (("aefi", "list", "--help"), "Danh sách phản ứng sau tiêm", "Reports, newest first"),
        (("aefi", "summary", "--help"), "Số ca theo vắc xin và lô", "Counts by product and lot"),
    ],
)
def test_help_is_in_both_languages(args: tuple[str, ...], vi: str, en: str) -> None:
    text = " ".join(_run(*args).split())  # rich wraps the lines
    assert vi in text and en in text


def test_the_installation_sets_the_rule(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """TIEMCHUNG_AEFI_PER_10K=10000 asks a serious report for every dose: 2 serious in 3 doses
    (20,000 < 30,000) no longer flags PF-OK; the option puts the rate back to 10."""
    _seed(env)
    monkeypatch.setenv("TIEMCHUNG_AEFI_PER_10K", "10000")
    get_settings.cache_clear()
    assert _run("aefi", "summary").splitlines()[1] == "-\tPFIZER\tPF-OK\t3\t2\t0"
    assert not any("FLAG" in line for line in _run("aefi", "list").splitlines())
    out = _run("aefi", "summary", "--per-10k", "10")
    assert out.splitlines()[1] == "-\tPFIZER\tPF-OK\t3\t2\t0\trate"
