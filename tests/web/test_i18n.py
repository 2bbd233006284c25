"""The catalogues: every string the templates use is in both, and translated into English."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tiemchung.web import i18n
from tiemchung.web.pages import environment

WEB = i18n.LOCALE_DIR.parent


def _template_msgids() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(WEB), method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(lang: str) -> dict[str, tuple[str, bool]]:
    with i18n.po_path(lang).open("rb") as fh:
        return {m.id: (m.string, m.fuzzy) for m in read_po(fh) if m.id}


def test_every_template_msgid_has_an_english_translation() -> None:
    used = _template_msgids()
    assert len(used) > 50  # the extraction found the templates' strings
    en = _catalog("en")
    missing = sorted(m for m in used if m not in en or not en[m][0] or en[m][1])
    assert missing == [], f"add these to locale/en/LC_MESSAGES/messages.po: {missing}"
    vi = _catalog("vi")
    assert sorted(used - set(vi)) == [], "run pybabel update (docs/web.md)"


def test_translations_keep_their_placeholders() -> None:
    import re

    for msgid, (msgstr, _) in _catalog("en").items():
        assert set(re.findall(r"%\(\w+\)s", msgid)) == set(re.findall(r"%\(\w+\)s", msgstr)), msgid


def test_the_compiled_catalogues_translate() -> None:
    assert i18n.translations("en").gettext("Đăng nhập") == "Sign in"
    assert i18n.translations("vi").gettext("Đăng nhập") == "Đăng nhập"
    html = environment("en").from_string('{{ _("mũi %(n)s", n=2) }}').render()
    assert html == "dose 2"
