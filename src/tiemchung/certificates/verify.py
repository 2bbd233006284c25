"""One verifier for any EU DCC: ours and every other country's.

:func:`verify` walks the layers in order and names each step ``pass``, ``fail`` or
``not_checked``; a failed step carries a reason in Vietnamese and English. It never raises on
bad input: a malformed string, a wrong prefix, broken Base45 or zlib, a tampered payload, an
unknown ``kid`` each give a verdict naming the step that failed.

Steps:

``prefix``      the text starts with ``HC1:``
``base45``      the rest is Base45
``zlib``        that inflates (zlib)
``cose``        to a COSE_Sign1 whose payload is a CWT with an HCERT claim
``signature``   the signature is valid for a trusted signer (ES256 or PS256)
``kid``         the ``kid`` (protected header first, else unprotected) names that signer
``schema``      the DCC satisfies the EU DCC JSON schema 1.3.x
``expiry``      ``iat ≤ at ≤ exp``, and the signer certificate is valid at ``at``
``key_usage``   the signer's EU DCC extended key usages allow this kind (v, t, r)
``revocation``  the UVCI is not on the given revocation list (not checked without a list)
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from tiemchung.certificates import hcert
from tiemchung.certificates.keys import EKU_BY_KIND, dcc_usages, load_certificate
from tiemchung.certificates.schema import schema_errors

STEPS = (
    "prefix",
    "base45",
    "zlib",
    "cose",
    "signature",
    "kid",
    "schema",
    "expiry",
    "key_usage",
    "revocation",
)
PASS, FAIL, NOT_CHECKED = "pass", "fail", "not_checked"
#: Steps that must pass for a certificate to be valid (the others may be not_checked).
REQUIRED = ("prefix", "base45", "zlib", "cose", "signature", "kid", "schema", "expiry")
#: Try every trusted certificate when the kid names none, if there are at most this many
#: (a diagnosis for a single ``--cert``; never a scan of a whole national trust list).
_TRY_ALL_UP_TO = 4


class Trust:
    """Trusted signer certificates indexed by kid (build once, verify many).

    What a verification reads from the signer — its kid, its EU DCC key usages, its subject
    as text — is computed once per certificate and kept (~15 µs a verification otherwise)."""

    def __init__(self, certificates: Iterable[Any] = ()) -> None:
        self.by_kid: dict[bytes, list[x509.Certificate]] = {}
        self.all: list[x509.Certificate] = []
        self._kid: dict[x509.Certificate, bytes] = {}
        self._usages: dict[x509.Certificate, frozenset[str]] = {}
        self._subject: dict[x509.Certificate, str] = {}
        for c in certificates:
            try:
                cert = load_certificate(c)
            except Exception:  # an unreadable entry trusts nothing
                continue
            self.all.append(cert)
            kid = self._kid[cert] = hcert.kid_of(cert)
            self.by_kid.setdefault(kid, []).append(cert)

    def kid_of(self, cert: x509.Certificate) -> bytes:
        kid = self._kid.get(cert)
        if kid is None:
            kid = self._kid[cert] = hcert.kid_of(cert)
        return kid

    def usages(self, cert: x509.Certificate) -> frozenset[str]:
        usages = self._usages.get(cert)
        if usages is None:
            usages = self._usages[cert] = frozenset(dcc_usages(cert))
        return usages

    def subject(self, cert: x509.Certificate) -> str:
        subject = self._subject.get(cert)
        if subject is None:
            subject = self._subject[cert] = cert.subject.rfc4514_string()
        return subject


@dataclass
class Verdict:
    """What :func:`verify` found: every step, overall validity and the decoded content."""

    steps: dict[str, str] = field(default_factory=lambda: dict.fromkeys(STEPS, NOT_CHECKED))
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    valid: bool = False
    dcc: dict[str, Any] | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    kid: str | None = None
    alg: str | None = None
    kind: str | None = None
    uvci: str | None = None
    signer: str | None = None

    def ok(self, step: str) -> None:
        self.steps[step] = PASS

    def fail(self, step: str, vi: str, en: str) -> Verdict:
        self.steps[step] = FAIL
        self.reasons[step] = {"vi": vi, "en": en}
        return self

    def skip(self, step: str, vi: str, en: str) -> None:
        self.steps[step] = NOT_CHECKED
        self.reasons[step] = {"vi": vi, "en": en}

    @property
    def failed(self) -> list[str]:
        return [s for s, v in self.steps.items() if v == FAIL]

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "steps": dict(self.steps),
            "reasons": dict(self.reasons),
            "kind": self.kind,
            "uvci": self.uvci,
            "kid": self.kid,
            "alg": self.alg,
            "signer": self.signer,
            "claims": dict(self.claims),
            "dcc": self.dcc,
        }


def _ts(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def verify(
    text: Any,
    trusted: Iterable[Any] | Trust = (),
    at: datetime | None = None,
    *,
    revoked: Collection[str] | None = None,
) -> Verdict:
    """Verify an ``HC1:`` text against trusted signer certificates at time ``at`` (now).

    ``trusted`` holds certificates (objects, PEM, DER or base64 DER) or a prebuilt
    :class:`Trust`; ``revoked`` the revoked UVCIs (the ``revocation`` step is not checked
    without it). Never raises: every problem is a failed step with its reason.
    """
    v = Verdict()
    try:
        _verify(v, text, trusted, at, revoked)
    except Exception as exc:  # a bug must still answer with a verdict, not an exception
        step = next((s for s in STEPS if v.steps[s] == NOT_CHECKED), "revocation")
        v.fail(step, f"Lỗi không mong đợi: {type(exc).__name__}", f"unexpected error: {exc!r}")
    v.valid = all(v.steps[s] == PASS for s in REQUIRED) and not v.failed
    return v


def _verify(
    v: Verdict,
    text: Any,
    trusted: Iterable[Any] | Trust,
    at: datetime | None,
    revoked: Collection[str] | None,
) -> None:
    # prefix ----------------------------------------------------------------------------------
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            v.fail("prefix", "Không phải văn bản ASCII", "not ASCII text")
            return
    if not isinstance(text, str):
        v.fail("prefix", "Đầu vào không phải chuỗi", "input is not a string")
        return
    text = text.strip()
    if len(text) > hcert.MAX_TEXT:
        v.fail("prefix", "Chuỗi quá dài", f"text longer than {hcert.MAX_TEXT} characters")
        return
    if not text.startswith(hcert.PREFIX):
        shown = text[:4].encode("unicode_escape").decode("ascii")
        v.fail(
            "prefix",
            f"Không có tiền tố HC1: (bắt đầu bằng '{shown}')",
            f"missing the HC1: prefix (starts with '{shown}')",
        )
        return
    v.ok("prefix")
    # base45 ----------------------------------------------------------------------------------
    try:
        compressed = hcert.b45decode(text[len(hcert.PREFIX) :])
    except Exception as exc:
        v.fail("base45", "Chuỗi Base45 không hợp lệ", f"invalid Base45: {exc}")
        return
    v.ok("base45")
    # zlib ------------------------------------------------------------------------------------
    try:
        cose_bytes = hcert.inflate(compressed)
    except Exception as exc:
        v.fail("zlib", "Dữ liệu nén zlib bị hỏng", f"zlib data broken: {exc}")
        return
    v.ok("zlib")
    # cose ------------------------------------------------------------------------------------
    try:
        msg = hcert.decode_cose(cose_bytes)
        claims = hcert.decode_claims(msg.payload)
    except Exception as exc:
        v.fail("cose", "Cấu trúc COSE/CWT không hợp lệ", f"not a COSE_Sign1 CWT: {exc}")
        return
    v.ok("cose")
    dcc = hcert.json_safe(claims[hcert.CLAIM_HCERT][1])
    v.dcc = dcc
    iat, exp = _ts(claims.get(hcert.CLAIM_IAT)), _ts(claims.get(hcert.CLAIM_EXP))
    iss = claims.get(hcert.CLAIM_ISS)
    v.claims = {
        "iss": iss if isinstance(iss, str) else None,
        "iat": iat.isoformat() if iat else None,
        "exp": exp.isoformat() if exp else None,
    }
    kinds = [k for k in ("v", "t", "r") if dcc.get(k) is not None]
    v.kind = kinds[0] if len(kinds) == 1 else None
    if v.kind:
        entries = dcc.get(v.kind)
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            ci = entries[0].get("ci")
            v.uvci = ci if isinstance(ci, str) else None
    v.alg = hcert.ALG_NAMES.get(msg.alg) if msg.alg is not None else None
    kid = msg.kid
    v.kid = base64.b64encode(kid).decode() if kid else None
    # signature and kid -----------------------------------------------------------------------
    trust = trusted if isinstance(trusted, Trust) else Trust(trusted)
    named = trust.by_kid.get(kid, []) if kid else []
    candidates = named or (trust.all if len(trust.all) <= _TRY_ALL_UP_TO else [])
    signer = None
    if msg.alg is not None and msg.alg not in hcert.ALG_NAMES:
        v.fail(
            "signature",
            f"Thuật toán {msg.alg} không được hỗ trợ (chỉ ES256, PS256)",
            f"algorithm {msg.alg} not supported (ES256 or PS256 only)",
        )
    elif not candidates:
        v.skip(
            "signature",
            "Không có chứng thư ký tin cậy nào để kiểm tra",
            "no trusted signer certificate to check against",
        )
    else:
        for cert in candidates:
            if hcert.verify_signature(
                cert.public_key(), msg.alg, msg.protected_raw, msg.payload, msg.signature
            ):
                signer = cert
                break
        if signer is None:
            v.fail(
                "signature",
                "Chữ ký không hợp lệ (dữ liệu bị sửa hoặc sai khoá)",
                "signature invalid (tampered content or wrong key)",
            )
        else:
            v.ok("signature")
            v.signer = trust.subject(signer)
    if kid is None:
        v.fail("kid", "Thiếu kid trong tiêu đề COSE", "no kid in the COSE headers")
    elif not named:
        v.fail(
            "kid",
            f"kid {v.kid} không có trong danh sách tin cậy",
            f"kid {v.kid} is not in the trust list",
        )
    elif signer is not None and trust.kid_of(signer) != kid:
        v.fail(
            "kid",
            f"kid {v.kid} không khớp chứng thư đã ký",
            f"kid {v.kid} does not name the certificate that signed",
        )
    else:
        v.ok("kid")
    # schema ----------------------------------------------------------------------------------
    errors = schema_errors(dcc)
    if errors:
        v.fail("schema", "Không đúng lược đồ DCC: " + "; ".join(errors), "; ".join(errors))
    else:
        v.ok("schema")
    # expiry ----------------------------------------------------------------------------------
    now = at or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if iat is None or exp is None:
        v.fail("expiry", "Thiếu thời điểm cấp (iat) hoặc hết hạn (exp)", "iat or exp missing")
    elif now < iat:
        v.fail(
            "expiry",
            f"Chưa đến thời điểm cấp {iat:%Y-%m-%d %H:%M} UTC",
            f"checked at {now:%Y-%m-%d %H:%M} UTC, before it was issued ({iat:%Y-%m-%d %H:%M})",
        )
    elif now > exp:
        v.fail(
            "expiry",
            f"Đã hết hạn từ {exp:%Y-%m-%d %H:%M} UTC",
            f"expired on {exp:%Y-%m-%d %H:%M} UTC",
        )
    elif signer is not None and not (
        signer.not_valid_before_utc <= now <= signer.not_valid_after_utc
    ):
        v.fail(
            "expiry",
            "Chứng thư ký không còn hiệu lực tại thời điểm kiểm tra",
            "the signer certificate is not valid at the time checked",
        )
    else:
        v.ok("expiry")
    # key usage -------------------------------------------------------------------------------
    if signer is None:
        v.skip("key_usage", "Không xác định được chứng thư ký", "no verified signer")
    elif v.kind is None:
        v.fail(
            "key_usage",
            "Cần đúng một loại v, t hoặc r",
            "the DCC must hold exactly one of v, t, r",
        )
    else:
        usages = trust.usages(signer)
        if usages and EKU_BY_KIND[v.kind] not in usages:
            names = {"v": "vaccination", "t": "test", "r": "recovery"}
            v.fail(
                "key_usage",
                f"Chứng thư ký không được phép ký loại '{v.kind}'",
                f"the signer may not sign {names[v.kind]} certificates (extended key usage)",
            )
        else:
            v.ok("key_usage")
    # revocation ------------------------------------------------------------------------------
    if revoked is None:
        v.skip("revocation", "Không có danh sách thu hồi", "no revocation list given")
    elif v.uvci is None:
        v.skip("revocation", "Không có mã chứng nhận (ci)", "no certificate identifier (ci)")
    elif v.uvci.upper() in revoked or v.uvci in revoked:
        v.fail("revocation", f"Chứng nhận {v.uvci} đã bị thu hồi", f"{v.uvci} has been revoked")
    else:
        v.ok("revocation")


def decode_image(data: bytes) -> str | None:
    """The text of the first QR code in an image (PNG, JPEG…), or None if none can be read."""
    try:
        import io

        import zxingcpp
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            img.load()
            results = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
        for r in results:
            if r.valid and r.text:
                return str(r.text)
    except Exception:
        return None
    return None


def verify_image(
    data: bytes,
    trusted: Iterable[Any] | Trust = (),
    at: datetime | None = None,
    *,
    revoked: Collection[str] | None = None,
) -> Verdict:
    """:func:`verify` on the QR code of a photo or scan; an unreadable image fails ``prefix``."""
    text = decode_image(data)
    if text is None:
        v = Verdict().fail(
            "prefix",
            "Không đọc được mã QR trong ảnh",
            "no readable QR code in the image",
        )
        return v
    return verify(text, trusted, at, revoked=revoked)


__all__ = ["STEPS", "Trust", "Verdict", "decode_image", "verify", "verify_image"]
