"""The invitation and reminder texts: unaccented Vietnamese, one 160-character SMS each.

Brand-name SMS in Vietnam commonly requires the unaccented variant (GSM 7-bit, 160 characters
a segment; a single accented letter turns the whole text into UCS-2 at 70), so every text here
is folded to ASCII and kept short: the site's name is cut before the link is, because a text
whose link is cut is useless. The words are the templates' (``registry/messages/templates``:
the stored one, or the built-in text when nobody edited it); these builders give the values.
"""

from __future__ import annotations

from datetime import date

from tiemchung.registry.messages.templates import Template, default, render


def invitation_text(
    day: date, slot: str, site_name: str, link: str, template: Template | None = None
) -> str:
    """ "TiemChung: Moi ban tiem vac xin ngay 12/12 07:30-11:00 tai <site>. Tra loi: <link>"
    (or the stored template, which the caller reads once per run)."""
    values = {"day": f"{day:%d/%m}", "slot": slot, "site": site_name, "link": link}
    return render(template or default("invitation"), values)[0]


def moved_up_text(
    day: date, slot: str, site_name: str, link: str, template: Template | None = None
) -> str:
    """The text to the first on the wait list when a place is freed for them."""
    values = {"day": f"{day:%d/%m}", "slot": slot, "site": site_name, "link": link}
    return render(template or default("moved_up"), values)[0]


def reminder_text(
    dose_number: int, product: str, due: date, template: Template | None = None
) -> str:
    """A reminder that dose ``dose_number`` is due from ``due``."""
    values = {"dose": str(dose_number), "product": product, "due": f"{due:%d/%m/%Y}"}
    return render(template or default("reminder"), values)[0]


def cancelled_text(day: date, site_name: str, template: Template | None = None) -> str:
    """The text to an invitee already texted when their session is cancelled."""
    values = {"day": f"{day:%d/%m}", "site": site_name}
    return render(template or default("cancelled"), values)[0]
