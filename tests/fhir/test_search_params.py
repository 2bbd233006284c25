"""The FHIR search parameters read into the services' filters (no database): the date
prefixes' ranges, and the refusals that name their parameter."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tiemchung.fhir.search import _dates, _updated
from tiemchung.registry.errors import ServiceError


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["ge2021-10-01"], (date(2021, 10, 1), None)),
        (["gt2021-10-01"], (date(2021, 10, 2), None)),
        (["le2021-10-31"], (None, date(2021, 10, 31))),
        (["lt2021-11-01"], (None, date(2021, 10, 31))),
        (["2021-10-05"], (date(2021, 10, 5), date(2021, 10, 5))),
        (["eq2021-10-05"], (date(2021, 10, 5), date(2021, 10, 5))),
        (["ge2021-10-01", "lt2021-11-01"], (date(2021, 10, 1), date(2021, 10, 31))),
        (["ge2021-10-01", "ge2021-10-10"], (date(2021, 10, 10), None)),
        ([], (None, None)),
    ],
)
def test_date_prefixes(values: list[str], expected: tuple[date | None, date | None]) -> None:
    assert _dates(values) == expected


@pytest.mark.parametrize("value", ["sa2021-10-01", "ge2021-10", "ge01/10/2021", "gex"])
def test_bad_dates_are_400_naming_date(value: str) -> None:
    with pytest.raises(ServiceError) as caught:
        _dates([value])
    assert caught.value.status == 400
    assert caught.value.problems[0].field == "date"


def test_last_updated() -> None:
    assert _updated("gt2021-10-01T07:00:00+07:00") == datetime(2021, 10, 1, tzinfo=UTC)
    assert _updated("gt2021-10-01T00:00:00Z") == datetime(2021, 10, 1, tzinfo=UTC)
    assert _updated("gt2021-10-01") == datetime(2021, 10, 1, tzinfo=UTC)
    for bad in ("ge2021-10-01", "gtnever"):
        with pytest.raises(ServiceError) as caught:
            _updated(bad)
        assert caught.value.problems[0].field == "_lastUpdated"
