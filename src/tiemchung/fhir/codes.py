"""The code systems and identifier systems the FHIR resources use, in one place, so a partner
reads one list (the ``CapabilityStatement`` and docs/fhir.md name them too).

The national ID systems are the platform's own URIs until the ministry publishes a
NamingSystem: the 12-digit citizen ID (CCCD / số định danh cá nhân) and the old 9-digit
identity card (CMND) are distinct systems, as issue 19 asks, so a partner never mistakes one
for the other.
"""

from __future__ import annotations

BASE = "https://tiemchung.vn/fhir"

CCCD_SYSTEM = f"{BASE}/sid/cccd"  # the 12-digit personal identification number
CMND_SYSTEM = f"{BASE}/sid/cmnd"  # the old 9-digit identity card number
PERSON_SYSTEM = f"{BASE}/sid/register-person"  # the population register's person id
SITE_SYSTEM = f"{BASE}/sid/site"  # a vaccination site's id (the catalogue's site_id)
WARD_EXTENSION = f"{BASE}/StructureDefinition/ward-code"
PROVINCE_EXTENSION = f"{BASE}/StructureDefinition/province-code"
PRODUCT_SYSTEM = f"{BASE}/CodeSystem/product"

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
