"""One synthetic vaccination DCC the certificate tests sign, verify and print (no real
person: the name and identifiers are made up)."""

from __future__ import annotations

import copy
from typing import Any

DCC: dict[str, Any] = {
    "ver": "1.3.3",
    "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"},
    "dob": "1985-04-12",
    "v": [
        {
            "tg": "840539006",
            "vp": "1119349007",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 2,
            "sd": 2,
            "dt": "2021-10-22",
            "co": "VN",
            "is": "Bộ Y tế Việt Nam / Ministry of Health of Viet Nam",
            "ci": "URN:UVCI:01:VN:0123456789ABCDEFGHJKMNPQRS#M",
        }
    ],
}


def sample_dcc(**changes: Any) -> dict[str, Any]:
    """A fresh copy of :data:`DCC` with top-level fields replaced."""
    return copy.deepcopy(DCC) | changes
