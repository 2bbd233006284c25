"""HCERT, the EU Digital COVID Certificate container: CWT in COSE_Sign1, zlib, Base45, ``HC1:``.

Layers, outermost first (EU eHealth Network, *Technical Specifications for Digital Green
Certificates*, Volume 1):

    "HC1:" + Base45( zlib( COSE_Sign1( CWT{1: iss, 6: iat, 4: exp, -260: {1: DCC}} ) ) )

CBOR is :mod:`cbor2`, Base45 is :mod:`base45`, zlib is the standard library and the signature
is :mod:`cryptography` (ES256: ECDSA P-256 with SHA-256, the signature as the raw 64-byte
``r || s``; PS256: RSASSA-PSS with SHA-256, MGF1 SHA-256, 32-byte salt — RFC 8152/8230) over
the COSE ``Sig_structure`` that RFC 8152 §4.4 defines. One exception: Base45 *decoding*, on
every verification, is :func:`b45decode` here, the package's rules vectorised with numpy (12
times faster; the tests hold it to the package's output on arbitrary input).
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base45
import cbor2
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding

PREFIX = "HC1:"

# CWT claim keys (RFC 8392) and the HCERT claim.
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_HCERT = 1, 4, 6, -260
# COSE header labels and algorithms (RFC 8152).
HEADER_ALG, HEADER_KID = 1, 4
ES256, PS256 = -7, -37
ALG_NAMES = {ES256: "ES256", PS256: "PS256"}
COSE_SIGN1_TAG, CWT_TAG = 18, 61

#: The most a QR code can hold is 4,296 alphanumeric characters; an input longer than twice
#: that is not a certificate, and a payload inflating past 64 KiB is not one either.
MAX_TEXT = 10_000
MAX_INFLATED = 64 * 1024


def kid_of(certificate: x509.Certificate | bytes) -> bytes:
    """The COSE ``kid`` of a signer: the first 8 bytes of the SHA-256 of its DER encoding."""
    der = certificate if isinstance(certificate, bytes) else certificate.public_bytes(Encoding.DER)
    return hashlib.sha256(der).digest()[:8]


def cwt_payload(dcc: dict[str, Any], *, issuer: str, iat: int, exp: int) -> bytes:
    """The CBOR Web Token that carries one DCC (claims 1, 6, 4 and -260 → {1: DCC})."""
    return cbor2.dumps({CLAIM_ISS: issuer, CLAIM_IAT: iat, CLAIM_EXP: exp, CLAIM_HCERT: {1: dcc}})


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """RFC 8152 §4.4 ``Sig_structure`` for COSE_Sign1 with empty external AAD."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


@dataclass(frozen=True)
class Signer:
    """A document signer: its private key and certificate (ES256 for EC, PS256 for RSA)."""

    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None
    certificate: x509.Certificate
    #: A key held outside this process (a PKCS#11 module, certificates/hsm.py): signs the
    #: message and returns the raw ES256 signature (r||s); ``private_key`` is then None.
    external: Callable[[bytes], bytes] | None = None

    @property
    def kid(self) -> bytes:
        return kid_of(self.certificate)

    @property
    def alg(self) -> int:
        if self.external is not None:
            return ES256
        return ES256 if isinstance(self.private_key, ec.EllipticCurvePrivateKey) else PS256

    def sign(self, payload: bytes) -> bytes:
        """A tagged COSE_Sign1 over ``payload`` with ``alg`` and ``kid`` in the protected
        header (where the EU specification wants the kid) and an empty unprotected one."""
        protected = cbor2.dumps({HEADER_ALG: self.alg, HEADER_KID: self.kid})
        to_sign = sig_structure(protected, payload)
        key = self.private_key
        if self.external is not None:
            signature = self.external(to_sign)
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
            size = (key.curve.key_size + 7) // 8
            signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        elif key is not None:
            signature = key.sign(to_sign, _pss(), hashes.SHA256())
        else:
            raise ValueError("a signer needs a private key or an external one")
        return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def verify_signature(
    public_key: Any, alg: int | None, protected: bytes, payload: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` is a valid COSE signature of (protected, payload) by the key."""
    to_check = sig_structure(protected, payload)
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if alg not in (None, ES256):
                return False
            size = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            public_key.verify(der, to_check, ec.ECDSA(hashes.SHA256()))
            return True
        if isinstance(public_key, rsa.RSAPublicKey):
            if alg not in (None, PS256):
                return False
            public_key.verify(signature, to_check, _pss(), hashes.SHA256())
            return True
    except Exception:  # InvalidSignature, or a malformed signature the backend refuses
        return False
    return False


_B45_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE = np.full(256, 255, np.uint8)  # 255: not a Base45 character
_B45_VALUE[np.frombuffer(_B45_CHARSET.encode("ascii"), np.uint8)] = np.arange(45)
_B45_WEIGHTS = np.array([1, 45, 45 * 45], np.uint32)


def b45decode(text: str | bytes) -> bytes:
    """RFC 9285 Base45 decoding, the rules of :func:`base45.b45decode` (a text's trailing
    newlines ignored; a character outside the alphabet, a length of 3k+1, a triple above 65535 or a
    final pair above 255 raise ``ValueError("Invalid base45 string")``) computed with numpy:
    ~6 µs for a certificate instead of ~70 µs in pure Python."""
    try:
        if isinstance(text, str):
            data = text.rstrip("\n").encode("ascii")
        else:  # bytes: as the package, UTF-8 and no newline stripped
            data = text.decode().encode("ascii")
    except (UnicodeError, AttributeError):
        raise ValueError("Invalid base45 string") from None
    values = _B45_VALUE[np.frombuffer(data, np.uint8)]
    n = values.size
    full = n - n % 3
    if n % 3 == 1 or (values == 255).any():
        raise ValueError("Invalid base45 string")
    out = b""
    if full:
        words = values[:full].reshape(-1, 3) @ _B45_WEIGHTS
        if words.max() > 0xFFFF:
            raise ValueError("Invalid base45 string")
        out = words.astype(">u2").tobytes()
    if n % 3 == 2:
        last = int(values[-2]) + 45 * int(values[-1])
        if last > 0xFF:
            raise ValueError("Invalid base45 string")
        out += bytes((last,))
    return out


def compress(cose: bytes) -> bytes:
    return zlib.compress(cose, 9)


def encode(cose: bytes) -> str:
    """``HC1:`` + Base45(zlib(COSE)): the text a QR code carries."""
    return PREFIX + base45.b45encode(compress(cose)).decode("ascii")


def inflate(data: bytes) -> bytes:
    """zlib-decompress at most :data:`MAX_INFLATED` bytes; raises ``ValueError`` otherwise."""
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_INFLATED)
    if d.unconsumed_tail:
        raise ValueError("inflates to more than 64 KiB")
    if not d.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


#: The integers every JSON writer takes (orjson refuses anything outside 64 bits).
_JSON_INT = range(-(2**63), 2**64)


def json_safe(value: Any) -> Any:
    """CBOR-decoded content as JSON: dates as ISO text, bytes as hex, tags unwrapped.

    Whatever a (possibly hostile) certificate holds, the result serialises with ``json``
    (``allow_nan=False``) and orjson, as the API answers it: integers beyond 64 bits (CBOR
    bignums), NaN and infinities, decimal fractions and anything else without a JSON form
    become text; sets become lists; CBOR ``undefined`` becomes null.
    """
    if isinstance(value, Mapping):
        return {_json_key(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return value if value in _JSON_INT else _big(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, cbor2.CBORTag):
        return json_safe(value.value)
    if value is cbor2.undefined:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _big(number: int) -> str:
    # str() refuses ints of over 4,300 digits; hex() has no such limit
    return str(number) if number.bit_length() < 10_000 else hex(number)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    safe = json_safe(key)
    return safe if isinstance(safe, str) else json.dumps(safe)


@dataclass(frozen=True)
class CoseSign1:
    """A decoded COSE_Sign1 message."""

    protected_raw: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> int | None:
        alg = self.protected.get(HEADER_ALG, self.unprotected.get(HEADER_ALG))
        return alg if isinstance(alg, int) else None

    @property
    def kid(self) -> bytes | None:
        """The kid, protected header first (an unprotected kid counts only when the protected
        header has none: EU DCC rule, test vectors CO18–CO23)."""
        kid = self.protected.get(HEADER_KID)
        if kid is None:
            kid = self.unprotected.get(HEADER_KID)
        return kid if isinstance(kid, bytes) else None


def decode_cose(data: bytes) -> CoseSign1:
    """Parse a (tagged, untagged or CWT-tagged) COSE_Sign1; raises ``ValueError`` if it is not
    one."""
    obj = cbor2.loads(data)
    if isinstance(obj, cbor2.CBORTag) and obj.tag == CWT_TAG:
        obj = obj.value
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise ValueError(f"CBOR tag {obj.tag} is not COSE_Sign1 (18)")
        obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise ValueError("COSE_Sign1 must be an array of 4 items")
    protected_raw, unprotected, payload, signature = obj
    if not isinstance(protected_raw, bytes) or not isinstance(unprotected, Mapping):
        raise ValueError("COSE headers malformed")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise ValueError("COSE payload or signature is not a byte string")
    protected = cbor2.loads(protected_raw) if protected_raw else {}
    if not isinstance(protected, Mapping):
        raise ValueError("protected header is not a map")
    return CoseSign1(protected_raw, dict(protected), dict(unprotected), payload, signature)


def decode_claims(payload: bytes) -> dict[Any, Any]:
    """The CWT claims map; raises ``ValueError`` unless it holds ``-260 → {1: map}``."""
    claims = cbor2.loads(payload)
    if isinstance(claims, cbor2.CBORTag) and claims.tag == CWT_TAG:
        claims = claims.value
    if not isinstance(claims, Mapping):
        raise ValueError("CWT payload is not a map")
    hcert = claims.get(CLAIM_HCERT)
    if not isinstance(hcert, Mapping) or not isinstance(hcert.get(1), Mapping):
        raise ValueError("no HCERT claim (-260 → {1: DCC})")
    return dict(claims)
