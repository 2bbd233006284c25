"""Finding a ward's GSO code by its name (`tiemchung sites wards`): the codes expected here are
the General Statistics Office's 2021 codes, stated from the published list, not read back
from the code under test."""

from __future__ import annotations

import pytest

from tiemchung.core import Platform
from tiemchung.registry.catalog.places import find_wards

#: Phường Hưng Dũng, Thành phố Vinh, Nghệ An; Xã Hùng Dũng, Huyện Hưng Hà, Thái Bình
HUNG_DUNG_VINH, HUNG_DUNG_THAI_BINH = "16675", "12607"
#: Phường Nghi Phú, Thành phố Vinh
NGHI_PHU_VINH = "16702"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_name_without_accents_finds_the_ward(platform: Platform) -> None:
    with platform.sessions() as s:
        assert [h.code for h in find_wards(s, "hung dung vinh")] == [HUNG_DUNG_VINH]
        both = [h.code for h in find_wards(s, "Hưng Dũng")]
        # the ward's own name first, accents aside; "Trung Dũng" only later (its province
        # is Hưng Yên), never before
        assert set(both[:2]) == {HUNG_DUNG_VINH, HUNG_DUNG_THAI_BINH}
        hit = find_wards(s, HUNG_DUNG_VINH)[0]
        assert (hit.name, hit.district, hit.province_code) == (
            "Phường Hưng Dũng",
            "Thành phố Vinh",
            "40",
        )
        assert [h.code for h in find_wards(s, "hung dung", province_code="34")] == [
            HUNG_DUNG_THAI_BINH
        ]
        # "phu" is the whole word Phú before it is the start of every "Phường"
        assert find_wards(s, "nghi phu vinh")[0].code == NGHI_PHU_VINH
        assert find_wards(s, "zzz") == [] and find_wards(s, "   ") == []
        assert len(find_wards(s, "phuong", limit=5)) == 5
