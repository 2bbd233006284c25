"""The country's signing keys: a CSCA (self-signed) and document signers (DSC) it certifies.

Files live in ``data_dir/keys/dcc/`` (folder 0700)::

    csca.pem, csca-key.pem                  the country signing CA (EC P-256, 5 years)
    dsc-<UTC time>.pem, dsc-<…>-key.pem     document signers (EC P-256, 2 years), each with
                                            the EU DCC extended key usages
    current                                 the stem of the DSC that signs now

Private keys are PKCS#8 PEM, encrypted with the deployment's passphrase when one is set,
created with mode 0600 (custody.py, the one home of those rules), are read only to sign, and
are never logged nor served: the trust list holds certificates only. ``rotate`` adds a DSC and
makes it current; the old ones stay in the trust list so that certificates they signed still
verify. In production the CSCA key stays on an offline machine (ceremony.py, docs/keys.md);
the DSC key may live in a PKCS#11 module (hsm.py).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tiemchung.certificates.custody import load_private, passphrase_of, write_private
from tiemchung.certificates.hcert import Signer, kid_of
from tiemchung.certificates.hsm import Pkcs11Config, hsm_signer
from tiemchung.config import Settings

#: EU DCC extended key usages of a DSC (eHealth Network, *Technical Specifications for EU
#: Digital COVID Certificates*, Volume 1, §5): which kinds of certificate it may sign.
EKU_TEST = "1.3.6.1.4.1.1847.2021.1.1"
EKU_VACCINATION = "1.3.6.1.4.1.1847.2021.1.2"
EKU_RECOVERY = "1.3.6.1.4.1.1847.2021.1.3"
#: A typo of the early specification (an extra ``.0``) that some countries' DSCs carry.
_EKU_TYPO = {
    "1.3.6.1.4.1.0.1847.2021.1.1": EKU_TEST,
    "1.3.6.1.4.1.0.1847.2021.1.2": EKU_VACCINATION,
    "1.3.6.1.4.1.0.1847.2021.1.3": EKU_RECOVERY,
}
EKU_BY_KIND = {"t": EKU_TEST, "v": EKU_VACCINATION, "r": EKU_RECOVERY}
DCC_EKUS = frozenset(EKU_BY_KIND.values())

COUNTRY = "VN"
ORGANISATION = "Bo Y te Viet Nam (Ministry of Health)"
CSCA_YEARS = 5
DSC_DAYS = 2 * 365


class KeysMissingError(RuntimeError):
    """``tiemchung keys init`` has not been run for this data directory."""


class CscaOfflineError(KeysMissingError):
    """The CSCA private key is not here (kept offline): a new DSC goes through the ceremony."""


def _oid_tlv(dotted: str) -> bytes:
    """The DER encoding (tag, length, value) of one OID, as cryptography writes it."""
    return x509.ExtendedKeyUsage([x509.ObjectIdentifier(dotted)]).public_bytes()[2:]


_OID_TLVS = {
    _oid_tlv(o): _EKU_TYPO.get(o, o) for o in (*DCC_EKUS, *_EKU_TYPO)
}  # fmt: skip


def dcc_usages(cert: x509.Certificate) -> set[str]:
    """The EU DCC key usages a certificate carries (typo variants mapped to the right OID).

    Some countries' DSCs are not strict DER (an encoded default, an empty field) and
    cryptography refuses to parse their extensions; for those, the DCC key-usage OIDs are
    looked for as DER-encoded OIDs in the certificate body (they occur nowhere else).
    """
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return set()
    except ValueError:
        body = cert.tbs_certificate_bytes
        return {usage for tlv, usage in _OID_TLVS.items() if tlv in body}
    out = set()
    for oid in eku:
        dotted = _EKU_TYPO.get(oid.dotted_string, oid.dotted_string)
        if dotted in DCC_EKUS:
            out.add(dotted)
    return out


def load_certificate(data: bytes | str | x509.Certificate) -> x509.Certificate:
    """A certificate from PEM, DER or base64 DER (as trust lists and test vectors carry it)."""
    if isinstance(data, x509.Certificate):
        return data
    raw = data.encode("ascii") if isinstance(data, str) else data
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificate(raw)
    try:
        return x509.load_der_x509_certificate(raw)
    except ValueError:
        return x509.load_der_x509_certificate(base64.b64decode(b"".join(raw.split())))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def dsc_subject(now: datetime) -> x509.Name:
    """A document signer's subject: the country, the ministry, and when it was made."""
    return _name(f"Viet Nam DSC {now:%Y-%m-%d %H:%M}")


def make_csca(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new country signing CA: an EC P-256 key and its self-signed certificate (5 years)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Viet Nam CSCA DCC")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CSCA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def dsc_certificate(
    csca_key: ec.EllipticCurvePrivateKey,
    csca: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    usages: tuple[str, ...] = (EKU_TEST, EKU_VACCINATION, EKU_RECOVERY),
    subject: x509.Name | None = None,
) -> x509.Certificate:
    """A document signer's certificate for ``public_key``, signed by the CSCA, with the EU DCC
    extended key usages it may sign under (all three unless a CSR asked for fewer)."""
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject or dsc_subject(now))
        .issuer_name(csca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=DSC_DAYS), csca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in usages]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(csca.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(csca_key, hashes.SHA256())
    )
    return cert


@dataclass
class KeyStore:
    """The CSCA and DSC files of one data directory."""

    folder: Path
    #: encrypts new private keys and decrypts existing ones (custody.py); None: unencrypted
    passphrase: bytes | None = field(default=None, repr=False)
    #: the DSC key is in a PKCS#11 module (hsm.py) rather than a file
    hsm: Pkcs11Config | None = None

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> KeyStore:
        """The keys under a data folder (``data_dir/keys/dcc``): the one place the layout is
        spelled; a test or a benchmark with a bare folder starts here."""
        return cls(Path(data_dir) / "keys" / "dcc")

    @classmethod
    def for_settings(cls, settings: Settings) -> KeyStore:
        """The keys of a deployment: what every command, page and endpoint signs with and
        trusts. ``Platform.keys`` is this for a running platform; a command that needs no
        database (``keys init``, ``doctor``, ``verify``) calls it with the settings."""
        return cls(
            Path(settings.data_dir) / "keys" / "dcc",
            passphrase=passphrase_of(settings),
            hsm=Pkcs11Config.from_settings(settings),
        )

    # -- creating --------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.folder / "csca.pem").exists() and (self.folder / "current").exists()

    def init(self, now: datetime | None = None) -> x509.Certificate:
        """Create the CSCA and a first DSC; refuses to overwrite existing keys."""
        if (self.folder / "csca.pem").exists():
            raise FileExistsError(
                f"keys already exist in {self.folder} (khoá đã có); use `tiemchung keys rotate`"
            )
        now = now or datetime.now(UTC)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        key, cert = make_csca(now)
        write_private(self.folder / "csca-key.pem", key, self.passphrase)
        (self.folder / "csca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.rotate(now)
        return cert

    def rotate(self, now: datetime | None = None) -> x509.Certificate:
        """Create a new DSC signed by the CSCA and make it the current signer."""
        now = now or datetime.now(UTC)
        csca = self.csca
        if not (self.folder / "csca-key.pem").exists():
            raise CscaOfflineError(
                f"the CSCA private key is not in {self.folder} (kept offline): make a new "
                "document signer with `tiemchung keys request-signer` (docs/keys.md) / khoá "
                "CSCA không có ở đây, hãy dùng `tiemchung keys request-signer`"
            )
        csca_key = load_private(self.folder / "csca-key.pem", self.passphrase)
        assert isinstance(csca_key, ec.EllipticCurvePrivateKey)
        stem = "dsc-" + now.strftime("%Y%m%dT%H%M%S%fZ")
        key = ec.generate_private_key(ec.SECP256R1())
        cert = dsc_certificate(csca_key, csca, key.public_key(), now)
        write_private(self.folder / f"{stem}-key.pem", key, self.passphrase)
        self.make_current(stem, cert)
        return cert

    def make_current(self, stem: str, cert: x509.Certificate) -> None:
        """Write the DSC's certificate and make it the signer (the key file is there)."""
        (self.folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        tmp = self.folder / "current.tmp"
        tmp.write_text(stem + "\n", encoding="ascii")
        tmp.replace(self.folder / "current")
        self.__dict__.pop("signer", None)
        self.__dict__.pop("signers", None)

    # -- reading ---------------------------------------------------------------------------
    def _require(self) -> None:
        if not self.exists():
            raise KeysMissingError(
                f"no signing keys in {self.folder}; run `tiemchung keys init` "
                f"(chưa có khoá ký, hãy chạy `tiemchung keys init`)"
            )

    @property
    def csca(self) -> x509.Certificate:
        if not (self.folder / "csca.pem").exists():
            self._require()
        return x509.load_pem_x509_certificate((self.folder / "csca.pem").read_bytes())

    def dsc_certificates(self) -> list[x509.Certificate]:
        """Every DSC ever made here, oldest first (all stay trusted for verification)."""
        self._require()
        return [
            x509.load_pem_x509_certificate(p.read_bytes())
            for p in sorted(self.folder.glob("dsc-*.pem"))
            if not p.name.endswith("-key.pem")
        ]

    def current_certificate(self) -> x509.Certificate:
        """The certificate of the DSC that signs now (read without its private key)."""
        self._require()
        stem = (self.folder / "current").read_text(encoding="ascii").strip()
        return x509.load_pem_x509_certificate((self.folder / f"{stem}.pem").read_bytes())

    @cached_property
    def signer(self) -> Signer:
        """The current DSC with its private key (read once per KeyStore)."""
        self._require()
        stem = (self.folder / "current").read_text(encoding="ascii").strip()
        cert = x509.load_pem_x509_certificate((self.folder / f"{stem}.pem").read_bytes())
        if self.hsm is not None:
            return hsm_signer(self.hsm, cert)
        return Signer(load_private(self.folder / f"{stem}-key.pem", self.passphrase), cert)

    def trust_list(self) -> dict[str, Any]:
        """The public trust list: every DSC (base64 DER) with its kid, and the CSCA."""
        current = kid_of(self.current_certificate())  # the trust list needs no private key
        csca = self.csca
        return {
            "country": COUNTRY,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "csca": [_entry(csca)],
            "dsc": [_entry(c) | {"current": kid_of(c) == current} for c in self.dsc_certificates()],
        }


def _entry(cert: x509.Certificate) -> dict[str, Any]:
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "kid": b64(kid_of(der)),
        "certificate": b64(der),
        "subject": cert.subject.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "key_usage": sorted(dcc_usages(cert)),
    }


def certificates_from_trust_list(doc: dict[str, Any] | str) -> list[x509.Certificate]:
    """The DSCs of a trust list document (ours, as served by ``/api/v1/trust-list``)."""
    data = json.loads(doc) if isinstance(doc, str) else doc
    return [load_certificate(e["certificate"]) for e in data.get("dsc", [])]
