"""Synthetic population and vaccination data with ground truth (``tiemchung synth``).

>>> from tiemchung.synth import generate
>>> summary = generate(20_000, seed=1, out="/tmp/synth")  # doctest: +SKIP

writes ``register``, ``records``, ``truth``, ``sites``, ``products``, ``sessions`` and
``tallies`` (Parquet, CSV or xlsx) and optionally ``legacy/`` spreadsheets. See docs/synth.md.
"""

from .generate import RECORD_COLUMNS, REGISTER_COLUMNS, TRUTH_COLUMNS, generate
from .profile import ProfileError, default_profile, load_profile
from .truth import derive_fields, derive_incomplete_fields, derive_wrong_fields

__all__ = [
    "RECORD_COLUMNS",
    "REGISTER_COLUMNS",
    "TRUTH_COLUMNS",
    "ProfileError",
    "default_profile",
    "derive_fields",
    "derive_incomplete_fields",
    "derive_wrong_fields",
    "generate",
    "load_profile",
]
