"""The blocking rules: which register persons each identity the exact pass left is compared
with. Each rule is an equi-join condition between identity ``i`` and register person ``g``;
the candidates are their union (:meth:`tiemchung.reconcile.steps.Plan.candidates_sql`).

A rule reads the columns the inputs share and the place (``pward``/``pdistrict``: the typed
ward, else the ward the address names). Why each one holds, and why none grows with the
population, is in docs/reconcile.md (*predict*); tests/reconcile/test_model.py checks the
second on the rule texts.
"""

from __future__ import annotations

from typing import Protocol

#: the rules every identity the exact pass left is blocked with; the others only the
#: identities these leave without a near-certain candidate (run.stage_predict)
CORE_RULES = ("id", "old_id", "name_dob", "dob_place", "name_place", "phone_year", "address_year")
#: the last tier: broad keys, run beside the second rules but only for the identities whose
#: first rules' candidates are none plausible (run.stage_predict; ~9,000 in synth's 1M)
LAST_RULES = ("id_head", "address_name", "swapped_dob")


class _Spec(Protocol):
    def has(self, canonical: str) -> bool: ...


class Inputs(Protocol):
    """What the rules need to know of the inputs (:class:`tiemchung.reconcile.steps.Plan`)."""

    @property
    def reg(self) -> _Spec: ...

    @property
    def infers_place(self) -> bool: ...

    @property
    def places_by_site(self) -> bool: ...

    def both(self, col: str) -> bool: ...


def blocking_rules(plan: Inputs) -> dict[str, str]:
    """name -> join condition between identity ``i`` and register person ``g``.

    Every block stays the same size as the population grows (an ID, a ward, a household
    phone, a district on one birth day), or nearly (one folded name born on one day: ~10
    people for the commonest name in 100M; a surname in one ward in one birth year: ~30),
    so candidate pairs grow linearly with the records. A name with a birth *year* alone
    would not: that block holds ~40 people for a common name in a 1M register and ~4,000
    in 100M, so every rule with a year also names a ward, a district or a part of an ID,
    or applies only to records that have no place at all.

    The place is ``pward``/``pdistrict``: the typed ward, else the ward the address names
    (:func:`tiemchung.reconcile.places.address_place_sql`). Rules are chosen so that a record
    keeps its person when any two fields are wrong or missing, the hard case being no ID, a
    name typo and no or a wrong ward: the ID's head or tail with the date of birth (one
    digit wrong, swapped or dropped leaves one intact), the surname or the given name (a
    typo is in one of them) with the birth year and the ward, the name's words in any order
    with the year and the district (a year-only date of birth typed in another order)."""
    rules = {}
    ids, names, dob = plan.both("national_id"), plan.both("full_name"), plan.both("dob")
    place = plan.both("ward_code") or plan.infers_place
    if ids:
        rules["id"] = "g.nid = i.id_key"
        if plan.reg.has("old_id"):
            rules["old_id"] = "g.old_id = i.id_key"
    if names and dob:
        rules["name_dob"] = "g.name_fold = i.name_fold AND g.dob_iso = i.dob_iso"
    if dob and place:
        rules["dob_place"] = "g.dob_iso = i.dob_iso AND g.ward = i.pward"
        # the ward wrong too (a neighbouring ward): the district, narrowed by the
        # surname's first letter (which a typo rarely hits)
        rules["dob_district"] = (
            "g.dob_iso = i.dob_iso AND g.district = i.pdistrict "
            "AND left(g.surname, 1) = left(i.surname, 1)"
        )
    if names and place:
        rules["name_place"] = "g.name_fold = i.name_fold AND g.ward = i.pward"
        if dob:
            rules["name_year_district"] = (
                "g.name_fold = i.name_fold AND g.dob_y = i.dob_y AND g.district = i.pdistrict"
            )
    if plan.both("phone") and dob:
        rules["phone_year"] = "g.phone = i.phone AND g.dob_y = i.dob_y"
    if ids and dob:
        # one keystroke in an ID leaves its head or its tail intact. A CCCD's first six
        # digits only say province, sex and birth year, and its last six are random: so
        # the head with the birth date, and the tail with the date, or its last five
        # digits with the year (~12 people in 100M)
        rules["id_head_dob"] = "left(g.nid, 6) = left(i.id_key, 6) AND g.dob_iso = i.dob_iso"
        rules["id_tail_dob"] = "right(g.nid, 4) = right(i.id_key, 4) AND g.dob_iso = i.dob_iso"
        rules["id_tail_year"] = "right(g.nid, 5) = right(i.id_key, 5) AND g.dob_y = i.dob_y"
        # an ID of another format, shorter (FEBRL's 7 digits, a passport): its first and its
        # last half with the birth date, the middle character in neither (a CCCD's halves
        # are the rules above)
        half = "CAST(floor(length({c}) / 2) AS INT)"
        gh, ih = half.format(c="g.nid"), half.format(c="i.id_key")
        short = "length(i.id_key) < 10"
        rules["id_first_half_dob"] = (
            f"left(g.nid, {gh}) = left(i.id_key, {ih}) AND g.dob_iso = i.dob_iso AND {short}"
        )
        rules["id_last_half_dob"] = (
            f"right(g.nid, {gh}) = right(i.id_key, {ih}) AND g.dob_iso = i.dob_iso AND {short}"
        )
    if names and dob and place:
        # a typo in the given name or the surname, another word order, or a wrong birth
        # year (off by one, a placeholder) with a mistyped name -- each with the ward or
        # district, narrowed by a first letter where the block would be big (a surname in
        # one ward and birth year is ~30 people, a birth day and month ~20). With an ID
        # too: these run only for records the first rules left without a near-certain
        # candidate, whose ID is then no help (a relative's, or two digits off)
        rules["sorted_year_place"] = (
            "g.name_sorted = i.name_sorted AND g.dob_y = i.dob_y AND g.district = i.pdistrict"
        )
        rules["surname_year_ward"] = (
            "g.surname = i.surname AND left(g.given, 1) = left(i.given, 1) "
            "AND g.dob_y = i.dob_y AND g.ward = i.pward"
        )
        rules["given_year_ward"] = "g.given = i.given AND g.dob_y = i.dob_y AND g.ward = i.pward"
        rules["day_ward"] = (
            "g.dob_m = i.dob_m AND g.dob_d = i.dob_d AND g.ward = i.pward "
            "AND left(g.surname, 1) = left(i.surname, 1)"
        )
    if names and dob:
        # a record with no place at all (no ward, no address that names one): the given
        # name born on one day, the name's words born in one year. Only for those: a
        # name and a year across the country is a big block, but few records lack a place
        noplace = " AND i.pdistrict IS NULL" if place else ""
        rules["given_dob"] = f"g.given = i.given AND g.dob_iso = i.dob_iso{noplace}"
        rules["sorted_year"] = f"g.name_sorted = i.name_sorted AND g.dob_y = i.dob_y{noplace}"
        rules["sorted_day"] = (
            f"g.name_sorted = i.name_sorted AND g.dob_m = i.dob_m AND g.dob_d = i.dob_d{noplace}"
        )
        if not place:
            rules["surname_dob"] = "g.surname = i.surname AND g.dob_iso = i.dob_iso"
    if plan.both("address"):
        # one address (its token set: a household, or a hamlet) in one birth year, or one
        # house's numbers born on one day
        # (only for records typed without a ward code: the others have the ward's rules)
        rules["address_year"] = "g.addr_toks = i.addr_toks AND g.dob_y = i.dob_y AND i.ward IS NULL"
        # ...and, among the second rules, for the others too: their ward may be wrong
        rules["address_year_ward"] = (
            "g.addr_toks = i.addr_toks AND g.dob_y = i.dob_y AND i.ward IS NOT NULL"
        )
        if dob:
            # two numbers at least (house and alley, house and postcode): one number
            # alone ("Thôn 3") is shared by a hamlet in every commune of the country
            rules["addr_num_dob"] = (
                "g.addr_num = i.addr_num AND g.dob_iso = i.dob_iso AND i.addr_num LIKE '% %'"
            )
    if ids and (place or plan.places_by_site):
        # an ID one keystroke off with the date of birth wrong too (a placeholder, a year
        # off): the ID's last five digits (random: ~2 people in a district of 200,000) with
        # the district. (Its first six with the ward found a tenth as many more, for four
        # times the pairs: measured on bench/gen2 at 1M people)
        rules["id_tail_district"] = (
            "right(g.nid, 5) = right(i.id_key, 5) "
            "AND g.district = coalesce(i.pdistrict, i.sdistrict)"
        )
    if names and dob and (place or plan.places_by_site):
        # the name right (its words in any order), the birth year off and the ward a
        # neighbour's: the name born on one day and month in the district
        rules["name_day_district"] = (
            "g.name_sorted = i.name_sorted AND g.dob_m = i.dob_m AND g.dob_d = i.dob_d "
            "AND g.district = coalesce(i.pdistrict, i.sdistrict)"
        )
    if names and dob and plan.places_by_site:
        # where the record's site's people live (``sward`` / ``sdistrict``, learnt from the
        # records the exact pass linked) when the record has no place or another one, with
        # the rules a typed ward has
        rules["site_dob"] = "g.dob_iso = i.dob_iso AND g.ward = i.sward"
        rules["site_name"] = "g.name_fold = i.name_fold AND g.district = i.sdistrict"
        rules["site_surname_year"] = (
            "g.surname = i.surname AND left(g.given, 1) = left(i.given, 1) "
            "AND g.dob_y = i.dob_y AND g.ward = i.sward"
        )
        rules["site_given_year"] = "g.given = i.given AND g.dob_y = i.dob_y AND g.ward = i.sward"
        rules["site_day"] = (
            "g.dob_m = i.dob_m AND g.dob_d = i.dob_d AND g.ward = i.sward "
            "AND left(g.surname, 1) = left(i.surname, 1)"
        )
        # ...or only its district (a district hospital's people; ~7 of 200,000 people share
        # a birth date, ~12 a given name and a birth year, ~30 a surname, a given name's
        # first three letters and a birth year)
        rules["site_dob_district"] = "g.dob_iso = i.dob_iso AND g.district = i.sdistrict"
        rules["site_given_year_district"] = (
            "g.given = i.given AND g.dob_y = i.dob_y AND g.district = i.sdistrict"
        )
        rules["site_surname_year_district"] = (
            "g.surname = i.surname AND left(g.given, 3) = left(i.given, 3) "
            "AND g.dob_y = i.dob_y AND g.district = i.sdistrict"
        )
    rules.update(_last_rules(plan, ids=ids, names=names, dob=dob))
    if names and dob and not place:
        # no date of birth and no place: the name alone (bounded by its frequency)
        rules["name_nodob"] = "g.name_fold = i.name_fold AND i.dob_y IS NULL"
    if "name_place" not in rules and "name_dob" not in rules and names:
        # no ward and no date of birth to narrow it: name alone (bounded by name frequency)
        rules["name"] = "g.name_fold = i.name_fold"
    return rules


def _last_rules(plan: Inputs, *, ids: bool, names: bool, dob: bool) -> dict[str, str]:
    """The last tier (:data:`LAST_RULES`): for a record that no candidate of the first
    rules fits on two of name, date of birth, place and ID, the register persons who share
    two *partial* keys with it. Their blocks grow with the population (the numbers of an
    address are shared by a house in every commune), which only the few identities they
    run for make affordable. What they found on FEBRL4, where the rules before left 25
    records in the register with no candidate at all (measured key by key, and the
    smallest set kept): an ID one keystroke off keeps its first half, with the address's
    numbers (house and postcode) or the surname and the given name's initial (10 records);
    a mistyped name keeps one word, with the address's numbers (11, 8 of them new); a name
    typed in another order with a typo keeps one word in the other place, with the date of
    birth (2 more): 20 of the 25. Three rules, not one per pair of keys: each join reads
    the register."""
    rules: dict[str, str] = {}
    addr = plan.both("address")
    # two numbers at least: one number alone ("Thôn 3", a postcode) is a whole village
    nums = "g.addr_num = i.addr_num AND i.addr_num LIKE '% %'"
    surname = "g.surname = i.surname AND left(g.given, 1) = left(i.given, 1)"
    # (one join a rule, its key the equality that comes first: each join reads the register)
    if ids:
        # an ID of another format (FEBRL's 7 digits, a passport): a CCCD's head is a
        # province's birth year (~100 people in 1M; its tail has the second rules)
        half = "CAST(floor(length({c}) / 2) AS INT)"
        head = (
            f"left(g.nid, {half.format(c='g.nid')}) = left(i.id_key, {half.format(c='i.id_key')})"
        )
        also = f"({nums}) OR ({surname})" if addr and names else (nums if addr else surname)
        if addr or names:
            # (the register's side filtered too: where every ID is a CCCD the join is empty
            # and reads no register ID's head)
            short = "length(i.id_key) < 10 AND length(g.nid) < 10"
            rules["id_head"] = f"{head} AND {short} AND ({also})"
    if addr and names:
        rules["address_name"] = f"{nums} AND (g.given = i.given OR ({surname}))"
    if names and dob:
        # the words swapped (a form asking the surname last) and one of them mistyped
        rules["swapped_dob"] = (
            "g.dob_iso = i.dob_iso AND (g.surname = i.given OR g.given = i.surname)"
        )
    return rules
