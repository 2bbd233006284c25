"""Times as people read them: a stored moment shown in the platform's time zone.

The database stores moments in UTC (PostgreSQL as ``timestamptz``; SQLite as naive text that
``CURRENT_TIMESTAMP`` writes in UTC), and the API sends them as UTC. A person reads them in
Vietnam time (``Settings.timezone``, ``Asia/Ho_Chi_Minh`` unless configured otherwise): a dose
recorded at 08:51 in Nghệ An was stored as 01:51 UTC, and a page, an export, a PDF or the
command line saying "01:51" sends a nurse looking for a record made "in the night". Every place
a stored moment reaches a person goes through this module, so there is one rule for it: a
naive value is UTC, an aware one is converted, and the result is the zone's wall-clock time.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
#: Zone names that are Vietnam's wall clock (the old IANA name is an alias of the new one).
_VIETNAM = frozenset({"Asia/Ho_Chi_Minh", "Asia/Saigon"})
DATE_TIME = "%d/%m/%Y %H:%M"


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``zoneinfo.ZoneInfoNotFoundError`` names the bad value)."""
    return ZoneInfo(name)


def _tz(tz: str | tzinfo) -> tzinfo:
    return zone(tz) if isinstance(tz, str) else tz


def to_local(moment: datetime | str, tz: str | tzinfo = DEFAULT_ZONE) -> datetime:
    """``moment`` (a datetime or ISO text; naive means UTC, as stored) in the zone ``tz``."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_tz(tz))


def format_local(
    moment: datetime | str | None, tz: str | tzinfo = DEFAULT_ZONE, fmt: str = DATE_TIME
) -> str:
    """``moment`` as wall-clock text in ``tz`` (``dd/mm/yyyy HH:MM`` by default); "" for None."""
    if moment is None or moment == "":
        return ""
    return to_local(moment, tz).strftime(fmt)


def utc_offset(local: datetime) -> str:
    """``UTC+7``, ``UTC+5:30``, ``UTC-3``, ``UTC``: the offset of an aware ``local`` time."""
    offset = local.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(tz: str | tzinfo, local: datetime) -> str:
    """The zone of ``local`` named for a reader of either language: "giờ Việt Nam / Vietnam
    time (UTC+7)" for Vietnam; elsewhere the zone's IANA name, e.g. "Europe/Paris (UTC+1)"."""
    name = str(tz if isinstance(tz, str) else getattr(tz, "key", tz))
    words = "giờ Việt Nam / Vietnam time" if name in _VIETNAM else name
    return f"{words} ({utc_offset(local)})"
