"""Every official EU DCC test vector, every EXPECTEDRESULTS flag it carries.

The vectors are the dgc-testdata files (Apache-2.0) copied into tests/data/eu-dcc. A vector
whose expectation we do not meet is an xfail(strict) naming why (conformance.KNOWN), so a fix
turns it into an error until the entry is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tiemchung.certificates import conformance

ROOT = Path(__file__).resolve().parents[1] / "data" / "eu-dcc"
CASES = list(conformance.cases(ROOT))


def _param(name: str, flag: str, vec: dict) -> object:
    marks = []
    if (name, flag) in conformance.KNOWN:
        marks.append(pytest.mark.xfail(strict=True, reason=conformance.KNOWN[(name, flag)]))
    return pytest.param(vec, flag, id=f"{name}:{flag}", marks=marks)


def test_every_vector_is_here() -> None:
    assert len(list(ROOT.rglob("*.json"))) == 140
    # official flags over all vectors; BG's misspelt EXPTECTEDEXPIRED is no official flag
    assert len(CASES) == 966


@pytest.mark.parametrize(("vec", "flag"), [_param(*c) for c in CASES])
def test_vector(vec: dict, flag: str) -> None:
    expected = vec["EXPECTEDRESULTS"][flag]
    if expected:  # the step must succeed: an exception shows why it did not
        assert conformance.CHECKS[flag](vec) is True
    else:  # the step must fail, by a False or by refusing the input
        assert conformance.outcome(vec, flag) is False
