"""The invitation and reminder texts: unaccented Vietnamese, one 160-character SMS each.

Brand-name SMS in Vietnam commonly requires the unaccented variant (GSM 7-bit, 160 characters
a segment; a single accented letter turns the whole text into UCS-2 at 70), so every text here
is folded to ASCII and kept short: the site's name is cut before the link is, because a text
whose link is cut is useless.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from tiemchung.identity.letters import FOLD_TABLE

#: one GSM 7-bit segment
SMS_BUDGET = 160


def unaccented(text: str) -> str:
    """``text`` without diacritics (đ → d), case kept: "Trạm Y tế" → "Tram Y te"."""
    folded = unicodedata.normalize("NFC", text).translate(FOLD_TABLE)
    return folded.encode("ascii", "ignore").decode("ascii")


def _fit(prefix: str, middle: str, suffix: str) -> str:
    room = SMS_BUDGET - len(prefix) - len(suffix)
    if len(middle) > room:
        middle = middle[: max(0, room)].rstrip()
    return prefix + middle + suffix


def invitation_text(day: date, slot: str, site_name: str, link: str) -> str:
    """ "TiemChung: Moi ban tiem vac xin ngay 12/12 07:30-11:00 tai <site>. Tra loi: <link>"."""
    prefix = f"TiemChung: Moi ban tiem vac xin ngay {day:%d/%m} {slot} tai "
    return _fit(prefix, unaccented(" ".join(site_name.split())), f". Tra loi: {link}")


def moved_up_text(day: date, slot: str, site_name: str, link: str) -> str:
    """The text to the first on the wait list when a place is freed for them."""
    prefix = f"TiemChung: Da co cho cho ban ngay {day:%d/%m} {slot} tai "
    return _fit(prefix, unaccented(" ".join(site_name.split())), f". Tra loi: {link}")


def reminder_text(dose_number: int, product: str, due: date) -> str:
    """A reminder that dose ``dose_number`` is due from ``due``."""
    return (
        f"TiemChung: Ban den lich tiem mui {dose_number} vac xin {unaccented(product)} "
        f"tu ngay {due:%d/%m/%Y}. Lien he tram y te xa/phuong de hen ngay tiem."
    )


def cancelled_text(day: date, site_name: str) -> str:
    """The text to an invitee already texted when their session is cancelled."""
    prefix = f"TiemChung: Buoi tiem ngay {day:%d/%m} tai "
    return _fit(prefix, unaccented(" ".join(site_name.split())), " da huy. Xin loi ban.")
