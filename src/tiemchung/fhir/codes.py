"""The code systems and identifier systems the FHIR resources use, in one place, so a partner
reads one list (``/NamingSystem``, the ``CapabilityStatement`` and docs/fhir.md name them).

The identifier systems are decided here, for real: Vietnam publishes no FHIR NamingSystem for
the 12-digit personal identification number (CCCD / số định danh cá nhân) nor the old 9-digit
identity card (CMND), so they are URIs under a base the installation owns
(``TIEMCHUNG_FHIR_SYSTEM_BASE``, default :data:`DEFAULT_BASE`), published as ``NamingSystem``
resources at ``/fhir/R4/NamingSystem``. The two ID numbers are distinct systems, as issue 19
asks, so a partner never mistakes one for the other. Should the ministry publish official
URIs, each NamingSystem lists ours beside them and the base moves in one setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

#: the project's own base when the installation names none (the project's domain)
DEFAULT_BASE = "https://tiemchung.vn/fhir"

#: EU DCC ``vaccine-medicinal-product``: the EU register's system for a centrally authorised
#: product (``EU/1/…``), the value set's temporary system for the others (as the DCC does)
EU_PRODUCT_SYSTEM = "https://ec.europa.eu/health/documents/community-register/html/"
EU_TEMP_PRODUCT_SYSTEM = "http://ec.europa.eu/temp/vaccineproductname"
SNOMED = "http://snomed.info/sct"
ATC_SYSTEM = "http://www.whocc.no/atc"
COVID19 = ("840539006", "COVID-19")  # SNOMED CT, the DCC's disease-agent-targeted

#: WHO ATC codes of the products where known (ATC J07BN since 2022: RNA, viral vector,
#: inactivated virus, protein subunit)
ATC: dict[str, tuple[str, str]] = {
    "PFIZER": ("J07BN01", "covid-19, RNA-based vaccine"),
    "MODERNA": ("J07BN01", "covid-19, RNA-based vaccine"),
    "AZ": ("J07BN02", "covid-19, viral vector, non-replicating"),
    "SPUTNIKV": ("J07BN02", "covid-19, viral vector, non-replicating"),
    "VEROCELL": ("J07BN03", "covid-19, inactivated virus"),
    "HAYATVAX": ("J07BN03", "covid-19, inactivated virus"),
    "ABDALA": ("J07BN04", "covid-19, protein subunit"),
}


def eu_product_system(mp: str) -> str:
    return EU_PRODUCT_SYSTEM if mp.startswith("EU/") else EU_TEMP_PRODUCT_SYSTEM


@dataclass(frozen=True)
class Systems:
    """Every URI of ours under one base (``systems(base)`` builds it; the routes take the
    installation's from its settings)."""

    base: str

    @property
    def cccd(self) -> str:  # the 12-digit personal identification number
        return f"{self.base}/sid/cccd"

    @property
    def cmnd(self) -> str:  # the old 9-digit identity card number
        return f"{self.base}/sid/cmnd"

    @property
    def person(self) -> str:  # the population register's person id
        return f"{self.base}/sid/register-person"

    @property
    def site(self) -> str:  # a vaccination site's id (the catalogue's site_id)
        return f"{self.base}/sid/site"

    @property
    def organization(self) -> str:  # a unit's id (fhir/places.py: the model of units)
        return f"{self.base}/sid/organization"

    @property
    def ward_extension(self) -> str:
        return f"{self.base}/StructureDefinition/ward-code"

    @property
    def province_extension(self) -> str:
        return f"{self.base}/StructureDefinition/province-code"

    @property
    def product(self) -> str:  # the platform's product codes (the catalogue)
        return f"{self.base}/CodeSystem/product"

    @property
    def priority_group(self) -> str:  # the priority groups' codes (issue 18's table)
        return f"{self.base}/CodeSystem/priority-group"

    @property
    def site_kind(self) -> str:  # a site's kind (health station, hospital, mobile team…)
        return f"{self.base}/CodeSystem/site-kind"


def _check_base(base: str) -> str:
    base = base.strip().rstrip("/")
    if not base.startswith(("https://", "http://", "urn:")) or " " in base:
        raise ValueError(
            f"TIEMCHUNG_FHIR_SYSTEM_BASE phải là một URI tuyệt đối (https://…) / "
            f"must be an absolute URI (https://…): {base!r}"
        )
    return base


@lru_cache(maxsize=8)
def systems(base: str = DEFAULT_BASE) -> Systems:
    """The URIs under ``base`` (an absolute URI; a trailing ``/`` is dropped); a malformed
    base is refused when the server starts rather than published to partners."""
    return Systems(_check_base(base))
