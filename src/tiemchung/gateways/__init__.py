"""SMS gateways (issue 18): the adapters behind ``registry.messages.gateway.Gateway``.

``build_gateway`` reads ``TIEMCHUNG_SMS_GATEWAY``: ``smpp://user:pass@host:port``,
``http(s)://…`` (with the ``TIEMCHUNG_SMS_HTTP_*`` settings) or ``file:PATH``. The local
peers the tests and the bench talk to live here too (``simulator``: an SMSC; ``httppeer``:
an HTTP provider).
"""

from __future__ import annotations

from pathlib import Path

from tiemchung.config import Settings
from tiemchung.registry.messages.gateway import Gateway


def build_gateway(settings: Settings) -> Gateway:
    """The gateway the settings name; a clear error in both languages when none or unknown."""
    url = settings.sms_gateway.strip()
    if url.startswith("smpp://"):
        from tiemchung.gateways.smpp import SmppGateway

        smpp = SmppGateway(url)
        smpp.rate = smpp.rate or settings.sms_rate
        return smpp
    if url.startswith(("http://", "https://")):
        from tiemchung.gateways.http import HttpGateway

        return HttpGateway(
            url,
            auth_header=settings.sms_http_auth,
            body_template=settings.sms_http_body,
            id_field=settings.sms_http_id_field,
            rate=settings.sms_rate,
        )
    if url.startswith("file:"):
        from tiemchung.gateways.file import FileGateway

        return FileGateway(Path(url.removeprefix("file:")), rate=settings.sms_rate)
    raise ValueError(
        f"TIEMCHUNG_SMS_GATEWAY={url!r}: chưa đặt hoặc không hiểu; dùng "
        "smpp://user:pass@host:port, http(s)://… hoặc file:PATH / not set or not understood; "
        "use smpp://user:pass@host:port, http(s)://… or file:PATH"
    )
