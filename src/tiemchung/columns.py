"""The canonical column names every file of the platform speaks.

The register import, the backlog import, the synthetic generator and reconciliation all read
or write these; other names reach them only through a mapping file (legacy files have
Vietnamese headers). One definition, so the contract cannot drift between them.
"""

from __future__ import annotations

from typing import Final

REGISTER_COLUMNS: Final = (
    "person_id",
    "national_id",
    "old_id",
    "full_name",
    "dob",
    "sex",
    "ward_code",
    "address",
    "phone",
)
RECORD_COLUMNS: Final = (
    "record_id",
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "address",
    "vaccine",
    "dose_number",
    "dose_date",
    "site_id",
)
TRUTH_COLUMNS: Final = ("record_id", "person_id", "duplicate_of", "wrong_fields")
#: The identity fields whose disagreement with the register is a substantive error.
IDENTITY_FIELDS: Final = ("national_id", "full_name", "dob", "sex", "ward_code")
