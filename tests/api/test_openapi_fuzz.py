"""schemathesis over the whole OpenAPI, as a central user and as a site user: no server
error, no answer outside the document (status, media type, body schema) — issue 14.

Bounded for the suite (``TIEMCHUNG_FUZZ_EXAMPLES`` cases per operation, user and mode, 25 by
default: about 3,000 requests, a minute or two); ``bench/api_fuzz.py`` runs more, on both
backends, and writes bench/results/api_fuzz.json. ``TIEMCHUNG_FUZZ_ONLY=doses,worklist``
narrows it to the operations whose label contains one of the words; ``TIEMCHUNG_FUZZ_USERS``
names other users of tests/factories.py (``prov_a,ward_a1,citizen_an``).
"""

from __future__ import annotations

import os

import pytest

from tests.api.openapi_fuzz import run_on
from tiemchung.core import Platform

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_whole_openapi_conforms(platform: Platform) -> None:
    examples = int(os.environ.get("TIEMCHUNG_FUZZ_EXAMPLES", "25"))
    only = [x for x in os.environ.get("TIEMCHUNG_FUZZ_ONLY", "").split(",") if x]
    users = os.environ.get("TIEMCHUNG_FUZZ_USERS", "central,site_a1").split(",")
    report = run_on(platform, users, max_examples=examples, only=only)
    assert report.operations >= (1 if only else 30)  # the document was read whole
    assert report.requests >= report.operations
    assert not report.findings, report.summary()
