"""What a partner client may read: SMART v1 ``system/`` scopes per FHIR resource, and the
platform's own scopes for the change feed and webhooks (issue 19 point 4).

A scope names one resource and one access (``system/Immunization.read``) or every resource
(``system/*.read``). The FHIR Bulk Data Access IG defines no scope of its own for
``$export``: an export needs the ``read`` scope of each resource type it writes, so the
export route asks for those (``require_scope("system/Patient.read", "system/Immunization.read")``).
A staff member's token carries no scopes: its role and area decide, as everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from tiemchung.registry.errors import RULE_VIOLATED, FieldProblem, ServiceError

#: The FHIR resources a client may be granted to read, one scope each.
RESOURCES = (
    "Patient",
    "Immunization",
    "ImmunizationRecommendation",
    "Location",
    "Organization",
)
CHANGES_READ = "changes.read"
WEBHOOKS_MANAGE = "webhooks.manage"
ALL_READ = "system/*.read"
#: Every scope a client may hold, as ``/.well-known/smart-configuration`` lists them.
SCOPES: tuple[str, ...] = (
    *(f"system/{r}.read" for r in RESOURCES),
    ALL_READ,
    CHANGES_READ,
    WEBHOOKS_MANAGE,
)


def read_scope(resource: str) -> str:
    """The scope that reads ``resource`` (``Patient`` → ``system/Patient.read``)."""
    return f"system/{resource}.read"


def covers(granted: Iterable[str], needed: str) -> bool:
    """Whether the ``granted`` scopes allow ``needed``: itself, or ``system/*.read`` for any
    resource's read."""
    held = set(granted)
    if needed in held:
        return True
    return needed.startswith("system/") and needed.endswith(".read") and ALL_READ in held


def missing(granted: Iterable[str], needed: Iterable[str]) -> list[str]:
    """The scopes of ``needed`` that ``granted`` does not cover, in order."""
    held = list(granted)
    return [s for s in needed if not covers(held, s)]


def parse(text: str | Iterable[str], field: str = "scopes") -> list[str]:
    """Scopes from a space- or comma-separated text (or a list), each checked against
    :data:`SCOPES`; duplicates dropped, order kept. Raises a 422 naming every unknown one."""
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    unknown = [s for s in items if s not in SCOPES]
    if unknown:
        raise ServiceError(
            422,
            RULE_VIOLATED,
            [
                FieldProblem(
                    field,
                    "unknown_scope",
                    f"Phạm vi không hợp lệ: {', '.join(unknown)} (hợp lệ: {' '.join(SCOPES)})",
                    f"unknown scope(s): {', '.join(unknown)} (known: {' '.join(SCOPES)})",
                )
            ],
        )
    if not items:
        raise ServiceError(
            422,
            RULE_VIOLATED,
            [FieldProblem(field, "required", "Cần ít nhất một phạm vi", "at least one scope")],
        )
    return list(dict.fromkeys(items))


def scope_refused(needed: list[str]) -> ServiceError:
    """The 403 for a client token without the scopes a route needs, naming them."""
    names = " ".join(needed)
    return ServiceError(
        403,
        "Forbidden / Không có quyền",
        [
            FieldProblem(
                "scope",
                "missing_scope",
                f"Token của ứng dụng thiếu phạm vi {names}",
                f"the client's token lacks the scope {names}",
            )
        ],
    )
