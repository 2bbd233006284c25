"""The log's masking reaches exceptions, its JSON lines carry the request id, and an engine's
errors never carry a statement's parameters."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tiemchung.logmask import JsonFormatter, MaskingFilter, install, request_id
from tiemchung.serving.requestid import incoming_id
from tiemchung.store.db import make_engine


def emit(logger: logging.Logger, fn: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        fn()  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_exceptions_are_masked_and_lines_carry_the_request_id() -> None:
    logger = logging.getLogger("tests.logs")
    logger.propagate = False

    def fail() -> None:
        token = request_id.set("req-42")
        try:
            raise ValueError("no person 001085123456 phone 0912000001")
        except ValueError:
            logger.exception("lookup of %s failed", "079190000222")
        finally:
            request_id.reset(token)

    out = emit(logger, fail)
    line = json.loads(out)
    assert line["request_id"] == "req-42" and line["level"] == "ERROR"
    assert line["msg"] == "lookup of 079******22 failed"
    assert "ValueError: no person 001******56 phone 091******01" in line["exc"]
    for secret in ("001085123456", "0912000001", "079190000222"):
        assert secret not in out
    outside = json.loads(emit(logger, lambda: logger.warning("idle")))
    assert outside["request_id"] == "-"


def test_install_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        install("INFO", "json")
        install("WARNING", "text")
        ours = [h for h in root.handlers if getattr(h, "tiemchung", False)]
        assert len(ours) == 1 and root.level == logging.WARNING
        assert sum(isinstance(f, MaskingFilter) for f in ours[0].filters) == 1
    finally:  # the rest of the run keeps pytest's logging as it was
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
        root.setLevel(level)
        for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
            logger = logging.getLogger(name)
            for target in [logger, *logger.handlers]:
                for f in [f for f in target.filters if isinstance(f, MaskingFilter)]:
                    target.removeFilter(f)


def test_engine_errors_hide_parameters(tmp_path: pytest.TempPathFactory) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("SELECT * FROM persons WHERE name = :n"), {"n": "Nguyễn Văn An"})
    assert "Nguyễn Văn An" not in str(caught.value)
    assert "SQL parameters hidden" in str(caught.value)
    engine.dispose()


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("abc-123_x.y:z", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("bad id", False),
        ("x\r\nInjected: 1", False),
        ("", False),
    ],
)
def test_a_request_id_is_kept_only_when_well_formed(header: str, kept: bool) -> None:
    got = incoming_id({"headers": [(b"x-request-id", header.encode())]})
    assert (got == header) is kept
    assert 1 <= len(got) <= 128 and "\n" not in got and " " not in got
