"""Service errors: each names the field and the rule broken, in Vietnamese and English.

The API turns them into RFC 9457 problem documents; the CLI prints them; the pages show the
words in the visitor's language. The two languages travel apart (:class:`Message`, and
``message_vi``/``message_en`` in a problem document's ``errors[]``), so nobody has to split a
joined ``"vi / en"`` string again — an English half containing " / " cut it in the wrong place.
The joined ``message`` stays in the API's answers for the clients that read it. Nothing
half-written survives an error: services raise before committing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """Words for a person, in Vietnamese and English."""

    vi: str
    en: str

    def joined(self) -> str:
        """Both languages in one line, Vietnamese first: the API's ``message``/``detail``."""
        return f"{self.vi} / {self.en}"

    def in_lang(self, lang: str) -> str:
        """The words in ``lang`` (English when asked for, Vietnamese otherwise)."""
        return self.en if lang == "en" else self.vi


@dataclass
class FieldProblem:
    field: str
    rule: str
    message_vi: str
    message_en: str

    @property
    def message(self) -> Message:
        return Message(self.message_vi, self.message_en)

    def as_dict(self) -> dict[str, str]:
        """The problem as one item of a problem document's ``errors[]``."""
        return {
            "field": self.field,
            "rule": self.rule,
            "message": self.message.joined(),
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


def _both(p: FieldProblem) -> str:
    return p.message_en if p.message_vi == p.message_en else f"{p.message_vi} / {p.message_en}"


@dataclass
class ServiceError(Exception):
    """A request the registry refuses. ``status`` is the HTTP status the API answers with."""

    status: int
    title: str
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        """Both languages, as the CLI prints it and a rejects file keeps it: an operator reads
        Vietnamese first, a log reader the English beside it (as ``IdentityError`` does)."""
        parts = [f"{p.field}: {_both(p)} ({p.rule})" for p in self.problems]
        return f"{self.title}: " + "; ".join(parts) if parts else self.title

    def as_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The error as an RFC 9457 problem document: the API's error answers and each failed
        item of a bulk answer (review.decisions.bulk_accept) are this one body."""
        errors = [p.as_dict() for p in self.problems]
        detail = "; ".join(e["message"] for e in errors) or None
        return problem_body(
            self.status, self.title, detail=detail, instance=instance, errors=errors
        )


def problem_body(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A problem document (``type`` named after the first rule broken, else the status); here,
    below the API, so that a service answering many items at once words each failure as the
    API words one."""
    rule = errors[0]["rule"] if errors else str(status)
    body: dict[str, Any] = {
        "type": f"urn:tiemchung:problem:{rule}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


#: the title of every rule violation (:func:`rule_error`, and a form's several at once)
RULE_VIOLATED = "Rule violated / Vi phạm quy tắc"


def rule_error(field_: str, rule: str, vi: str, en: str, *, status: int = 422) -> ServiceError:
    """A single-field rule violation (422 unless the rule says otherwise)."""
    return ServiceError(status, RULE_VIOLATED, [FieldProblem(field_, rule, vi, en)])


def role_not_allowed(vi: str, en: str, *, rule: str = "role_not_allowed") -> ServiceError:
    """The 403 for a caller whose role may not do this (the ``role`` field, rule
    ``role_not_allowed``): one body for the API's ``require_roles`` and every service.
    ``rule`` is only for the statistics, whose answers have long named the rule ``role``."""
    return ServiceError(403, "Forbidden / Không có quyền", [FieldProblem("role", rule, vi, en)])


def forbidden(field_: str, vi: str, en: str) -> ServiceError:
    return ServiceError(
        403, "Outside your area / Ngoài phạm vi", [FieldProblem(field_, "out_of_area", vi, en)]
    )


def not_found(field_: str, what_vi: str, what_en: str) -> ServiceError:
    return ServiceError(
        404,
        "Not found / Không tìm thấy",
        [FieldProblem(field_, "not_found", f"Không tìm thấy {what_vi}", f"{what_en} not found")],
    )


def future_dose_date() -> ServiceError:
    """A dose date after Vietnam's today: the one rule and its words, for the dose path
    (registry/doses/record.py) and the desk's form (web/desk.py), which must not call a well-typed
    future date a format error."""
    return rule_error(
        "dose_date", "future_date", "Ngày tiêm ở tương lai", "the dose date is in the future"
    )
