"""A worklist filter the service refuses is said next to that filter, on the page, as a 422.

Found on the demo as a province user: ``/worklist?ward=abc``, ``?ward=ư`` and
``/worklist/export.xlsx?ward=ư`` were 500s (an IdentityError nothing caught); a kind or status
that is no choice must be refused the same way, and the export's too.
"""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Web


def _error_next_to(html: str, name: str) -> str:
    """The message shown under the filter ``name`` (its select or box marked invalid)."""
    control = re.search(rf'<(?:select|input) id="f-{name}"[^>]*>', html)
    assert control, name
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    assert f'aria-describedby="f-{name}-error"' in control.group(0)
    m = re.search(rf'<p class="field-error" id="f-{name}-error">(.*?)</p>', html, re.S)
    assert m, f"no message next to {name}"
    # inside the same field block as the control
    block = html[html.index(control.group(0)) : html.index(m.group(0))]
    assert "</div>" not in block
    return m.group(1)


@pytest.mark.parametrize(
    ("path", "name", "words"),
    [
        ("/worklist?ward=abc", "ward", "abc"),
        ("/worklist?ward=%C6%B0", "ward", "ư"),
        ("/worklist/export.xlsx?ward=%C6%B0", "ward", "ư"),
        ("/worklist/export.xlsx?ward=abc", "ward", "abc"),
        ("/worklist?kind=%C6%B0", "kind", "kind"),
        ("/worklist?status=%C6%B0", "status", "status"),
        ("/worklist/export.xlsx?kind=abc", "kind", "kind"),
        ("/worklist/export.xlsx?status=accepted", "status", "status"),
    ],
)
def test_a_refused_filter_is_said_next_to_it(web: Web, path: str, name: str, words: str) -> None:
    assert web.sign_in("prov_a").status_code == 303
    r = web.page(path)
    assert r.status_code == 422, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert words in _error_next_to(r.text, name)
    assert 'id="filters"' in r.text  # the list page, its filters still there to fix


def test_the_english_page_says_it_in_english(web: Web) -> None:
    web.sign_in("prov_a")
    r = web.page("/worklist?ward=abc&lang=en")
    assert r.status_code == 422
    assert "Invalid unit code" in _error_next_to(r.text, "ward")
