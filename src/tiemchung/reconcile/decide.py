"""Scoring, classification and the record-level decisions, as SQL built from the model.

* **best**: each identity's candidates weighted (sum of log2 m/u, names term-frequency
  adjusted), the best kept with the sum over all its candidates;
* **decided**: the posterior of the best, the decision (auto / review / not found), the
  fields that are wrong, the register values that correct them, the explanation;
* the records stage (conflicts, double entries, the ``links`` rows) is in :mod:`.entries`.
"""

from __future__ import annotations

import math

from .comparisons import Comparison, dob_compatible_sql
from .model import Model
from .steps import UNREAD_BITS, Plan

LINK_COLUMNS = (
    "record_id",
    "person_id",
    "action",
    "match_probability",
    "mismatches",
    "incomplete",
    "corrections",
    "duplicate_of",
    "explanation",
    "candidates",
)
#: register persons listed for a record sent to review (best first)
TOP_CANDIDATES = 3


#: field names as the explanation writes them (it is repeated on millions of rows)
SHORT = {"national_id": "id", "full_name": "name", "ward_code": "ward"}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _num(x: float) -> str:
    """A double literal: a bare ``19.93`` is a DECIMAL in both DuckDB and Spark, whose
    arithmetic rules differ; doubles make both engines compute the same weights."""
    return f"CAST({float(x)!r} AS DOUBLE)"


def _log2(x: float) -> float:
    return math.log2(max(float(x), 1e-300))


def weight_sql(comp: Comparison, model: Model, prefix: str = "") -> str:
    """Match weight (log2 Bayes factor) of one comparison; on a term-frequency level the
    register frequency of the value replaces u, so a common name weighs less than a rare."""
    p = model.params(comp.name)
    assert p is not None
    parts = ["WHEN -1 THEN 0.0"]
    for k, (w, m, tf) in enumerate(zip(p.weights(), p.m, p.tf, strict=True)):
        if tf:
            parts.append(f"WHEN {k} THEN {_num(_log2(m))} - log2(greatest({prefix}{tf}, 1e-9))")
        else:
            parts.append(f"WHEN {k} THEN {_num(w)}")
    return f"(CASE {prefix}{comp.gamma} {' '.join(parts)} ELSE 0.0 END)"


def total_weight_sql(plan: Plan, model: Model) -> str:
    return " + ".join(weight_sql(c, model) for c in plan.comparisons) or "0.0"


def best_sql(plan: Plan, model: Model) -> str:
    """Best candidate of each identity the exact pass left (``scored_in``), with ``z`` = sum
    over its candidates of 2^(w - w_best); ties broken by person_id, so every engine picks
    the same."""
    w = total_weight_sql(plan, model)
    g = "".join(f"{c.gamma}, " for c in plan.comparisons)
    rg = "".join(f"r.{c.gamma}, " for c in plan.comparisons)
    tf = ", ".join(plan.tf_columns)
    rtf = ", ".join(f"r.{c}" for c in plan.tf_columns)
    return (
        f"WITH s AS (SELECT iid, person_id, {g}{tf}, {w} AS w FROM scored_in), "
        "r AS (SELECT *, row_number() OVER (PARTITION BY iid ORDER BY w DESC, person_id) "
        "AS rk, max(w) OVER (PARTITION BY iid) AS wmax FROM s), "
        "z AS (SELECT iid, sum(pow(2.0, w - wmax)) AS z, count(*) AS n_cand FROM r "
        "GROUP BY iid), "
        "nx AS (SELECT iid, person_id AS next_person, w AS next_w FROM r WHERE rk = 2) "
        f"SELECT r.iid, r.person_id, {rg}{rtf}, r.w, z.z, z.n_cand, "
        "r.w + log2(z.z) AS lz, nx.next_person, nx.next_w "
        "FROM r JOIN z ON z.iid = r.iid LEFT JOIN nx ON nx.iid = r.iid WHERE r.rk = 1"
    )


def runners_up_sql(plan: Plan, model: Model, top: int = TOP_CANDIDATES) -> str:
    """The 2nd..``top``-th candidates of each probabilistic identity (rank and weight), for
    the candidates a reviewer is shown; ranked exactly as :func:`best_sql` ranks."""
    w = total_weight_sql(plan, model)
    return (
        f"SELECT iid, person_id, w, rk FROM (SELECT iid, person_id, w, row_number() OVER "
        "(PARTITION BY iid ORDER BY w DESC, person_id) AS rk FROM (SELECT iid, person_id, "
        f"{w} AS w FROM scored_in) s) r WHERE rk BETWEEN 2 AND {int(top)}"
    )


def candidates_sql(plan: Plan, model: Model, n_register: int) -> str:
    """Per identity sent to review by its score: a JSON list, best first, of
    ``{"person_id", "match_probability", "mismatches": [..], "incomplete": [..],
    "corrections": {..}}``.

    Candidate j's posterior is P(best) * 2^(w_j - w_best) (same denominator)."""
    d = plan.dialect
    checks = field_checks(plan)

    def jlist(items: list[tuple[str, str]]) -> str:
        if not items:
            return "'[]'"
        each = ", ".join(f"CASE WHEN {c} THEN '\"{f}\"' END" for f, c in items)
        return f"concat('[', concat_ws(', ', {each}), ']')"

    mlist = jlist([(f, w) for f, w, _i, _v in checks])
    ilist = jlist([(f, inc) for f, _w, inc, _v in checks])
    one = (
        f'concat(\'{{"person_id": "\', {d.json_escape("c.person_id")}, '
        f'\'", "match_probability": \', {d.fmt_prob("c.p")}, '
        f"', \"mismatches\": ', {mlist}, ', \"incomplete\": ', {ilist}, "
        f"', \"corrections\": ', {_corrections_sql(plan)}, '}}')"
    )
    post = posterior_sql(model, n_register)
    return (
        "WITH rv AS (SELECT iid FROM decided WHERE decision = 'review' AND person_id IS NOT NULL), "
        f"b AS (SELECT b.iid, b.person_id, b.w, {post} AS p FROM best b "
        "JOIN rv ON rv.iid = b.iid), "
        "c AS (SELECT iid, person_id, 1 AS rk, p FROM b UNION ALL "
        "SELECT t.iid, t.person_id, t.rk, b.p * pow(2.0, t.w - b.w) AS p "
        "FROM runners_up t JOIN b ON b.iid = t.iid), "
        f"j AS (SELECT c.iid, c.rk, {one} AS js FROM c JOIN ident i ON i.iid = c.iid "
        "JOIN reg g ON g.person_id = c.person_id) "
        "SELECT j1.iid, concat('[', concat_ws(', ', j1.js, j2.js, j3.js), ']') AS candidates "
        "FROM j j1 LEFT JOIN j j2 ON j2.iid = j1.iid AND j2.rk = 2 "
        "LEFT JOIN j j3 ON j3.iid = j1.iid AND j3.rk = 3 WHERE j1.rk = 1"
    )


def posterior_sql(model: Model, n_register: int, z: str = "b.z", w: str = "b.w") -> str:
    """P(best | data): each identity is somebody in the register with prior ``pi`` (any of
    the N persons equally) or nobody; candidate j has Bayes factor 2^w_j. Then
    P(best) = 2^(w + a) / ((1 - pi) + sum_j 2^(w_j + a)), a = log2(pi / N), written so it
    cannot overflow. A record close to two people gets at most about half. ``z`` is
    sum_j 2^(w_j - w) (1.0 for an identity with one candidate), ``w`` the best's weight."""
    a = _log2(model.pi) - _log2(n_register)
    return f"1.0 / ({z} + {_num(1 - model.pi)} * pow(2.0, -({w} + {_num(a)})))"


def posterior_any_sql(model: Model, n_register: int, lz: str = "b.lz") -> str:
    """P(some candidate is the person | data): as :func:`posterior_sql` with the sum of all
    candidates' Bayes factors (``lz`` = log2 of it) on top. Two look-alike candidates at
    0.5 each make 1.0 here: the record is somebody's, a person must say whose. This, not the
    best's posterior, decides between review and ``not_found``."""
    a = _log2(model.pi) - _log2(n_register)
    return f"1.0 / (1.0 + {_num(1 - model.pi)} * pow(2.0, -({lz} + {_num(a)})))"


def explanation_sql(plan: Plan, model: Model, *, exact: bool) -> str:
    """The comparisons of the best pair, each with its level and weight, then the runner-up:
    what a reviewer needs to see why.

    An identity the exact pass settled is linked by that rule (ID or old ID, compatible date
    of birth and name), not by its weights: its explanation is ``exact pass`` and only the
    comparisons that did *not* agree exactly (a wrong sex, a neighbouring ward, the old ID, a
    middle name dropped), which are what a reader needs. Listing the agreeing ones too would
    repeat ~100 bytes on nine records in ten (240 MB of a 1M-person run's ``links.csv``, ~10%
    of the run's time) to say what ``exact pass`` says; their weights are in the report.
    ``exact``: the text of the exact pass's identities, else of the scored ones."""
    d = plan.dialect
    items = []
    for comp in plan.comparisons:
        p = model.params(comp.name)
        assert p is not None
        short = SHORT.get(comp.name, comp.name)
        whens = []  # a missing value is no evidence: not listed
        for k, (lab, w, m, tf) in enumerate(zip(p.labels, p.weights(), p.m, p.tf, strict=True)):
            if tf:
                expr = d.fmt_weight(f"{_num(_log2(m))} - log2(greatest(b.{tf}, 1e-9))")
                text = f"concat({_lit(f'{short} {lab} ')}, {expr}, 'tf')"
            else:
                text = _lit(f"{short} {lab} {w:+.1f}")
            if not (exact and lab == "exact"):
                whens.append(f"WHEN {k} THEN {text}")
        if whens:  # NULL when missing
            items.append(f"CASE b.{comp.gamma} {' '.join(whens)} END")
    if exact:
        return f"concat_ws('; ', 'exact pass', {', '.join(items)})" if items else "'exact pass'"
    # the prior (log2 pi/N, the same for every record) is in summary.json and the report
    items.append(
        "CASE WHEN b.next_person IS NOT NULL THEN concat('runner-up ', b.next_person, ' ', "
        f"{d.fmt_weight('b.next_w')}) END"
    )
    return f"concat_ws('; ', {', '.join(items)})"


def _unread(i: str, field: str) -> str:
    """The record typed ``field`` but its standardiser could not read it (``31/02/1990``,
    ``Phường 5`` for a ward code): a wrong value, not a missing one."""
    bit = UNREAD_BITS[field][1]
    return f"(({i}unread % {2 * bit}) >= {bit})"


def _name_words_kept_sql(i: str, g: str) -> str:
    """The record's name is the register's with words left out (``Trần Vân`` for ``Trần Thị
    Vân``, ``Vân``): its words are the register's, in the register's order. A ``LIKE`` of the
    register name with each word between two spaces (``' trần  thị  vân '``) against the
    record's words joined by ``%`` (``'% trần % vân %'``), so a word matches only a whole
    word; a record name holding a ``LIKE`` metacharacter or a backslash (Spark's escape) is
    not tested (it is wrong, whatever it is)."""
    r, p = f"{i}name_norm", f"{g}name_norm"
    return (
        f"CASE WHEN instr({r}, chr(92)) > 0 OR instr({r}, '%') > 0 OR instr({r}, '_') > 0 "
        f"THEN FALSE ELSE concat(' ', replace({p}, ' ', '  '), ' ') LIKE "
        f"concat('% ', replace({r}, ' ', ' % '), ' %') END"
    )


def _name_incomplete_sql(i: str, g: str) -> str:
    """A name missing, or the register's with words left out. A CASE, so the ``LIKE`` (its
    pattern a column) runs only on the few pairs whose names differ: nine in ten pairs of
    the exact pass agree."""
    r, p = f"{i}name_norm", f"{g}name_norm"
    return (
        f"(CASE WHEN {p} IS NULL THEN FALSE WHEN {r} IS NULL THEN TRUE WHEN {r} = {p} "
        f"THEN FALSE ELSE {_name_words_kept_sql(i, g)} END)"
    )


def field_checks(plan: Plan, i: str = "i.", g: str = "g.") -> list[tuple[str, str, str, str]]:
    """(field, SQL that the record's value is substantively wrong, SQL that it is
    incomplete, register value) for the fields both inputs carry; ``i``/``g``: how the
    identity's and the person's columns are named (``i.id_key``, or ``b.l_id_key``...).

    **Incomplete** (the record lacks what the register knows; never a mismatch): no value
    (blank, or an ID placeholder such as ``000000000``) where the register has one; a date of
    birth that agrees with the register's on every part it gives but gives fewer
    (``1990`` or ``1990-10`` for ``1990-10-18``), or the 01-01 placeholder of the register's
    year; a name that is the register's with words left out (a dropped middle name).
    **Wrong** (a mismatch, corrected): any other difference, as ``wrong_fields`` defines it
    (:mod:`tiemchung.synth.truth`) — the old 9-digit ID, a name without diacritics, a value
    typed but unreadable, a value where the register has none (nothing to verify it
    against). A field both wrong and incomplete (``Tran Van`` for ``Trần Thị Vân``) is
    wrong. Neither: a field blank in both, and a date of birth compatible with the
    register's and *more* precise (``1990-10-18`` for ``1990``). The incomplete checks are
    all non-NULL, so ``NOT`` them is safe."""
    out = []
    if plan.both("national_id"):
        inc = f"({i}id_key IS NULL AND {g}nid IS NOT NULL)"
        out.append(
            ("national_id", f"({i}id_key IS DISTINCT FROM {g}nid AND NOT {inc})", inc, f"{g}nid")
        )
    if plan.both("full_name"):
        inc = _name_incomplete_sql(i, g)
        wrong = f"({i}name_norm IS DISTINCT FROM {g}name_norm AND NOT {inc})"
        out.append(("full_name", wrong, inc, f"{g}name_disp"))
    if plan.both("dob"):
        compat = f"coalesce({dob_compatible_sql(i[:-1], g[:-1], i[-1])}, FALSE)"
        fewer = (
            f"({i}dob_m IS NULL AND {g}dob_m IS NOT NULL OR "
            f"{i}dob_d IS NULL AND {g}dob_d IS NOT NULL)"
        )
        placeholder = f"({i}dob_y = {g}dob_y AND {i}dob_m = 1 AND {i}dob_d = 1)"
        inc = (
            f"coalesce({g}dob_iso IS NOT NULL AND ({i}dob_iso IS NULL AND NOT "
            f"{_unread(i, 'dob')} OR {i}dob_iso <> {g}dob_iso AND ({placeholder} OR "
            f"{compat} AND {fewer})), FALSE)"
        )
        differs = f"({i}dob_iso IS DISTINCT FROM {g}dob_iso OR {_unread(i, 'dob')})"
        wrong = f"({differs} AND NOT {inc} AND NOT {compat})"
        out.append(("dob", wrong, inc, f"{g}dob_iso"))
    if plan.both("sex"):
        inc = f"({i}sex IS NULL AND NOT {_unread(i, 'sex')} AND {g}sex IS NOT NULL)"
        differs = f"({i}sex IS DISTINCT FROM {g}sex OR {_unread(i, 'sex')})"
        out.append(("sex", f"({differs} AND NOT {inc})", inc, f"{g}sex"))
    if plan.both("ward_code"):
        inc = f"({i}ward IS NULL AND NOT {_unread(i, 'ward_code')} AND {g}ward IS NOT NULL)"
        differs = f"({i}ward IS DISTINCT FROM {g}ward OR {_unread(i, 'ward_code')})"
        wrong = f"({differs} AND NOT {inc})"
        out.append(("ward_code", wrong, inc, f"{g}ward"))
    return out


def mismatch_items(plan: Plan, i: str = "i.", g: str = "g.") -> list[tuple[str, str, str]]:
    """(field, SQL that the record's value is substantively wrong, register value): see
    :func:`field_checks`."""
    return [(f, wrong, v) for f, wrong, _inc, v in field_checks(plan, i, g)]


def _list_sql(items: list[tuple[str, str]]) -> str:
    """The ``;``-list of the fields whose condition holds ('' when none)."""
    if not items:
        return "''"
    return "concat_ws(';', " + ", ".join(f"CASE WHEN {c} THEN '{f}' END" for f, c in items) + ")"


def _mismatches_sql(plan: Plan, i: str = "i.", g: str = "g.") -> str:
    return _list_sql([(f, c) for f, c, _ in mismatch_items(plan, i, g)])


def _incomplete_sql(plan: Plan, i: str = "i.", g: str = "g.") -> str:
    """The ``;``-list of the incomplete fields (:func:`field_checks`)."""
    return _list_sql([(f, inc) for f, _w, inc, _v in field_checks(plan, i, g)])


def _corrections_sql(plan: Plan, i: str = "i.", g: str = "g.") -> str:
    """JSON object field -> register value of the wrong fields (``i`` ident, ``g`` reg)."""
    items = mismatch_items(plan, i, g)
    if not items:
        return "'{}'"
    parts = ", ".join(
        f'CASE WHEN {c} AND {v} IS NOT NULL THEN concat(\'"{f}": "\', '
        f"{plan.dialect.json_escape(v)}, '\"') END"
        for f, c, v in items
    )
    return f"concat('{{', concat_ws(', ', {parts}), '}}')"


#: the identity's standardised blocking values (state column, ident column): a register
#: update re-checks the records whose values meet a changed person's (see
#: :func:`tiemchung.reconcile.incremental.recheck_register`)
KEYS = (
    ("k_id", "id_key"),
    ("k_name", "name_fold"),
    ("k_dob", "dob_iso"),
    ("k_year", "dob_y"),
    ("k_ward", "ward"),
    ("k_phone", "phone"),
    ("k_pward", "pward"),
    ("k_pdistrict", "pdistrict"),
    ("k_sward", "sward"),
    ("k_sdistrict", "sdistrict"),
    ("k_surname", "surname"),
    ("k_given", "given"),
    ("k_sorted", "name_sorted"),
    ("k_addr", "addr_toks"),
    ("k_addr_num", "addr_num"),
    ("k_dob_m", "dob_m"),
    ("k_dob_d", "dob_d"),
)
KEY_INNER = ", ".join(f"i.{c} AS {k}" for k, c in KEYS)
KEY_SELECT = ", ".join(k for k, _ in KEYS)


#: the identity columns that decided_sql reads (area, keys, mismatches, incomplete)
_DECIDED_IDENT_COLS = tuple(
    dict.fromkeys(
        [
            *("iid", "problem", "nf_key", "ward", "province"),
            *(c for _k, c in KEYS),
            *("id_key", "name_norm", "dob_iso", "dob_m", "dob_d", "sex", "unread"),
        ]
    )
)


def decided_sql(plan: Plan, model: Model, n_register: int) -> str:
    """Per identity: decision, person (when plausible), posterior, mismatches, corrections
    (JSON field -> register value), explanation, and the area it counts under.

    The exact pass's identities (nine in ten) are decided in one join of their pair with
    the identity and the person: their comparisons, weight, posterior and texts in one go,
    none of them kept in a table of its own. The rest take their best candidate
    (:func:`best_sql`)."""
    return f"{_exact_decided_sql(plan, model, n_register)} UNION ALL " + _scored_decided_sql(
        plan, model, n_register
    )


def _exact_decided_sql(plan: Plan, model: Model, n_register: int) -> str:
    extra = f", i.nf_key, i.unread AS l_unread, {KEY_INNER}"
    w = total_weight_sql(plan, model)
    return (
        f"SELECT iid, 'auto' AS decision, person_id, "
        f"{posterior_sql(model, n_register, z='1.0', w='b.w')} AS p, TRUE AS is_exact, "
        f"nf_key, {_mismatches_sql(plan, 'b.l_', 'b.r_')} AS mismatches, "
        f"{_incomplete_sql(plan, 'b.l_', 'b.r_')} AS incomplete, "
        f"{_corrections_sql(plan, 'b.l_', 'b.r_')} AS corrections, "
        f"{explanation_sql(plan, model, exact=True)} AS explanation, "
        f"r_ward AS ward, r_province AS province, {KEY_SELECT} "
        f"FROM (SELECT *, {w} AS w FROM (SELECT *, {plan.gammas_sql()} FROM ("
        f"{plan.pair_columns_sql('exact', None, extra)}) x) y) b"
    )


#: the fields a person recognises someone by, and the levels of their comparisons that
#: count as agreeing for :func:`plausible_sql`, by label: a name equal but for a dropped
#: middle name, the word order or a letter or two (or a middle name dropped or the words
#: reordered, and a letter or two); a birth date equal to the day (or with day and month
#: swapped); the same ward, or the same address with the same house or hamlet number; an
#: ID a keystroke away (a digit wrong, two swapped, one dropped: a stranger's ID is that
#: close to the record's by chance about once in 10^5 for a 7-digit ID, and FEBRL4's
#: records whose ID was mistyped agree with their person on the name or the address and
#: little else). Not the same ID: with another name and birth date that is a relative's
#: ID on the record of someone the register lacks (5 such records of bench/gen2's 20k went
#: to review when it counted). It only sends a record to review: an automatic link needs
#: the posterior
PLAUSIBLE_FIELDS = {
    "name": ("full_name",),
    "dob": ("dob",),
    "place": ("ward_code", "address"),
    "id": ("national_id",),
}
_AGREEING = {
    "full_name": (
        *("exact", "middle dropped", "other order", "1 edit", "2 edits", "jw>=0.95"),
        *("middle dropped ~", "other order, 2 edits"),
    ),
    "dob": ("exact", "d/m swapped"),
    "ward_code": ("exact",),
    "national_id": ("1 digit wrong", "2 digits swapped", "1 digit dropped"),
    "address": ("exact", "overlap>=0.8 same numbers"),
}
#: a date of birth the register's completes (the year alone, 01/01 of the year, a month
#: and year): it agrees only beside an agreeing name -- "Nguyễn Văn Hùng, 1979" is a
#: person to look at, "born in 1979 in this ward" dozens
_COMPLETES = {"dob": ("same partial", "placeholder", "compatible")}
#: a different ID with a different date of birth or name is someone else, whatever else
#: agrees (a namesake in the ward; a stranger born the same day in the ward)
_VETO = ("dob", "full_name")


def _levels_in(comp: Comparison, labels: tuple[str, ...], b: str) -> str | None:
    """``gamma IN (...)`` for the levels of ``comp`` with these labels (None: it has none)."""
    levels = [k for k, lv in enumerate(comp.scored) if lv.label in labels]
    if not levels:
        return None
    return f"{b}{comp.gamma} IN ({', '.join(str(k) for k in levels)})"


def plausible_sql(plan: Plan, b: str = "b.", site_place: str | None = None) -> str:
    """TRUE when the best candidate agrees with the record on at least two of name, date of
    birth, place and ID (:data:`PLAUSIBLE_FIELDS`): somebody a commune officer would look
    at. Such a record is never ``not_found``, whatever its posterior (a wrong "not found"
    tells a vaccinated person they have no record); it goes to review with its candidates.
    A date the register's completes (a year alone) counts beside an agreeing name. Not
    when the ID disagrees outright and so does the date of birth or the name: in a ward of
    10,000 some 27 people share a birthday, and a stranger with another ID and another
    name is not a candidate.

    ``site_place``: a condition that the candidate lives in the ward the record names or
    where its site vaccinates most of its people (:meth:`Plan.resid_sql`): a commune
    officer looks for a person typed without an address in the ward first."""
    comps = {c.name: c for c in plan.comparisons}
    agree: dict[str, str] = {}
    for key, fields in PLAUSIBLE_FIELDS.items():
        conds = [
            c
            for f in fields
            if f in comps and (c := _levels_in(comps[f], _AGREEING[f], b)) is not None
        ]
        if site_place and key == "place" and conds:
            conds.append(site_place)
        if conds:
            agree[key] = " OR ".join(conds)
    if len(agree) < 2:
        return "FALSE"
    terms = {k: f"CASE WHEN {c} THEN 1 ELSE 0 END" for k, c in agree.items()}
    weak = _levels_in(comps["dob"], _COMPLETES["dob"], b) if "dob" in comps else None
    if weak and "name" in agree:
        strong = agree.get("dob", "FALSE")
        terms["dob"] = (
            f"CASE WHEN {strong} THEN 1 WHEN ({weak}) AND ({agree['name']}) THEN 1 ELSE 0 END"
        )
    # ...unless the ID says someone else and so does the birth date or the name
    unless = ""
    if "national_id" in comps:
        nid = comps["national_id"]
        other = [f"{b}{comps[f].gamma} = {len(comps[f].scored) - 1}" for f in _VETO if f in comps]
        if other:
            unless = f" AND NOT ({b}{nid.gamma} = {len(nid.scored) - 1} AND ({' OR '.join(other)}))"
    return f"({' + '.join(terms.values())}) >= 2{unless}"


#: the candidate lives in the ward the record's address names (``pward``: typed, else named
#: by the address) or where its site vaccinates (``sward``, when that is another)
_SITE_PLACE = "(g.ward = i.pward OR g.ward = i.sward)"


def _scored_decided_sql(plan: Plan, model: Model, n_register: int) -> str:
    t_auto = _num(model.thresholds["auto"])
    t_pl = _num(model.thresholds["plausible"])
    decision = (
        "CASE WHEN i.problem IS NOT NULL THEN 'review' WHEN b.iid IS NULL THEN 'not_found' "
        f"WHEN b.p >= {t_auto} THEN 'auto' WHEN b.p_any >= {t_pl} THEN 'review' "
        f"WHEN {plausible_sql(plan, site_place=_SITE_PLACE)} THEN 'review' "
        "ELSE 'not_found' END"
    )
    found = "decision <> 'not_found' AND problem IS NULL"
    expl = explanation_sql(plan, model, exact=False)
    # every identity the exact pass did not settle: the rest (resid), and the unparseable
    cols = ", ".join(_DECIDED_IDENT_COLS)
    rest = (
        f"(SELECT {cols} FROM resid UNION ALL SELECT {cols} FROM ident WHERE problem IS NOT NULL)"
    )
    return (
        f"SELECT iid, decision, CASE WHEN {found} THEN person_id END AS person_id, p, "
        f"is_exact, nf_key, CASE WHEN {found} THEN mismatches END AS mismatches, "
        f"CASE WHEN {found} THEN incomplete END AS incomplete, "
        f"CASE WHEN {found} THEN corrections END AS corrections, explanation, "
        f"CASE WHEN {found} THEN p_ward ELSE ward END AS ward, "
        f"CASE WHEN {found} THEN p_province ELSE province END AS province, {KEY_SELECT} FROM ("
        f"SELECT i.iid, i.problem, i.nf_key, i.ward, i.province, {decision} AS decision, "
        f"{KEY_INNER}, "
        "b.person_id, coalesce(b.p, 0.0) AS p, FALSE AS is_exact, "
        f"{_mismatches_sql(plan)} AS mismatches, {_incomplete_sql(plan)} AS incomplete, "
        f"{_corrections_sql(plan)} AS corrections, "
        "CASE WHEN i.problem IS NOT NULL THEN i.problem "
        f"WHEN b.iid IS NULL THEN 'no candidate in the register' ELSE {expl} END AS explanation, "
        "g.ward AS p_ward, g.province AS p_province "
        f"FROM {rest} i LEFT JOIN (SELECT b.*, {posterior_sql(model, n_register)} AS p, "
        f"{posterior_any_sql(model, n_register)} AS p_any "
        "FROM best b) b ON b.iid = i.iid LEFT JOIN reg g ON g.person_id = b.person_id) x"
    )
