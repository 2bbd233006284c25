"""EU Digital COVID Certificates: issue, sign, print and verify (issue 7).

* :mod:`.hcert` — the HCERT codec (CWT in COSE_Sign1, zlib, Base45, ``HC1:``)
* :mod:`.verify` — :func:`verify`, one verifier for ours and every other country's
* :mod:`.keys` — the CSCA and document signers, the trust list
* :mod:`.service` — issuing from verified doses, revocation (database)
* :mod:`.pdf` — the printable A4 certificate
"""

from tiemchung.certificates.verify import STEPS, Trust, Verdict, verify, verify_image

__all__ = ["STEPS", "Trust", "Verdict", "verify", "verify_image"]
