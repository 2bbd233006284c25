"""The generic HTTP JSON gateway, for brand-name providers' HTTP APIs.

``TIEMCHUNG_SMS_GATEWAY=https://api.example.vn/sms/send`` with
``TIEMCHUNG_SMS_HTTP_AUTH`` (a header line, ``Authorization: Bearer …``),
``TIEMCHUNG_SMS_HTTP_BODY`` (the JSON body as the provider wants it, placeholders
``{message_id}``, ``{phone}``, ``{international}``, ``{text}``, ``{encoding}``,
``{segments}`` inside its strings) and ``TIEMCHUNG_SMS_HTTP_ID_FIELD`` (where the answer
puts the provider's id). The placeholders are filled inside the parsed JSON's strings, so a
quote or a newline in a text can never break the body.

Every request also carries ``Idempotency-Key: <message_id>``: a provider (our
``httppeer``) that has seen it answers the first result and does not send again. 429 and
5xx are tried again later; another 4xx fails the message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from tiemchung.registry.messages.gateway import Inbound, Outgoing, Receipt, Submitted

DEFAULT_BODY = (
    '{"message_id": "{message_id}", "to": "{international}", "text": "{text}", '
    '"encoding": "{encoding}"}'
)


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        out = node
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    return node


class HttpGateway:
    """A :class:`~tiemchung.registry.messages.gateway.Gateway` over one HTTP endpoint."""

    def __init__(
        self,
        url: str,
        *,
        auth_header: str = "",
        body_template: str = "",
        id_field: str = "id",
        rate: float = 0.0,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.name = f"http:{urlsplit(url).netloc}"
        self.rate = rate
        self.template = json.loads(body_template or DEFAULT_BODY)
        self.id_field = id_field
        headers = {"Content-Type": "application/json"}
        if auth_header:
            key, _, value = auth_header.partition(":")
            if not value:
                raise ValueError(
                    "TIEMCHUNG_SMS_HTTP_AUTH: 'Header: value' expected (một dòng 'Tên: giá trị')"
                )
            headers[key.strip()] = value.strip()
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def body(self, m: Outgoing) -> dict[str, Any]:
        """The request body for one message (the template, filled)."""
        values = {
            "message_id": m.message_id,
            "phone": m.phone,
            "international": m.international,
            "text": m.text,
            "encoding": m.encoding,
            "segments": str(m.segments),
        }
        filled: dict[str, Any] = _fill(self.template, values)
        return filled

    def _one(self, m: Outgoing) -> Submitted:
        try:
            resp = self._client.post(
                self.url, json=self.body(m), headers={"Idempotency-Key": m.message_id}
            )
        except httpx.HTTPError as exc:
            return Submitted(m.message_id, error=f"http:connection:{exc}"[:200])
        if resp.is_success:
            try:
                found = resp.json().get(self.id_field)
            except (ValueError, AttributeError):
                found = None
            return Submitted(m.message_id, gateway_message_id=None if found is None else str(found))
        retry = resp.status_code == 429 or resp.status_code >= 500
        return Submitted(
            m.message_id, error=f"http:{resp.status_code}:{resp.text[:120]}", retry=retry
        )

    def send(self, batch: Sequence[Outgoing]) -> list[Submitted]:
        return [self._one(m) for m in batch]

    def poll(self) -> tuple[list[Receipt], list[Inbound]]:
        """HTTP providers report by calling us back; nothing to read here."""
        return [], []

    def close(self) -> None:
        self._client.close()
