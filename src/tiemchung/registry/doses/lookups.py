"""The reference data one call of the dose path reads, looked up once per call.

A batch names a handful of sites, wards, products and lots a thousand times, and each
catalog lookup checks its freshness (registry/catalog/products.py); registry/doses/record.py
asks this per-call memo instead.
"""

from __future__ import annotations

from tiemchung.registry.catalog.products import Catalog, WardInfo
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.models import Lot, Product, Site


class Lookups:
    """Reference data looked up once per call: a batch names a handful of sites, wards,
    products and lots a thousand times, and each catalog lookup checks its freshness. One
    dict per kind, so a hit is one dict lookup (no key tuple built per lookup)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._sites: dict[str, Site | None] = {}
        self._wards: dict[str, WardInfo | None] = {}
        self._products: dict[str, Product | None] = {}
        self._lots: dict[tuple[str, str], Lot | None] = {}

    def site(self, site_id: str) -> Site | None:
        try:
            return self._sites[site_id]
        except KeyError:
            found = self._sites[site_id] = self._catalog.site(site_id)
            return found

    def ward(self, code: str) -> WardInfo | None:
        try:
            return self._wards[code]
        except KeyError:
            found = self._wards[code] = self._catalog.ward(code)
            return found

    def product(self, code: str) -> Product | None:
        try:
            return self._products[code]
        except KeyError:
            found = self._products[code] = self._catalog.product(code)
            return found

    def interval_of(self, product_code: str, dose_number: int) -> int:
        """Minimum days after a dose of this product before dose ``dose_number`` (0 if the
        product is unknown; the booster interval past its primary series)."""
        return dose_rules.interval_before(self.product(product_code), dose_number)

    def lot(self, product_code: str, lot_number: str) -> Lot | None:
        key = (product_code, lot_number)
        try:
            return self._lots[key]
        except KeyError:
            found = self._lots[key] = self._catalog.lot(product_code, lot_number)
            return found
