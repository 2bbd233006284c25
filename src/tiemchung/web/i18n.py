"""Gettext catalogues for the pages: Vietnamese first, English on request.

The source strings (msgids) are Vietnamese, the language front-line staff read; the English
catalogue translates them. Both ``.po`` files are compiled in memory with Babel when the app
starts, so there is no generated ``.mo`` file to forget to rebuild: the ``.po`` in the tree is
what runs.

The language of a request is ``?lang=`` when given, else the ``lang`` cookie the switch sets,
else Vietnamese.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``lang`` (read once per process)."""
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def load_all() -> None:
    """Compile every catalogue now, so a broken ``.po`` stops the start-up, not a request."""
    for lang in LANGUAGES:
        translations(lang)


def pick(value: str | None) -> str | None:
    """A supported language code from user input, or None."""
    if value is None:
        return None
    value = value.strip().lower()[:5]
    return value if value in LANGUAGES else None


def request_lang(request: Request) -> str:
    """``?lang=``, then the cookie, then Vietnamese."""
    return pick(request.query_params.get("lang")) or pick(request.cookies.get(COOKIE)) or DEFAULT


def gettext_for(lang: str) -> gettext.GNUTranslations:
    return translations(pick(lang) or DEFAULT)
