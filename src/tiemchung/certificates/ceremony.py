"""The offline CSCA ceremony (issue 20 point 6; docs/keys.md step by step).

The country signing CA's private key never touches the server. On an offline machine
``keys init --csca-offline DIR`` makes the CSCA (:func:`init_offline_csca`); on the server
``keys request-signer`` makes a document signer's key and a CSR (:func:`request_signer`); the
CSR goes to the offline machine on removable media, ``keys sign-signer`` signs it
(:func:`sign_signer`); the certificate comes back and ``keys install-signer`` checks it chains
to the CSCA and is for a key this server holds, then makes it current (:func:`install_signer`).
The server then signs and verifies with the CSCA *certificate* only.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tiemchung.certificates.custody import load_private, write_private
from tiemchung.certificates.keys import (
    DCC_EKUS,
    EKU_BY_KIND,
    KeyStore,
    dsc_certificate,
    dsc_subject,
    load_certificate,
    make_csca,
)


class CeremonyError(ValueError):
    """A step of the ceremony refused: the message says what and why (vi/en)."""


def _spki(key: ec.EllipticCurvePublicKey | object) -> bytes:
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _stamp(now: datetime) -> str:
    return "dsc-" + now.strftime("%Y%m%dT%H%M%S%fZ")


def usages_of(kinds: str) -> tuple[str, ...]:
    """The EU DCC extended key usages for certificate kinds, ``"vtr"`` (vaccination, test,
    recovery) or any subset, in the specification's order (test .1, vaccination .2,
    recovery .3)."""
    wrong = sorted(set(kinds) - set(EKU_BY_KIND))
    if wrong or not kinds:
        raise CeremonyError(
            f"certificate kinds must be letters of 'vtr' (got {kinds!r}) / loại chứng nhận "
            "phải là các chữ v (tiêm chủng), t (xét nghiệm), r (khỏi bệnh)"
        )
    return tuple(sorted({EKU_BY_KIND[k] for k in kinds}))


def init_offline_csca(
    outdir: Path, passphrase: bytes | None, now: datetime | None = None
) -> x509.Certificate:
    """Make the CSCA key and self-signed certificate in ``outdir`` only (the offline
    machine); refuses an ``outdir`` that already holds one."""
    if (outdir / "csca.pem").exists() or (outdir / "csca-key.pem").exists():
        raise CeremonyError(f"a CSCA already exists in {outdir} / thư mục {outdir} đã có CSCA")
    outdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(outdir, 0o700)
    key, cert = make_csca(now or datetime.now(UTC))
    write_private(outdir / "csca-key.pem", key, passphrase)
    (outdir / "csca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def request_signer(
    store: KeyStore, kinds: str = "vtr", now: datetime | None = None
) -> tuple[Path, bytes]:
    """A new DSC key on the server (a file, or the PKCS#11 key when one is configured) and
    its CSR asking for the DCC key usages of ``kinds``; returns the CSR's path and PEM. The
    key is pending (no certificate, not in the trust list) until ``install_signer``."""
    now = now or datetime.now(UTC)
    usages = usages_of(kinds)
    store.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = _stamp(now)
    subject = dsc_subject(now)
    eku = x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in usages])
    if store.hsm is not None:
        from tiemchung.certificates.hsm import HsmKey, hsm_csr

        hsm_key = HsmKey(store.hsm)
        try:
            pem = hsm_csr(hsm_key, subject, usages)
        finally:
            hsm_key.close()
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(subject)
            .add_extension(eku, critical=False)
            .sign(key, hashes.SHA256())
        )
        write_private(store.folder / f"{stem}-key.pem", key, store.passphrase)
        pem = csr.public_bytes(serialization.Encoding.PEM)
    path = store.folder / f"{stem}.csr"
    path.write_bytes(pem)
    return path, pem


def sign_signer(
    csca_dir: Path, csr_pem: bytes, passphrase: bytes | None, now: datetime | None = None
) -> x509.Certificate:
    """On the offline machine: the DSC certificate for a CSR, signed by the CSCA of
    ``csca_dir``, with the DCC key usages the CSR asked for (and no others)."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise CeremonyError(f"not a PEM CSR: {exc} / không phải CSR dạng PEM") from exc
    if not csr.is_signature_valid:
        raise CeremonyError("the CSR's signature is not valid / chữ ký của CSR không hợp lệ")
    public = csr.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise CeremonyError(
            "a document signer's key must be EC P-256 (ES256) / khoá DSC phải là EC P-256"
        )
    try:
        asked = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = tuple(sorted({o.dotted_string for o in asked} & DCC_EKUS))
    except x509.ExtensionNotFound:
        usages = ()
    if not usages:
        raise CeremonyError(
            "the CSR asks for no EU DCC key usage (1.3.6.1.4.1.1847.2021.1.1/.2/.3) / CSR "
            "không yêu cầu mục đích khoá DCC nào"
        )
    csca = load_certificate((csca_dir / "csca.pem").read_bytes())
    csca_key = load_private(csca_dir / "csca-key.pem", passphrase)
    assert isinstance(csca_key, ec.EllipticCurvePrivateKey)
    return dsc_certificate(
        csca_key, csca, public, now or datetime.now(UTC), usages, subject=csr.subject
    )


def install_signer(
    store: KeyStore,
    cert_pem: bytes,
    csca_pem: bytes | None = None,
    now: datetime | None = None,
) -> str:
    """Make a signed DSC certificate current on the server after checking that it chains to
    the CSCA certificate (installed from ``csca_pem`` the first time), is in force, and is for
    a key this server holds; returns its stem."""
    now = now or datetime.now(UTC)
    cert = load_certificate(cert_pem)
    store.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    csca_path = store.folder / "csca.pem"
    if csca_pem is not None:
        csca = load_certificate(csca_pem)
        if csca_path.exists() and load_certificate(csca_path.read_bytes()) != csca:
            raise CeremonyError(
                f"{csca_path} holds another CSCA / {csca_path} đang giữ một CSCA khác"
            )
    elif csca_path.exists():
        csca = load_certificate(csca_path.read_bytes())
    else:
        raise CeremonyError(
            "no CSCA certificate on this server: pass --csca csca.pem / máy chủ chưa có "
            "chứng chỉ CSCA, hãy thêm --csca csca.pem"
        )
    try:
        cert.verify_directly_issued_by(csca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CeremonyError(
            f"the certificate is not signed by the CSCA {csca.subject.rfc4514_string()} / "
            "chứng chỉ không do CSCA ký"
        ) from exc
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CeremonyError(
            f"the certificate is not in force now (valid {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d}) / chứng chỉ không còn hiệu lực"
        )
    stem = _matching_key(store, _spki(cert.public_key()))
    if stem is None:
        raise CeremonyError(
            "the certificate is for no private key of this server (made by `tiemchung keys "
            "request-signer`) / chứng chỉ không khớp khoá riêng nào trên máy chủ này"
        )
    if csca_pem is not None and not csca_path.exists():
        csca_path.write_bytes(csca.public_bytes(serialization.Encoding.PEM))
    store.make_current(stem, cert)
    return stem


def _matching_key(store: KeyStore, spki: bytes) -> str | None:
    """The stem of the pending key (or the PKCS#11 key) whose public half is ``spki``."""
    if store.hsm is not None:
        from tiemchung.certificates.hsm import HsmKey

        hsm_key = HsmKey(store.hsm)
        try:
            if _spki(hsm_key.public_key()) == spki:
                return _stamp(datetime.now(UTC))
        finally:
            hsm_key.close()
        return None
    for path in sorted(store.folder.glob("dsc-*-key.pem")):
        stem = path.name.removesuffix("-key.pem")
        if (store.folder / f"{stem}.pem").exists():
            continue  # already installed
        if _spki(load_private(path, store.passphrase).public_key()) == spki:
            return stem
    return None
