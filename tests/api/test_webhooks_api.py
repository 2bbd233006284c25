"""`/api/v1/webhooks` through the real app (both backends): add (the secret once), list,
read, pause, resume, the dead letters and their replay; who may (central, the client's own
province; not another province, not a site); bad input as problems in both languages."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.conftest import Api
from tests.factories import PROVINCE_A, PROVINCE_B
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.registry.tables.webhooks import WebhookDeadLetter


def _clients(platform: Platform) -> None:
    with platform.sessions() as s:
        s.add(
            ApiClient(
                client_id="app_a",
                name="A",
                secret_hash="x",
                scopes=[],
                role="province",
                province_code=PROVINCE_A,
            )
        )
        s.add(
            ApiClient(
                client_id="app_b",
                name="B",
                secret_hash="x",
                scopes=[],
                role="province",
                province_code=PROVINCE_B,
            )
        )
        s.commit()


def test_add_list_pause_resume(api: Api, platform: Platform) -> None:
    _clients(platform)
    body = {"client_id": "app_a", "url": "https://a.example.vn/hook", "resources": ["Patient"]}
    r = api.post("/webhooks", "prov_a", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    secret, sub = created["secret"], created["subscription"]
    assert secret.startswith("whsec_") and sub["resources"] == ["Patient"]
    assert sub["status"] == "active" and sub["cursor"] == 0
    listed = api.get("/webhooks", "central")
    assert listed.status_code == 200 and secret not in listed.text
    assert [x["client_id"] for x in listed.json()["items"]] == ["app_a"]
    assert api.get("/webhooks", "prov_b").json()["items"] == []
    assert api.get(f"/webhooks/{sub['id']}", "prov_b").status_code == 404
    got = api.get(f"/webhooks/{sub['id']}", "prov_a")
    assert got.status_code == 200 and secret not in got.text
    r = api.post(f"/webhooks/{sub['id']}:pause", "prov_a", json={"reason": "bảo trì"})
    assert r.status_code == 200 and r.json()["status"] == "paused"
    assert r.json()["paused_reason"] == "bảo trì"
    r = api.post(f"/webhooks/{sub['id']}:resume", "central")
    assert r.status_code == 200 and r.json()["status"] == "active"
    with platform.sessions() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("webhook.%"))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["webhook.create", "webhook.pause", "webhook.resume"]


def test_who_may_and_bad_input(api: Api, platform: Platform) -> None:
    _clients(platform)
    ok = {"client_id": "app_b", "url": "https://b.example.vn/hook"}
    assert api.post("/webhooks", "prov_a", json=ok).status_code == 404
    r = api.post("/webhooks", "site_a1", json=ok)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = api.post("/webhooks", "central", json={**ok, "url": "b.example.vn"})
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "url" and "không hợp lệ" in err["message_vi"]
    assert "not valid" in err["message_en"]
    r = api.post("/webhooks", "central", json={**ok, "resources": ["Observation"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resources"
    r = api.post("/webhooks", "central", json={**ok, "from_seq": -1})
    assert r.status_code == 422 and "from_seq" in r.text
    assert api.get("/webhooks", None).status_code == 401


def test_dead_letters_and_replay(api: Api, platform: Platform) -> None:
    _clients(platform)
    sub = api.post(
        "/webhooks", "central", json={"client_id": "app_a", "url": "https://a.example.vn/h"}
    ).json()
    with platform.sessions() as s:
        s.add(
            WebhookDeadLetter(
                subscription_id=sub["subscription"]["id"],
                first_seq=3,
                last_seq=4,
                events=[{"seq": 3}, {"seq": 4}],
                attempts=8,
                last_error="HTTP 500",
            )
        )
        s.commit()
    items = api.get("/webhooks/dead-letters", "prov_a").json()["items"]
    assert [(d["first_seq"], d["last_seq"], d["count"], d["status"]) for d in items] == [
        (3, 4, 2, "dead")
    ]
    assert api.get("/webhooks/dead-letters", "prov_b").json()["items"] == []
    assert api.post(f"/webhooks/dead-letters/{items[0]['id']}:replay", "prov_b").status_code == 404
    r = api.post(f"/webhooks/dead-letters/{items[0]['id']}:replay", "prov_a")
    assert r.status_code == 200 and r.json()["status"] == "replay"
    r = api.get("/webhooks/dead-letters", "central", params={"status": "replay"})
    assert [d["id"] for d in r.json()["items"]] == [items[0]["id"]]
    assert (
        api.get("/webhooks/dead-letters", "central", params={"status": "lost"}).status_code == 422
    )
