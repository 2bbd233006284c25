"""The records stage, as SQL over the decided identities: conflicts (two records claim one
person's dose on far-apart dates), double entries (one dose typed twice), the records in
review whose candidate already has that dose, and the final ``links`` row of every record.

Read by the batch run (:func:`tiemchung.reconcile.run.stage_records`) and by an incremental
run over the union of state files (:mod:`.incremental`), which is why it works on the
``rec_iid``/``decided``/``cand_json`` tables alone.
"""

from __future__ import annotations

#: days apart within which two records of one dose are the same dose typed twice
DUPLICATE_WINDOW = 3


def multi_sql() -> str:
    """Records that share a dose with another record: the same person (when linked
    automatically), the same typed identity (when not found), or the same standardised
    identity and best candidate (when sent to review), and the same dose number. Only these
    can be double entries or conflicts, so the window functions below run on a few percent
    of the records instead of all.

    Two entries in review typed alike (the same ID, name, date of birth and place, the same
    candidate) are one dose typed twice whoever the reviewer decides it is; a looser key
    than that (the ID alone, as for records not found) would make two children entered
    with their mother's ID one dose."""
    review_key = (
        "concat_ws('/', "
        + ", ".join(
            f"coalesce(CAST(d.{k} AS STRING), '')"
            for k in ("person_id", "k_id", "k_name", "k_dob", "k_year", "k_pward")
        )
        + ")"
    )
    # the same records' read as before, grouped on (linked?, person or typed key): no
    # 'p:'/'k:' text made for every record; the review entries (~1%) apart, so their key
    # is built for them alone (in one pass with the others, the whole step took 1.5x as
    # long on 2.1M records)
    rec = "FROM rec_iid r JOIN decided d ON d.iid = r.iid WHERE NOT r.no_id "
    rec += "AND r.dose_number IS NOT NULL AND r.dose_day IS NOT NULL "
    cols = "r.record_id, r.dose_number, r.dose_day, d.is_exact, d.person_id"
    return (
        f"WITH r AS (SELECT {cols}, d.decision = 'auto' AS linked, "
        f"CASE WHEN d.decision = 'auto' THEN d.person_id ELSE d.nf_key END AS k {rec}"
        "AND d.decision IN ('auto', 'not_found')), "
        "g AS (SELECT linked, k, dose_number FROM r WHERE k IS NOT NULL "
        "GROUP BY linked, k, dose_number HAVING count(*) > 1), "
        f"v AS (SELECT {cols}, {review_key} AS k {rec}AND d.decision = 'review' "
        "AND d.person_id IS NOT NULL AND d.k_name IS NOT NULL "
        "AND (d.k_id IS NOT NULL OR d.k_year IS NOT NULL)), "
        "h AS (SELECT k, dose_number FROM v GROUP BY k, dose_number HAVING count(*) > 1) "
        "SELECT r.record_id, r.dose_number, r.dose_day, r.is_exact, r.person_id, "
        "concat(CASE WHEN r.linked THEN 'p:' ELSE 'k:' END, r.k) AS who FROM r "
        "JOIN g ON g.linked = r.linked AND g.k = r.k AND g.dose_number = r.dose_number "
        "UNION ALL SELECT v.record_id, v.dose_number, v.dose_day, v.is_exact, v.person_id, "
        "concat('r:', v.k) AS who FROM v JOIN h ON h.k = v.k AND h.dose_number = v.dose_number"
    )


def conflicts_sql(window: int = DUPLICATE_WINDOW) -> str:
    """Records that claim one person's same dose on dates too far apart to be one dose: at
    most one of them is that person, so those the exact pass did not settle go to review."""
    return (
        "WITH g AS (SELECT who, dose_number, min(dose_day) AS d0, max(dose_day) AS d1 "
        "FROM multi WHERE who LIKE 'p:%' GROUP BY who, dose_number "
        f"HAVING max(dose_day) - min(dose_day) > {window}) "
        "SELECT m.record_id, concat('conflict: another record claims dose ', "
        "CAST(m.dose_number AS STRING), ' of ', m.person_id, ' ', "
        "CAST(g.d1 - g.d0 AS STRING), ' days apart') AS reason "
        "FROM multi m JOIN g ON g.who = m.who AND g.dose_number = m.dose_number "
        "WHERE NOT m.is_exact"
    )


def duplicates_sql(window: int = DUPLICATE_WINDOW) -> str:
    """Double entries: one person (or, for records not found, one typed identity), one dose
    number, dates within ``window`` days (the same date at two sites included); each is a
    duplicate of the first entry of its cluster (earliest date, then record order)."""
    return (
        "WITH e AS (SELECT m.* FROM multi m LEFT JOIN conflicts c ON c.record_id = m.record_id "
        "WHERE c.record_id IS NULL), "
        "o AS (SELECT *, lag(dose_day) OVER (PARTITION BY who, dose_number "
        "ORDER BY dose_day, record_id) AS prev_day FROM e), "
        f"c AS (SELECT *, sum(CASE WHEN prev_day IS NULL OR dose_day - prev_day > {window} "
        "THEN 1 ELSE 0 END) OVER (PARTITION BY who, dose_number ORDER BY dose_day, record_id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cluster FROM o), "
        "f AS (SELECT *, first_value(record_id) OVER (PARTITION BY who, dose_number, cluster "
        "ORDER BY dose_day, record_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        "AS first_id FROM c) "
        "SELECT record_id, first_id AS duplicate_of FROM f WHERE record_id <> first_id"
    )


def review_twins_sql(window: int = DUPLICATE_WINDOW) -> str:
    """Records sent to review whose best candidate already has the same dose, within
    ``window`` days, in a record linked automatically: each with the first such entry
    (earliest date, then record order).

    They stay in review: that the candidate was vaccinated with that dose the same week is
    no proof the record is theirs -- in a campaign a quarter of a ward may get a dose in one
    week, and the people a record is confused with (a twin, a sibling with the parent's ID)
    are vaccinated together more often still. The reviewer is told instead: confirming the
    candidate makes the record a double entry of that entry (``duplicate_of``)."""
    return (
        # the identities in review with a candidate, and the linked identities of those
        # candidates only: one scan of the records, probing a small table
        "WITH v AS (SELECT iid, person_id FROM decided WHERE decision = 'review' "
        "AND person_id IS NOT NULL), "
        "d AS (SELECT iid, person_id, TRUE AS rv FROM v UNION ALL "
        "SELECT iid, person_id, FALSE AS rv FROM decided WHERE decision = 'auto' "
        "AND person_id IN (SELECT person_id FROM v)), "
        "x AS (SELECT r.record_id, r.dose_number, r.dose_day, d.person_id, d.rv "
        "FROM rec_iid r JOIN d ON d.iid = r.iid WHERE NOT r.no_id "
        "AND r.dose_number IS NOT NULL AND r.dose_day IS NOT NULL), "
        "m AS (SELECT e.record_id, a.record_id AS twin, row_number() OVER ("
        "PARTITION BY e.record_id ORDER BY a.dose_day, a.record_id) AS k "
        "FROM x e JOIN x a ON a.person_id = e.person_id AND a.dose_number = e.dose_number "
        f"WHERE e.rv AND NOT a.rv AND abs(a.dose_day - e.dose_day) <= {window}) "
        "SELECT record_id, twin FROM m WHERE k = 1"
    )


def links_sql() -> str:
    """One row per record: the ``links`` columns, plus ward/province (for the summary) and
    the input row number. Rows come in the engine's order (near input order; sorting 200M
    rows to restore it exactly would cost more than the rest of this stage)."""
    action = (
        "CASE WHEN r.no_id THEN 'review' WHEN c.record_id IS NOT NULL THEN 'review' "
        "WHEN u.record_id IS NOT NULL THEN 'duplicate' "
        "WHEN d.decision = 'auto' AND d.mismatches = '' THEN 'verified' "
        "WHEN d.decision = 'auto' THEN 'corrected' ELSE d.decision END"
    )
    expl = (  # the identity's text as it is, unless there is something to put before it
        "CASE WHEN r.no_id OR c.reason IS NOT NULL OR t.twin IS NOT NULL THEN concat_ws('; ', "
        "CASE WHEN r.no_id THEN 'unparseable: no record_id' END, c.reason, "
        # (DuckDB's concat reads NULL as '', Spark's returns NULL: the twin is tested)
        "CASE WHEN u.record_id IS NULL AND t.twin IS NOT NULL "
        "THEN concat('possible double entry of ', t.twin) END, "
        "d.explanation) "
        "ELSE d.explanation END"
    )
    # a record in review with a linked twin (review_twins) names it, its action unchanged
    dup = "coalesce(u.duplicate_of, t.twin)"
    return (
        f"SELECT r.record_id, d.person_id, {action} AS action, "
        "round(d.p, 6) AS match_probability, d.mismatches, d.incomplete, d.corrections, "
        f"{dup} AS duplicate_of, {expl} AS explanation, "
        # a double entry of a record in review follows it: the candidates are on that one
        "CASE WHEN NOT r.no_id AND u.record_id IS NULL THEN k.candidates END AS candidates, "
        "d.ward, d.province, r._row "
        "FROM rec_iid r LEFT JOIN decided d ON d.iid = r.iid "
        "LEFT JOIN cand_json k ON k.iid = r.iid "
        "LEFT JOIN conflicts c ON c.record_id = r.record_id "
        "LEFT JOIN duplicates u ON u.record_id = r.record_id "
        "LEFT JOIN review_twins t ON t.record_id = r.record_id"
    )


#: the records stage's inputs, which is what an incremental run needs of an earlier run to
#: find double entries and conflicts across both, in two files: one row per record
#: (``OUT/state.parquet``: its dose and its identity) and one per identity
#: (``OUT/state_identities.parquet``: the decision, the posterior, the texts, the blocking
#: keys). Laid out per record, the identity's columns cost a 1M-person run 1.3 s to write,
#: one ``links`` row in nine repeating its neighbour's.
STATE_RECORDS_SQL = "SELECT _row, record_id, no_id, dose_number, dose_day, iid FROM rec_iid"
STATE_IDENTITIES_SQL = (
    "SELECT d.*, k.candidates FROM decided d LEFT JOIN cand_json k ON k.iid = d.iid"
)
