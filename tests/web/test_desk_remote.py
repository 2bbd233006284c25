"""The desk page with a remote register (issue 19, point 5): a person only the remote knows
matches; with the remote down the page answers from the snapshot and says so in both
languages. Over the real app, database and fake register server."""

from __future__ import annotations

from pathlib import Path

from tests.registry.register_fakes import fake_register
from tests.web.conftest import Web, today_session
from tiemchung.core import Platform
from tiemchung.gateways.register_http import HttpRegister

# Lê Thị Hoa of the fake register (tests/registry/register_fakes.py), unknown to the snapshot
HOA_QR = "079190000111||Lê Thị Hoa|06051990|Nữ|Thôn 2, Hà Nội|01062021"


def _desk(web: Web, platform: Platform, url: str) -> Web:
    platform.__dict__["register_remote"] = HttpRegister(url, retries=0)  # the cached client
    today_session(platform, "S-A1", "PFIZER")
    web.sign_in("site_a1")
    return web


def test_a_person_only_the_remote_knows_matches_at_the_desk(
    web: Web, platform: Platform, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server:
        desk = _desk(web, platform, server.url)
        r = desk.htmx("/desk/check", {"scan": HOA_QR})
    assert r.status_code == 200
    assert "Khớp với sổ dân cư" in r.text and "Lê Thị Hoa" in r.text
    assert "bản sao tại chỗ" not in r.text


def test_the_remote_down_answers_from_the_snapshot_with_a_note(
    web: Web, platform: Platform, tmp_path: Path
) -> None:
    with fake_register(tmp_path) as server:
        url = server.url
    desk = _desk(web, platform, url)
    r = desk.htmx("/desk/check", {"scan": HOA_QR})
    assert r.status_code == 200
    assert "Không tìm thấy trong sổ dân cư" in r.text
    assert 'class="note" role="status"' in r.text
    assert "Không liên lạc được Sổ dân cư, đã đối chiếu với bản sao tại chỗ" in r.text
