"""SMS templates (registry/messages/templates): the rules of a body, who edits, the audit,
the budget against hand-counted examples, and an edited template reaching the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.factories import PROVINCE_A, resolve_scope
from tests.registry.invite_world import CENTRAL, TODAY, link, person, plan
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.invitations import send as invite
from tiemchung.registry.invitations.select import Selection
from tiemchung.registry.invitations.texts import cancelled_text, invitation_text, reminder_text
from tiemchung.registry.messages import templates as svc
from tiemchung.registry.messages.sender import Claimed, SenderConfig, claim, outgoing
from tiemchung.registry.models import AuditEvent
from tiemchung.registry.people.registration import selfreg
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.messages import OutboxMessage

PROVINCE = Actor(None, "prov_a", Role.PROVINCE, **resolve_scope({"province_code": PROVINCE_A}))  # type: ignore[arg-type]
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
OTP_FORM = {  # as tests/registry/test_selfreg.py's form (an invented person)
    "national_id": "001085123456",
    "full_name": "Nguyễn Văn An",
    "dob": "12/04/1985",
    "phone": "0912 000 001",
    "priority_group": "NQ21-09",
    "underlying_condition": "có",
}
LINK = "https://tc.example/i/123456789.0123456789abcdef0123"  # 51 characters


def test_the_built_in_texts_are_todays_words() -> None:
    assert (
        invitation_text(date(2026, 12, 10), "07:30-09:00", "Trạm Y tế a1", "https://x/i/1")
        == "TiemChung: Moi ban tiem vac xin ngay 10/12 07:30-09:00 tai Tram Y te a1. "
        "Tra loi: https://x/i/1"
    )
    assert cancelled_text(date(2026, 1, 5), "Trạm  Đông") == (
        "TiemChung: Buoi tiem ngay 05/01 tai Tram Dong da huy. Xin loi ban."
    )
    assert reminder_text(2, "PFIZER", date(2027, 3, 4)) == (
        "TiemChung: Ban den lich tiem mui 2 vac xin PFIZER tu ngay 04/03/2027. "
        "Lien he tram y te xa/phuong de hen ngay tiem."
    )


def test_a_long_site_name_is_cut_and_the_link_kept_whole() -> None:
    site = "Bệnh viện Đa khoa " + "X" * 120
    text = invitation_text(date(2026, 12, 10), "07:30-09:00", site, LINK)
    assert len(text) == 160 and text.endswith(". Tra loi: " + LINK)
    assert "tai Benh vien Da khoa XXX" in text


def test_a_body_naming_an_unknown_value_or_lacking_the_link_is_refused_by_name() -> None:
    with pytest.raises(ServiceError) as e:
        svc.check_body("invitation", "Moi ban ngay {day} tai {place}")
    rules = {p.rule: p for p in e.value.problems}
    assert set(rules) == {"unknown_placeholder", "missing_placeholder"}
    assert "{place}" in rules["unknown_placeholder"].message_en
    assert "{place}" in rules["unknown_placeholder"].message_vi
    assert "{link}" in rules["missing_placeholder"].message_en
    with pytest.raises(ServiceError) as e:
        svc.check_body("otp", "Ma cua ban")
    assert "{code}" in e.value.problems[0].message_vi
    # {link} belongs to invitations, not to reminders
    with pytest.raises(ServiceError):
        svc.check_body("reminder", "Mui {dose} {link}")
    with pytest.raises(ServiceError) as e:
        svc.check_body("nothing", "x")
    assert e.value.status == 404


def test_the_centre_edits_and_resets_audited_a_province_only_reads(platform: Platform) -> None:
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as e:
            svc.update_template(s, PROVINCE, "cancelled", "Huy buoi {day}")
        assert e.value.status == 403
        listed = svc.list_templates(s, PROVINCE)
        assert [t.key for t in listed] == ["invitation", "moved_up", "cancelled", "reminder", "otp"]
        assert all(t.is_default for t in listed)
        saved = svc.update_template(s, CENTRAL, "cancelled", "  Huy buoi {day} tai {site}  ")
        s.commit()
        assert saved.body == "Huy buoi {day} tai {site}" and not saved.is_default
        got = svc.get_template(s, PROVINCE, "cancelled")
        assert got.body == "Huy buoi {day} tai {site}" and got.updated_by == "tests"
        assert cancelled_text(date(2026, 1, 5), "Trạm A", got) == "Huy buoi 05/01 tai Tram A"
        svc.reset_template(s, CENTRAL, "cancelled")
        s.commit()
        assert svc.get_template(s, CENTRAL, "cancelled").is_default
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "sms_template")
        ).all()
        assert list(actions) == ["sms_template.update", "sms_template.reset"]
        with pytest.raises(ServiceError) as e:
            svc.list_templates(s, Actor(None, "s", Role.SITE))
        assert e.value.status == 403


@pytest.mark.parametrize(
    ("body", "keep", "encoding", "chars", "segments", "left"),
    [
        ("a" * 160, False, "gsm7", 160, 1, 0),
        ("a" * 161, False, "gsm7", 161, 2, 145),  # 2 × 153 = 306
        ("ạ" * 70, True, "ucs2", 70, 1, 0),
        ("ạ" * 71, True, "ucs2", 71, 2, 63),  # 2 × 67 = 134
        ("ạ" * 71, False, "gsm7", 71, 1, 89),  # unaccented: "a" × 71
        ("[" * 80, False, "gsm7", 160, 1, 0),  # an extension character is two septets
    ],
)
def test_the_budget_counts_as_by_hand(
    body: str, keep: bool, encoding: str, chars: int, segments: int, left: int
) -> None:
    b = svc.budget_of("cancelled", body, keep_accents=keep, sample_link=LINK)
    assert (b.encoding, b.characters, b.segments, b.left) == (encoding, chars, segments, left)
    assert bool(b.warnings) == (segments > 1 or (keep and encoding == "ucs2"))


def test_the_budget_of_an_invitation_uses_a_40_character_site_and_the_real_link() -> None:
    b = svc.budget_of("invitation", svc.DEFAULTS["invitation"], sample_link=LINK)
    # "TiemChung: Moi ban tiem vac xin ngay 31/12 13:30-16:30 tai " is 59, ". Tra loi: " 11,
    # the link 51: 121 before the site, so 39 of its 40 characters fit: "... Quan " and the
    # space after it goes too, 38 kept
    assert len(svc.SITE_SAMPLE) == 40
    assert b.text.startswith("TiemChung: Moi ban tiem vac xin ngay 31/12 13:30-16:30 tai Tram")
    assert "Binh Quan. Tra loi: " in b.text
    assert (b.characters, b.segments, b.site_cut) == (159, 1, 2)
    assert b.text.endswith(LINK)
    assert any("40" in w.en for w in b.warnings)


def test_an_edited_invitation_is_the_text_queued(platform: Platform) -> None:
    with platform.sessions() as s:
        svc.update_template(s, CENTRAL, "invitation", "Hen tiem {day} luc {slot}: {link}")
        sid = plan(s, [("07:30", "09:00", 1)])
        person(s, "t1", dob="1940-01-01")
        s.commit()
        invite.send_invitations(s, CENTRAL, sid, Selection(), TODAY, link, wait_list=0)
        s.commit()
        msg = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation")).one()
        assert msg.body == f"Hen tiem 10/12 luc 07:30-09:00: https://tc.example/i/{msg.ref_id}"


def test_a_template_keeping_accents_is_sent_with_them() -> None:
    tpl = svc.Template("cancelled", "Buổi tiêm ngày {day} đã hủy", keep_accents=True)
    body = cancelled_text(date(2026, 1, 5), "Trạm", tpl)
    assert body == "Buổi tiêm ngày 05/01 đã hủy"
    out = outgoing(Claimed(1, "m", "0912345678", body, "invitation", 0, True), SenderConfig())
    assert (out.text, out.encoding) == ("Buổi tiêm ngày 05/01 đã hủy", "ucs2")
    # a message that does not say follows the installation's setting (unaccented)
    other = outgoing(Claimed(2, "n", "0912345678", body, "invitation", 0), SenderConfig())
    assert other.text == "Buoi tiem ngay 05/01 da huy"


def test_the_site_cut_counts_an_extension_character_as_two() -> None:
    # 75 "[" are 150 septets, the space 151: 9 left of 160 for "Tram Y te xa" (12)
    tpl = svc.Template("cancelled", "[" * 75 + " {site}", keep_accents=False)
    text, cut = svc.render(tpl, {"site": "Trạm Y tế xã"})
    assert text == "[" * 75 + " Tram Y te" and cut == 3
    b = svc.budget_of("cancelled", "[" * 75 + " {site}", sample_link=LINK)
    assert (b.characters, b.segments, b.left) == (160, 1, 0)


def test_an_edited_code_text_with_accents_is_queued_and_sent_with_them(
    platform: Platform,
) -> None:
    with platform.sessions() as s:
        svc.update_template(s, CENTRAL, "otp", "Mã của bạn: {code}", keep_accents=True)
        load_priority_groups(s)
        started = selfreg.start(s, OTP_FORM, ip="10.0.0.9", secret=b"k", code="424242", now=NOW)
        s.commit()
        msg = s.scalars(
            select(OutboxMessage).where(OutboxMessage.ref_id == str(started.code_id))
        ).one()
        assert (msg.body, msg.keep_accents) == ("Mã của bạn: 424242", True)
        (claimed,) = claim(s, SenderConfig(quiet=None), NOW)
    out = outgoing(claimed, SenderConfig())
    assert (out.text, out.encoding, out.segments) == ("Mã của bạn: 424242", "ucs2", 1)
