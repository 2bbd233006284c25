"""The public look-up: a person finds their own record by ID number and date of birth.

No account is needed, so three things keep it from becoming an enumeration oracle:

* **Throttle**, the sign-in's own :class:`~tiemchung.auth.throttle.SignInThrottle` (one
  implementation for both doors that take a secret), the ID number in the user name's place:
  failures are counted per ID number *and* source (client address), so nobody elsewhere can
  block a citizen's own look-up by typing her number with wrong dates (a count per ID number
  alone let anyone do that for an hour); 5 failures are free, a warning from the 3rd says how
  many are left, then each failure doubles the wait (30 s … at most an hour). A second count
  per source alone (20 free) brakes one machine trying many numbers. A success is no
  failure: it clears that number's count from that source and costs nothing. Counted in the
  store every server process shares (the database or Redis), forgotten an hour after the
  last failure.
* **One answer for every miss**: an unknown ID and a known ID with the wrong date of birth
  get the same page, status and words.
* **A capability, not a session**: a hit sets a short-lived signed cookie naming that one
  person, valid for nothing else (:mod:`tiemchung.auth.lookup`, which also holds the rule of
  which record an ID number and a date of birth open).
"""

from __future__ import annotations

import hashlib

from tiemchung.auth.throttle import SignInThrottle
from tiemchung.auth.throttlestore import ThrottleStore

__all__ = ["COOKIE", "clean_typed_id", "id_key", "new_throttle"]

COOKIE = "tc_lookup"


def new_throttle(store: ThrottleStore | None = None) -> SignInThrottle:
    """The look-up's brake: the sign-in's, with the look-up's limits (5 failures per ID
    number and source, 20 per source, forgotten an hour after the last failure), counted in
    ``store`` apart from the sign-in's (its own name)."""
    return SignInThrottle(
        free=5, per_client=20, forget=3600.0, client_forget=3600.0, store=store, name="lookup"
    )


def id_key(national_id: str) -> str:
    """The throttle's key for an ID number: a digest, so the process's memory holds no list
    of typed ID numbers."""
    return hashlib.sha256(national_id.encode()).hexdigest()


def clean_typed_id(text: str) -> str:
    """The digits of a typed ID number (spaces and dots people type are dropped)."""
    return "".join(ch for ch in text if ch.isdigit())
