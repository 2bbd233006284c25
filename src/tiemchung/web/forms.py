"""What the catalogue's forms (sites, lots, products) read from text before a service sees it.

A browser sends every field as text; the services take dates and counts. What cannot be read
here is refused with the same :class:`~tiemchung.registry.errors.ServiceError` a service
raises (a field, a rule, words in both languages), so the page shows both kinds of refusal
in one place and one way. The rules themselves (an expired lot, a quantity out of range) stay
in the services: this only turns text into values.
"""

from __future__ import annotations

from datetime import date

from tiemchung.registry.errors import rule_error


def iso_day(text: str, field_: str, label_vi: str, label_en: str) -> date:
    """A day as a date input sends it (YYYY-MM-DD), or the refusal naming the field."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise rule_error(
            field_,
            "invalid_date",
            f"{label_vi} '{text}' không phải là ngày (năm-tháng-ngày)",
            f"the {label_en} '{text}' is not a date (year-month-day)",
        ) from None


def count(text: str, field_: str, label_vi: str, label_en: str) -> int:
    """A whole number of doses, or the refusal naming the field (the range is the
    service's rule: :func:`tiemchung.registry.catalog.stock.check_quantity`)."""
    cleaned = text.strip()
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise rule_error(
            field_,
            "invalid_number",
            f"{label_vi} '{text}' phải là một số nguyên dương",
            f"the {label_en} '{text}' must be a whole number",
        )
    return int(cleaned)
