"""Problem documents carry each language apart as well as the joined line clients read."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tiemchung.api.app import create_api
from tiemchung.api.problems import validation_errors
from tiemchung.registry.errors import FieldProblem, Message, role_not_allowed, rule_error


def test_a_message_is_said_in_either_language_or_both() -> None:
    m = Message("Cần nêu lý do", "a reason is required / mandatory")
    assert m.joined() == "Cần nêu lý do / a reason is required / mandatory"
    assert (m.in_lang("vi"), m.in_lang("en"), m.in_lang("fr")) == (m.vi, m.en, m.vi)
    assert FieldProblem("reason", "reason_required", m.vi, m.en).message == m


def test_service_errors_keep_the_joined_line_and_add_each_language() -> None:
    # an English half with " / " in it: splitting the joined line would cut it wrongly
    exc = rule_error("lot", "lot_unknown", "Không có lô này", "no such lot / batch")
    body = exc.as_problem("/api/v1/doses")
    assert body["detail"] == "Không có lô này / no such lot / batch"
    assert body["errors"] == [
        {
            "field": "lot",
            "rule": "lot_unknown",
            "message": "Không có lô này / no such lot / batch",
            "message_vi": "Không có lô này",
            "message_en": "no such lot / batch",
        }
    ]


def test_the_role_body_is_one_shape_for_every_caller() -> None:
    exc = role_not_allowed("Trạm tiêm không xem phản ánh", "site users do not see tickets")
    assert (exc.status, exc.title) == (403, "Forbidden / Không có quyền")
    assert [(p.field, p.rule, p.message_en) for p in exc.problems] == [
        ("role", "role_not_allowed", "site users do not see tickets")
    ]


def test_validation_errors_are_worded_in_both_languages() -> None:
    items = validation_errors(
        [
            {"type": "missing", "loc": ("body", "dose_date"), "msg": "Field required"},
            {"type": "less_than_equal", "loc": ("query", "limit"), "msg": "x", "ctx": {"le": 9}},
            {"type": "string_too_long", "loc": ("body", "note"), "msg": "String too long"},
        ]
    )
    assert [(i["field"], i["message_vi"], i["message_en"]) for i in items] == [
        ("dose_date", "Thiếu trường bắt buộc", "required field missing"),
        ("limit", "Giá trị tối đa là 9", "the value is at most 9"),
        ("note", "String too long", "String too long"),  # pydantic's words: not translated
    ]
    assert [i["message"] for i in items] == [
        "Thiếu trường bắt buộc / required field missing",
        "Giá trị tối đa là 9 / the value is at most 9",
        "String too long",  # as it always was: said once
    ]


def test_the_openapi_documents_the_structured_fields() -> None:
    spec = create_api().openapi()
    item = spec["components"]["schemas"]["ProblemItem"]
    assert {"message", "message_vi", "message_en"} <= set(item["required"])
    example = spec["components"]["schemas"]["Problem"]["examples"][0]["errors"][0]
    assert example["message"] == f"{example['message_vi']} / {example['message_en']}"


def test_the_api_alone_answers_problems_without_the_pages() -> None:
    with TestClient(create_api()) as client:
        r = client.get("/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_one_problem_body_for_an_api_error_and_a_bulk_items_failure() -> None:
    """review.decisions.bulk_accept once built its items' problems itself; the body it now takes
    from ServiceError.as_problem is, key for key and in order, the one it wrote."""
    exc = rule_error("item", "already_decided", "Mục đã được quyết định", "already decided")
    errors = [p.as_dict() for p in exc.problems]
    before = {
        "type": "urn:tiemchung:problem:already_decided",
        "title": exc.title,
        "status": exc.status,
        "detail": "Mục đã được quyết định / already decided",
        "errors": errors,
    }
    assert json.dumps(exc.as_problem(), ensure_ascii=False) == json.dumps(
        before, ensure_ascii=False
    )
    with_instance = exc.as_problem("/api/v1/worklist/7:accept")
    assert list(with_instance) == ["type", "title", "status", "detail", "instance", "errors"]
