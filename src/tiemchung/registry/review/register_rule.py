"""The desk's verification rule as set-based SQL, for re-checking stored doses in bulk.

When the register changes people (``tiemchung register pull``), their stored doses must be
judged again by the very rule the desk and the dose path judge one typed record by
(:func:`tiemchung.registry.doses.verify.decide` over :func:`tiemchung.registry.fields.
identity_agrees`): the name the same in its stored (standard display) form, the date of birth
compatible (:func:`tiemchung.identity.dates.iso_compatible`: equal on every part both know),
the sex equal when both know it, and a typed ID found by the register's 12-digit or old ID.
Here that rule is written once as SQL over the store's own columns (``doses`` and ``persons``),
so one statement judges a hundred thousand doses; ``tests/registry/test_register_recheck_rule.py``
runs it on both backends against ``verify.decide`` over a table of cases.

Why not ``reconcile/decide.field_checks``: it speaks the reconciliation's standardised columns
(``id_key``, ``name_norm``, ``dob_y``/``dob_m``/``dob_d``) that only exist inside a DuckDB run,
and its rule is the reconciliation's (a partial date is *incomplete*, a ward differs *wrong*),
not the desk's. A dose that the desk would verify must verify here, so the desk's rule it is;
its date part is the prefix form of ``iso_compatible`` (as ``verify.dob_condition``).

The folded name (``identity.fold_name``: no diacritics, lower case) has no SQL form on both
backends; a dose has no folded column, so the caller folds candidate doses' names in Python
and hands them over in the ``rc_cand`` table (see ``register_recheck.py``).
"""

from __future__ import annotations

#: what verify.decide answers
VERIFIED, MISMATCH, AMBIGUOUS, NOT_FOUND = "verified", "mismatch", "ambiguous", "not_found"


def dob_compatible(a: str, b: str) -> str:
    """``iso_compatible(a, b)``: either unknown, or equal over the shorter one's length."""
    return (
        f"(coalesce({a}, '') = '' OR coalesce({b}, '') = '' OR "
        f"substr({a}, 1, length({b})) = substr({b}, 1, length({a})))"
    )


def identity_agrees(d: str = "d", p: str = "p") -> str:
    """``fields.identity_agrees(p, d.full_name, d.dob, d.sex)`` on a dose row ``d`` (or the
    candidate table) and a person row ``p``. Never NULL."""
    return (
        f"(coalesce({d}.full_name = {p}.full_name, FALSE) AND "
        f"{dob_compatible(f'{d}.dob', f'{p}.dob')} AND "
        f"({d}.sex IS NULL OR {p}.sex IS NULL OR {d}.sex = {p}.sex))"
    )


def id_is_persons(d: str = "d", p: str = "p", col: str = "national_id") -> str:
    """No ID typed, or the typed one is the person's 12-digit or old ID (the dose path's
    ``_link_person``). Never NULL."""
    return (
        f"({d}.{col} IS NULL OR {d}.{col} = coalesce({p}.national_id, '') "
        f"OR {d}.{col} = coalesce({p}.old_id, ''))"
    )


def differs(d: str = "d", p: str = "p", col: str = "national_id") -> list[tuple[str, str]]:
    """(field, SQL that it differs) as the desk's ``verify.mismatches`` lists them; the ward
    last, reported but never deciding (people move). Each never NULL."""
    return [
        ("national_id", f"NOT {id_is_persons(d, p, col)}"),
        ("full_name", f"NOT coalesce({d}.full_name = {p}.full_name, FALSE)"),
        ("dob", f"NOT {dob_compatible(f'{d}.dob', f'{p}.dob')}"),
        ("sex", f"coalesce({d}.sex <> {p}.sex, FALSE)"),
        ("ward_code", f"coalesce({d}.ward_code <> {p}.ward_code, FALSE)"),
    ]


DECISIVE = ("national_id", "full_name", "dob", "sex")


def flags_sql(d: str = "d", p: str = "p", col: str = "national_id") -> str:
    """The differing fields as one text, ``dob;sex``: ``;`` after each, the last trimmed."""
    parts = " || ".join(f"CASE WHEN {sql} THEN '{f};' ELSE '' END" for f, sql in differs(d, p, col))
    return f"rtrim({parts}, ';')"


def pairs_sql() -> str:
    """Every (candidate dose, register person) the desk's two look-ups would find: ``id`` by
    the typed ID (12-digit or old), ``nd`` by folded name and a compatible date of birth;
    ``ok`` when the identity agrees, ``ward`` when the typed ward is the person's."""
    agree = f"CASE WHEN {identity_agrees('c', 'p')} THEN 1 ELSE 0 END"
    ward = "CASE WHEN c.ward_code = p.ward_code THEN 1 ELSE 0 END"
    by_id = f"c.dose_id, p.id, 'id', {agree}, {ward}"
    by_nd = f"c.dose_id, p.id, 'nd', {agree}, {ward}"
    # the date of birth as verify.dob_condition asks it, so that the (name_key, dob) index
    # answers: a register date equal to the typed one or less precise (one of its prefixes),
    # or more precise within it; together exactly dob_compatible (a register person with no
    # date is not found by name, as at the desk)
    typed = "coalesce(c.dob, '') <> '' AND c.full_name IS NOT NULL"
    return (
        "INSERT INTO rc_pairs (dose_id, pk, via, ok, ward) "
        f"SELECT {by_id} FROM rc_cand c "
        "JOIN persons p ON p.national_id = c.nid "
        f"UNION ALL SELECT {by_id} FROM rc_cand c "
        "JOIN persons p ON p.old_id = c.nid "
        f"UNION ALL SELECT {by_nd} FROM rc_cand c JOIN persons p ON p.name_key = c.name_key "
        "AND p.dob IN (substr(c.dob, 1, 4), substr(c.dob, 1, 7), c.dob) "
        f"WHERE {typed} "
        f"UNION ALL SELECT {by_nd} FROM rc_cand c JOIN persons p ON p.name_key = c.name_key "
        "AND p.dob > c.dob AND p.dob < c.dob || '-99' AND length(p.dob) > length(c.dob) "
        f"WHERE {typed}"
    )


def _n(cond: str) -> str:
    return f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _one(cond: str) -> str:
    return f"max(CASE WHEN {cond} THEN pk END)"


def decide_sql() -> str:
    """verify.decide for every candidate dose at once, from ``rc_pairs``: (dose_id, status,
    the person when one was chosen, ``via`` of the pool the desk would show). The branches in
    ``decide``'s order: by ID (one agreeing: verified; one found: mismatch; else ambiguous);
    no ID found: by name and date of birth (with a typed ID that is nobody's, never verified;
    one agreeing: verified; one found: mismatch; the typed ward telling the pool apart; else
    ambiguous)."""
    ids, nds = "via = 'id'", "via = 'nd'"
    agg = (
        "SELECT dose_id, "
        f"{_n(ids)} AS n_id, {_n(ids + ' AND ok = 1')} AS n_id_ok, "
        f"{_one(ids + ' AND ok = 1')} AS id_ok_pk, {_one(ids)} AS id_pk, "
        f"{_n(nds)} AS n_nd, {_n(nds + ' AND ok = 1')} AS n_nd_ok, "
        f"{_one(nds + ' AND ok = 1')} AS nd_ok_pk, {_one(nds)} AS nd_pk, "
        f"{_n(nds + ' AND ward = 1')} AS n_w, {_n(nds + ' AND ok = 1 AND ward = 1')} AS n_w_ok, "
        f"{_one(nds + ' AND ward = 1')} AS w_pk, {_one(nds + ' AND ok = 1 AND ward = 1')} "
        "AS w_ok_pk FROM rc_pairs GROUP BY dose_id"
    )
    by_id = "c.nid IS NOT NULL AND a.n_id > 0"
    pool = "CASE WHEN a.n_nd_ok > 0 THEN a.n_nd_ok ELSE a.n_nd END"
    pool_ward = "CASE WHEN a.n_nd_ok > 0 THEN a.n_w_ok ELSE a.n_w END"
    status = (
        "CASE "
        f"WHEN {by_id} AND a.n_id_ok = 1 THEN '{VERIFIED}' "
        f"WHEN {by_id} AND a.n_id = 1 THEN '{MISMATCH}' "
        f"WHEN {by_id} THEN '{AMBIGUOUS}' "
        f"WHEN coalesce(a.n_nd, 0) = 0 THEN '{NOT_FOUND}' "
        f"WHEN c.nid IS NOT NULL AND (a.n_nd = 1 OR {pool} = 1) THEN '{MISMATCH}' "
        f"WHEN c.nid IS NOT NULL THEN '{AMBIGUOUS}' "
        f"WHEN a.n_nd_ok = 1 THEN '{VERIFIED}' "
        f"WHEN a.n_nd = 1 THEN '{MISMATCH}' "
        f"WHEN c.ward_code IS NOT NULL AND {pool_ward} = 1 AND a.n_nd_ok > 0 THEN '{VERIFIED}' "
        f"WHEN c.ward_code IS NOT NULL AND {pool_ward} = 1 THEN '{MISMATCH}' "
        f"ELSE '{AMBIGUOUS}' END"
    )
    person = (
        "CASE "
        f"WHEN {by_id} AND a.n_id_ok = 1 THEN a.id_ok_pk "
        f"WHEN {by_id} AND a.n_id = 1 THEN a.id_pk "
        f"WHEN {by_id} THEN NULL "
        "WHEN coalesce(a.n_nd, 0) = 0 THEN NULL "
        "WHEN a.n_nd = 1 THEN a.nd_pk "
        f"WHEN c.nid IS NOT NULL AND {pool} = 1 THEN a.nd_ok_pk "
        "WHEN c.nid IS NOT NULL THEN NULL "
        "WHEN a.n_nd_ok = 1 THEN a.nd_ok_pk "
        f"WHEN c.ward_code IS NOT NULL AND {pool_ward} = 1 AND a.n_nd_ok > 0 THEN a.w_ok_pk "
        f"WHEN c.ward_code IS NOT NULL AND {pool_ward} = 1 THEN a.w_pk "
        "ELSE NULL END"
    )
    via = f"CASE WHEN {by_id} THEN 'id' ELSE 'nd' END"
    only_ok = (
        f"CASE WHEN {by_id} THEN (CASE WHEN a.n_id_ok > 0 AND a.n_id > 1 THEN 1 ELSE 0 END) "
        "ELSE (CASE WHEN a.n_nd_ok > 0 AND a.n_nd > 1 THEN 1 ELSE 0 END) END"
    )
    return (
        f"SELECT c.dose_id, {status} AS status, {person} AS pk, {via} AS via, "
        f"{only_ok} AS only_ok FROM rc_cand c LEFT JOIN ({agg}) a ON a.dose_id = c.dose_id"
    )
