"""Signing through a hardware security module over PKCS#11 (issue 20 point 6; docs/keys.md).

Optional (the ``tiemchung[hsm]`` extra, :mod:`pkcs11` from python-pkcs11): when
``TIEMCHUNG_PKCS11_MODULE`` is set, the document signer's private key is the EC P-256 key
labelled ``TIEMCHUNG_PKCS11_KEY_LABEL`` in the token ``TIEMCHUNG_PKCS11_TOKEN_LABEL`` (user PIN
in the first line of ``TIEMCHUNG_PKCS11_PIN_FILE``); it never leaves the module. The COSE
signer hashes the Sig_structure with SHA-256 here and has the module sign the digest
(``CKM_ECDSA``, which every module offers, where ``CKM_ECDSA_SHA256`` is not everywhere); the
result is brought to COSE's raw r||s form, so certificates verify with the usual verifier.
The certificate of that key stays a file (``dsc-….pem``, ``current``) as for a file key.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tiemchung.certificates.hcert import Signer

if TYPE_CHECKING:
    from tiemchung.config import Settings

P256_BYTES = 32


class HsmError(RuntimeError):
    """The module, token or key cannot be used; the message says which and why (vi/en)."""


@dataclass(frozen=True)
class Pkcs11Config:
    module: Path
    token_label: str
    key_label: str
    pin_file: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Pkcs11Config | None:
        if settings.pkcs11_module is None:
            return None
        return cls(
            Path(settings.pkcs11_module),
            settings.pkcs11_token_label,
            settings.pkcs11_key_label,
            settings.pkcs11_pin_file,
        )

    def pin(self) -> str | None:
        if self.pin_file is None:
            return None
        try:
            lines = Path(self.pin_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise HsmError(
                f"cannot read the PIN file {self.pin_file} (TIEMCHUNG_PKCS11_PIN_FILE): "
                f"{exc.strerror} / không đọc được tệp PIN {self.pin_file}"
            ) from exc
        return lines[0].strip() if lines else None


def raw_signature(signature: bytes, size: int = P256_BYTES) -> bytes:
    """COSE's r||s from what a module returns: PKCS#11 specifies r||s already, but some
    modules (and wrappers) hand back DER ``SEQUENCE {r, s}``: that is converted."""
    if len(signature) == 2 * size:
        return signature
    r, s = decode_dss_signature(signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - the extra is in the dev group
        raise HsmError(
            "PKCS#11 signing needs the hsm extra: pip install 'tiemchung[hsm]' / "
            "cần cài gói bổ sung tiemchung[hsm]"
        ) from exc
    return pkcs11


#: One logged-in session per (module, token) for the whole process: PKCS#11 login state is
#: per application, so a second login fails (``UserAlreadyLoggedIn``) and closing a logged-in
#: session logs every other session out. Signing takes the session's lock (a session runs one
#: operation at a time).
_sessions: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_sessions_lock = threading.Lock()


def _shared_session(cfg: Pkcs11Config) -> tuple[Any, threading.Lock]:
    key = (str(cfg.module), cfg.token_label)
    with _sessions_lock:
        if key not in _sessions:
            pkcs11 = _pkcs11()
            try:
                lib = pkcs11.lib(str(cfg.module))
                token = lib.get_token(token_label=cfg.token_label)
                session = token.open(user_pin=cfg.pin())
            except HsmError:
                raise
            except Exception as exc:
                raise HsmError(
                    f"cannot open the PKCS#11 token {cfg.token_label!r} of {cfg.module}: "
                    f"{type(exc).__name__} {exc} / không mở được token PKCS#11 "
                    f"{cfg.token_label!r}"
                ) from exc
            _sessions[key] = (session, threading.Lock())
        return _sessions[key]


def close_sessions() -> None:
    """Log out and close every shared session (a test's teardown, a process's end)."""
    with _sessions_lock:
        for session, _ in _sessions.values():
            session.close()
        _sessions.clear()


@dataclass
class HsmKey:
    """One EC key in a token, reached through the process's shared session."""

    config: Pkcs11Config

    def _open(self) -> Any:
        return _shared_session(self.config)[0]

    @property
    def _lock(self) -> threading.Lock:
        return _shared_session(self.config)[1]

    def _get(self, object_class: Any) -> Any:
        pkcs11 = _pkcs11()
        try:
            return self._open().get_key(
                object_class=object_class,
                key_type=pkcs11.KeyType.EC,
                label=self.config.key_label,
            )
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
            raise HsmError(
                f"no single EC key labelled {self.config.key_label!r} in the token "
                f"{self.config.token_label!r} ({type(exc).__name__}) / không có đúng một "
                f"khoá EC nhãn {self.config.key_label!r} trong token"
            ) from exc

    def public_key(self) -> ec.EllipticCurvePublicKey:
        from pkcs11.util.ec import encode_ec_public_key

        pkcs11 = _pkcs11()
        with self._lock:
            der = encode_ec_public_key(self._get(pkcs11.ObjectClass.PUBLIC_KEY))
        key = serialization.load_der_public_key(der)
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    def sign(self, message: bytes) -> bytes:
        """The raw ES256 signature (r||s) of ``message``, made inside the module."""
        pkcs11 = _pkcs11()
        digest = hashlib.sha256(message).digest()
        with self._lock:
            key = self._get(pkcs11.ObjectClass.PRIVATE_KEY)
            return raw_signature(key.sign(digest, mechanism=pkcs11.Mechanism.ECDSA))

    def close(self) -> None:
        """Nothing to do: the session is shared (see ``close_sessions``)."""


def hsm_signer(config: Pkcs11Config, certificate: x509.Certificate) -> Signer:
    """A COSE signer whose key is in the module; refuses a certificate of another key."""
    key = HsmKey(config)
    mine = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if mine != theirs:
        raise HsmError(
            f"the current document signer's certificate ({certificate.subject.rfc4514_string()})"
            f" is not for the PKCS#11 key {config.key_label!r}: install the certificate made "
            "for it (`tiemchung keys install-signer`) / chứng chỉ DSC hiện tại không khớp khoá "
            "trong HSM"
        )
    return Signer(None, certificate, external=key.sign)


def hsm_check(config: Pkcs11Config) -> list[str]:
    """What the module holds, for ``tiemchung keys hsm-check``: the library, the tokens, and
    whether the configured key is there and signs (a test signature, verified here)."""
    pkcs11 = _pkcs11()
    lines = [f"module: {config.module}"]
    try:
        lib = pkcs11.lib(str(config.module))
    except Exception as exc:
        raise HsmError(
            f"cannot load {config.module}: {exc} / không nạp được {config.module}"
        ) from exc
    lines.append(f"library: {lib.manufacturer_id.strip()} {lib.library_description.strip()}")
    for slot in lib.get_slots(token_present=True):
        token = slot.get_token()
        mark = "*" if token.label == config.token_label else " "
        lines.append(f"{mark} token {token.label!r} ({token.model.strip()}) in slot {slot.slot_id}")
    key = HsmKey(config)
    try:
        public = key.public_key()
        signature = key.sign(b"tiemchung hsm-check")
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        public.verify(
            encode_dss_signature(
                int.from_bytes(signature[:P256_BYTES], "big"),
                int.from_bytes(signature[P256_BYTES:], "big"),
            ),
            b"tiemchung hsm-check",
            ec.ECDSA(hashes.SHA256()),
        )
        lines.append(f"key {config.key_label!r}: EC {public.curve.name}, signs and verifies")
    finally:
        key.close()
    return lines


def hsm_csr(key: HsmKey, subject: x509.Name, usages: tuple[str, ...]) -> bytes:
    """A PEM CSR for the module's key, signed inside the module (cryptography cannot sign
    with a key it does not hold, so the request is assembled with asn1crypto)."""
    from asn1crypto import csr as acsr
    from asn1crypto import keys as akeys
    from asn1crypto import pem as apem
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    extensions = ax509.Extensions(
        [{"extn_id": "extended_key_usage", "critical": False, "extn_value": list(usages)}]
    )
    info = acsr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": ax509.Name.load(subject.public_bytes()),
            "subject_pk_info": akeys.PublicKeyInfo.load(spki),
            "attributes": [{"type": "extension_request", "values": [extensions]}],
        }
    )
    raw = key.sign(info.dump())
    der_signature = encode_dss_signature(
        int.from_bytes(raw[:P256_BYTES], "big"), int.from_bytes(raw[P256_BYTES:], "big")
    )
    request = acsr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": der_signature,
        }
    )
    return bytes(apem.armor("CERTIFICATE REQUEST", request.dump()))
