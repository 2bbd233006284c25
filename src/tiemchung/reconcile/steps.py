"""The pipeline's SQL, as pure functions that return one SQL text per named step.

Nothing here runs anything: :mod:`.run` hands each text to an engine. Table and column names
are the pipeline's own; values from users never appear in the SQL (file paths are bound by the
engines; model numbers are formatted floats).

Tables: ``rec_in``/``reg_in`` (inputs as text), ``raw`` (distinct typed identities: the
collapse) and ``rec_iid`` (record -> typed identity and standardised dose; ``rec_in`` is
freed then) -> ``v_*`` (standardised distinct values) -> ``reg`` (standardised register),
``ident`` (standardised identities) -> ``exact`` (the
exact pass) -> ``cand`` (blocked candidates of the rest) -> ``best`` -> ``decided`` ->
``multi``/``conflicts``/``duplicates`` -> ``links`` (see :mod:`.decide`).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import places
from .blocking import blocking_rules
from .comparisons import Comparison, default_comparisons, dob_compatible_sql
from .dialects import Dialect
from .inputs import InputSpec
from .standardise import out_columns

# canonical column -> standardiser kind, per input
REC_KINDS = {
    "national_id": "id",
    "full_name": "name",
    "dob": "date",
    "sex": "sex",
    "ward_code": "ward",
    "phone": "phone",
    "address": "addr",
}
#: the records' dose fields -> kind: standardised on load, into tables of their own
#: (``v_dose_number``, ``v_dose_date``: a few hundred distinct values)
DOSE_KINDS = {"dose_number": "int", "dose_date": "date"}
REG_KINDS = {
    "national_id": "id",
    "old_id": "id",
    "full_name": "name",
    "dob": "date",
    "sex": "sex",
    "ward_code": "ward",
    "phone": "phone",
    "address": "addr",
}
IDENT_COLS = (
    "id_key",
    "name_norm",
    "name_fold",
    "surname",
    "given",
    "ntok",
    "name_sorted",
    "dob_y",
    "dob_m",
    "dob_d",
    "dob_prec",
    "dob_iso",
    "sex",
    "ward",
    "district",
    "province",
    "phone",
    "addr_toks",
    "addr_b1",
    "addr_b2",
    "addr_num",
    "pward",
    "pdistrict",
)
RAW_IDENTITY = ("national_id", "full_name", "dob", "sex", "ward_code", "phone", "address")
#: the standardised address columns an identity carries, and their SQL types
ADDR_COLS = (
    ("addr_toks", "STRING"),
    ("addr_b1", "BIGINT"),
    ("addr_b2", "BIGINT"),
    ("addr_num", "STRING"),
)
#: the identity's ``unread`` column: a bit per field whose value was typed but its
#: standardiser could not read (field -> (standardised column, bit)); decide.py reads it
UNREAD_BITS = {"dob": ("dob_iso", 1), "sex": ("sex", 2), "ward_code": ("ward", 4)}
REG_COLS = (
    "person_id",
    "nid",
    "old_id",
    "name_norm",
    "name_disp",
    "name_fold",
    "surname",
    "given",
    "ntok",
    "name_sorted",
    "dob_y",
    "dob_m",
    "dob_d",
    "dob_prec",
    "dob_iso",
    "sex",
    "ward",
    "district",
    "province",
    "phone",
    "addr_key",
    "addr_toks",
    "addr_b1",
    "addr_b2",
    "addr_num",
)
#: who holds the identity's ID in the register and their address (the household level):
#: added to the identities that are compared (:meth:`Plan.with_owner_sql`), not to all
OWNER_COLS = ("id_owner", "id_owner_addr")
#: the standardised register's columns that are functions of others: surname, given name,
#: word count and sorted words of ``name_fold``; year, month, day and precision of
#: ``dob_iso``; province of ``ward``; the address tokens' bit mask. (``district`` and the
#: address tokens, also functions of others, are kept: a register update's blocking rules
#: read them.)
REG_DERIVED = (
    *("surname", "given", "ntok", "name_sorted"),
    *("dob_y", "dob_m", "dob_d", "dob_prec"),
    *("province", "addr_b1", "addr_b2"),
)
#: what ``register_std.parquet`` keeps for a later snapshot to be compared with: the rest
#: (a third less to write)
REG_STD_COLS = tuple(c for c in REG_COLS if c not in REG_DERIVED)


@dataclass(frozen=True)
class Plan:
    """What the inputs allow: the columns each has and the comparisons both share."""

    rec: InputSpec
    reg: InputSpec
    dialect: Dialect

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(
            c
            for c in default_comparisons()
            if all(self.rec.has(n) and self.reg.has(n) for n in c.needs)
        )

    def both(self, col: str) -> bool:
        return self.rec.has(col) and self.reg.has(col)

    # --- standardise -------------------------------------------------------------------------
    def value_sources(self) -> dict[str, str]:
        """kind -> SQL yielding the raw values (column ``v``) of both inputs (records' identity
        values from the distinct typed identities, ``raw``)."""
        parts: dict[str, list[str]] = {}
        for table, spec, kinds in (("raw", self.rec, REC_KINDS), ("reg_in", self.reg, REG_KINDS)):
            for col, kind in kinds.items():
                # the records' addresses wait for the exact pass (:meth:`raddr_source_sql`)
                if spec.has(col) and not (table == "raw" and col == "address"):
                    parts.setdefault(kind, []).append(f"SELECT {col} AS v FROM {table}")
        return {k: " UNION ALL ".join(v) for k, v in parts.items()}

    def dose_sources(self) -> dict[str, tuple[str, str]]:
        """``v_<dose column>`` -> (kind, SQL yielding the records' values as ``v``)."""
        return {
            f"v_{col}": (kind, f"SELECT {col} AS v FROM rec_in")
            for col, kind in DOSE_KINDS.items()
            if self.rec.has(col)
        }

    def _std(
        self, spec: InputSpec, kinds: dict[str, str], rename: dict[str, dict[str, str]]
    ) -> tuple[list[str], list[str]]:
        """Select items and joins that replace each raw column by its standardised columns
        (``NULL`` columns of the right type when the input lacks it)."""
        cols: list[str] = []
        joins: list[str] = []
        for col, kind in kinds.items():
            names = rename.get(col, {})
            alias = f"s_{col}"
            if spec.has(col):
                joins.append(f"LEFT JOIN v_{kind} {alias} ON {alias}.v = t.{col}")
            for n, typ in out_columns(kind):
                out = names.get(n, n)
                if out is None or out == "":
                    continue
                cols.append(
                    f"{alias}.{n} AS {out}" if spec.has(col) else f"CAST(NULL AS {typ}) AS {out}"
                )
        return cols, joins

    def reg_sql(self) -> str:
        """The standardised register (``REG_COLS``)."""
        rename = {
            "national_id": {"id_key": "nid", "id_kind": ""},
            "dob": {"day_no": ""},
            "old_id": {"id_key": "old_id", "id_kind": ""},
        }
        cols, joins = self._std(self.reg, REG_KINDS, rename)
        return (
            f"SELECT t.person_id, {', '.join(cols)} FROM reg_in t {' '.join(joins)} "
            "WHERE t.person_id IS NOT NULL"
        )

    def name_tf_sql(self, n_register: int | None = None) -> str:
        """Each folded name's frequency in the register (table ``name_tf``): its count over
        ``n_register`` — the model's register size when a model is given (see
        :func:`tiemchung.reconcile.run._pinned_size`), else this register's.

        A table of its own, joined to the pairs that are compared, rather than a column of
        ``reg``: computing it there made DuckDB materialise the whole register twice."""
        total = "(SELECT count(*) FROM reg)" if n_register is None else f"{int(n_register)}"
        return (
            f"SELECT name_fold, CAST(count(*) AS DOUBLE) / {total} AS name_tf FROM reg "
            "WHERE name_fold IS NOT NULL GROUP BY name_fold"
        )

    def addr_tf_sql(self, n_register: int | None = None) -> str:
        """Each address's frequency in the register (table ``addr_tf``, by its token set):
        an address that a household of six shares is weaker evidence than one person's."""
        total = "(SELECT count(*) FROM reg)" if n_register is None else f"{int(n_register)}"
        return (
            f"SELECT addr_toks, CAST(count(*) AS DOUBLE) / {total} AS addr_tf FROM reg "
            "WHERE addr_toks IS NOT NULL GROUP BY addr_toks"
        )

    @property
    def tf_columns(self) -> tuple[str, ...]:
        """The register-frequency columns (``r_*_tf``) the pairs carry: the folded name's,
        and the address's when addresses are compared."""
        names = [c.name for c in self.comparisons]
        return ("r_name_tf", *(("r_addr_tf",) if "address" in names else ()))

    # --- collapse ----------------------------------------------------------------------------
    def raw_sql(self) -> str:
        """Distinct typed identities as typed (a person's doses usually repeat one typing):
        everything after this works on them, not on records."""
        cols = ", ".join(self.raw_cols)
        # the identity's number is its first record's row: unique, the same on every engine
        # and every run, and computed in the aggregate (row_number() OVER () ran on one thread)
        return f"SELECT min(_row) AS rid, {cols}, count(*) AS n FROM rec_in GROUP BY {cols}"

    @property
    def raw_cols(self) -> tuple[str, ...]:
        return tuple(c for c in RAW_IDENTITY if self.rec.has(c))

    def ident_sql(self) -> str:
        """The distinct typed identities, standardised: each is scored once.

        Typings that differ only in formatting (``NGUYỄN`` / ``Nguyễn``) stay separate
        identities: merging them too would save ~15% of the scoring but cost a second
        grouping of every identity, which is more.
        """
        # the kind of ID (cccd, cmnd, other) is not compared: IDs of any kind are compared
        # as their standardised text
        rename = {
            "national_id": {"id_kind": ""},
            "dob": {"day_no": ""},
            "full_name": {"name_disp": ""},
        }
        kinds = {c: k for c, k in REC_KINDS.items() if c in RAW_IDENTITY and c != "address"}
        cols, joins = self._std(self.rec, kinds, rename)
        if self.staged_address:
            cols.append("t.address AS addr_raw")
        else:
            cols += [f"CAST(NULL AS {typ}) AS {c}" for c, typ in ADDR_COLS]
        problem = (
            "CASE WHEN id_key IS NULL AND name_fold IS NULL AND dob_y IS NULL THEN "
            "'unparseable: no usable national_id, full_name or date of birth' END"
        )
        # the place a blocking rule uses: the typed ward, else the ward its address names
        # (typed only here: an address's ward joins in :meth:`ident_address_sql`)
        typed = self.both("ward_code")
        ward = "s_ward_code.ward" if typed else "CAST(NULL AS STRING)"
        district = "s_ward_code.district" if typed else "CAST(NULL AS STRING)"
        # (``sward``/``sdistrict``, the place its site's people live, only the residual
        # identities get: :meth:`resid_sql`)
        place = (
            f"{ward} AS pward, {district} AS pdistrict, CAST(NULL AS STRING) AS sward, "
            "CAST(NULL AS STRING) AS sdistrict"
        )
        # typed but unreadable (``31/02/1990``): a wrong value, not a missing one (decide.py)
        unread = " + ".join(
            f"CASE WHEN trim(t.{col}) <> '' AND s_{col}.{std} IS NULL THEN {bit} ELSE 0 END"
            for col, (std, bit) in UNREAD_BITS.items()
            if self.rec.has(col)
        )
        inner = (
            f"SELECT t.rid AS iid, t.n, {', '.join(cols)}, {place}, {unread or '0'} AS unread "
            f"FROM raw t {' '.join(joins)}"
        )
        return (
            f"SELECT x.*, {problem} AS problem, "
            "coalesce(x.id_key, concat(x.name_fold, '/', x.dob_iso)) AS nf_key "
            f"FROM ({inner}) x"
        )

    # --- the records' addresses, after the exact pass ----------------------------------------
    @property
    def staged_address(self) -> bool:
        """The records have addresses: they are standardised after the exact pass, and only
        for the identities it left -- nine in ten identities are settled by their ID, and
        standardising every distinct typed address cost more than the whole exact pass.
        ``ident_sql`` then makes ``ident0``, and :meth:`ident_address_sql` ``ident``."""
        return self.rec.has("address")

    def ident_columns(self) -> list[str]:
        """The columns of :meth:`ident_sql` (``ident0`` when the address is staged)."""
        out = ["iid", "n"]
        for col, kind in REC_KINDS.items():
            if col not in RAW_IDENTITY or col == "address":
                continue
            names = {"national_id": {"id_kind": ""}, "dob": {"day_no": ""}}.get(col, {})
            names = {**names, **({"name_disp": ""} if col == "full_name" else {})}
            out += [names.get(n, n) for n, _t in out_columns(kind) if names.get(n, n)]
        out += ["addr_raw"] if self.staged_address else [c for c, _t in ADDR_COLS]
        return [*out, "pward", "pdistrict", "sward", "sdistrict", "unread", "problem", "nf_key"]

    def raddr_source_sql(self, known: str | None = None) -> str:
        """The typed addresses to standardise (``v``): those of the identities the exact pass
        left. The address comparison is learnt from them too (in the training samples the
        others' address is missing, which EM skips): they are the identities it scores.
        ``known``: a table of addresses standardised already (column ``v``), left out."""
        skip = f" LEFT JOIN {known} k ON k.v = i.addr_raw" if known else ""
        return (
            "SELECT DISTINCT i.addr_raw AS v FROM ident0 i LEFT JOIN exact e ON e.iid = i.iid"
            f"{skip} WHERE i.addr_raw IS NOT NULL AND e.iid IS NULL"
            + (" AND k.v IS NULL" if known else "")
        )

    def raddr_sql(self) -> str:
        """``raddr``: the standardised address (``v_raddr``) of each identity the exact pass
        left and, without a typed ward, the place the address names (``pward``,
        ``pdistrict``): a narrow table beside ``ident0``, which :meth:`ident_address_sql`
        reads it with."""
        addr = ", ".join(f"a.{c}" for c, _t in ADDR_COLS)
        ward, district, join = "i.pward", "i.pdistrict", ""
        if self.infers_place:
            ward, district = "coalesce(i.pward, ap.ward)", "coalesce(i.pdistrict, ap.district)"
            join = " LEFT JOIN addr_place ap ON ap.v = i.addr_raw"
        return (
            f"SELECT i.iid, {addr}, {ward} AS pward, {district} AS pdistrict FROM ident0 i "
            "LEFT JOIN exact e ON e.iid = i.iid "
            f"JOIN v_raddr a ON a.v = i.addr_raw{join} WHERE e.iid IS NULL"
        )

    def ident_address_sql(self, where: str | None = None) -> str:
        """``ident``: ``ident0`` with the address columns of ``raddr`` -- for the identities
        the exact pass left only: an identity it settled has no address here even when a
        residual identity typed the same one, so what its explanation shows does not depend
        on other records. A view where the engine can: a copy of every identity's row to add
        the columns of one in eight cost 1 CPU-s at 1M people. ``where``: only the
        identities that meet it (see :meth:`identities_sql`)."""
        keep = [c for c in self.ident_columns() if c not in ("addr_raw", "pward", "pdistrict")]
        cols = ", ".join(f"i.{c}" for c in keep)
        addr = ", ".join(f"a.{c}" for c, _t in ADDR_COLS)
        source = f"(SELECT * FROM ident0 WHERE {where})" if where else "ident0"
        return (
            f"SELECT {cols}, {addr}, coalesce(a.pward, i.pward) AS pward, "
            f"coalesce(a.pdistrict, i.pdistrict) AS pdistrict FROM {source} i "
            "LEFT JOIN raddr a ON a.iid = i.iid"
        )

    def identities_sql(self, where: str) -> str:
        """The identities of ``ident`` that meet ``where`` (a condition on their columns, such
        as a sample's hash bucket of ``iid``): on ``ident0`` before its addresses are joined,
        which DuckDB does not do by itself through the view (2x the time of a sample)."""
        if self.staged_address:
            return self.ident_address_sql(where)
        return f"SELECT * FROM ident WHERE {where}"

    # --- place from the address -------------------------------------------------------------
    @property
    def infers_place(self) -> bool:
        """The register knows wards and addresses, and the records have addresses: a record
        typed without a ward code can get its ward from its address."""
        return self.rec.has("address") and self.reg.has("address") and self.reg.has("ward_code")

    # --- place from the site ----------------------------------------------------------------
    @property
    def places_by_site(self) -> bool:
        """The records name their site and the register knows wards: a record typed with
        no place at all can be looked for where its site's people live."""
        return self.rec.has("site_id") and self.reg.has("ward_code")

    def site_place_sql(self) -> str:
        """Where each site's people live (:func:`tiemchung.reconcile.places.site_place_sql`)."""
        return places.site_place_sql()

    def resid_sql(self) -> str:
        """The identities left to score, with their site's place when they need it
        (:func:`tiemchung.reconcile.places.resid_sql`)."""
        if not self.places_by_site:
            return places.resid_sql(None)
        cols = [c for c in self.ident_columns() if c not in ("addr_raw", "sward", "sdistrict")]
        if self.staged_address:
            cols += [c for c, _t in ADDR_COLS]
        return places.resid_sql(cols)

    def with_owner_sql(self, identities: str) -> str:
        """The identities of ``identities`` (SQL), each with who holds its ID in the register
        and that person's address (``OWNER_COLS``).

        Only identities that are scored need it: the household level comes after the exact
        ID levels, which every pair of the exact pass meets. Grouping only the register
        persons whose ID some of these identities carry costs a tenth of grouping all."""
        return (
            f"WITH x AS ({identities}), o AS (SELECT nid, min(person_id) AS person_id, "
            "min(addr_key) AS addr_key FROM reg WHERE nid IN (SELECT id_key FROM x) "
            "GROUP BY nid) SELECT x.*, o.person_id AS id_owner, o.addr_key AS id_owner_addr "
            "FROM x LEFT JOIN o ON o.nid = x.id_key"
        )

    def rec_iid_sql(self) -> str:
        """Each record: its typed identity (``raw.rid``) and its dose (number, day) — narrow,
        one row per record, made right after loading: ``rec_in`` (every record's text) can
        then be freed before standardising."""
        on = " AND ".join(f"r.{c} IS NOT DISTINCT FROM t.{c}" for c in self.raw_cols)
        dn = "dn.n" if self.rec.has("dose_number") else "CAST(NULL AS INTEGER)"
        site = "t.site_id" if self.places_by_site else "CAST(NULL AS STRING)"
        dd = "dd.day_no" if self.rec.has("dose_date") else "CAST(NULL AS INTEGER)"
        joins = [f"LEFT JOIN raw r ON {on}"]
        if self.rec.has("dose_number"):
            joins.append("LEFT JOIN v_dose_number dn ON dn.v = t.dose_number")
        if self.rec.has("dose_date"):
            joins.append("LEFT JOIN v_dose_date dd ON dd.v = t.dose_date")
        return (
            "SELECT t._row, coalesce(t.record_id, concat('#row-', CAST(t._row AS STRING))) "
            "AS record_id, t.record_id IS NULL OR trim(t.record_id) = '' AS no_id, r.rid AS iid, "
            f"{dn} AS dose_number, {dd} AS dose_day, {site} AS site "
            f"FROM rec_in t {' '.join(joins)}"
        )

    # --- exact pass --------------------------------------------------------------------------
    def compatible_sql(self, a: str = "i", b: str = "g") -> str:
        """Date of birth and folded name compatible (only for columns both inputs have)."""
        conds = []
        if self.both("dob"):
            conds.append(dob_compatible_sql(a, b))
        if self.both("full_name"):
            conds.append(
                f"({a}.name_fold = {b}.name_fold OR ({a}.surname = {b}.surname AND "
                f"{a}.given = {b}.given AND {a}.ntok <> {b}.ntok))"
            )
        return " AND ".join(f"({c})" for c in conds) or "TRUE"

    def exact_sql(self, identities: str = "ident") -> str:
        if not self.both("national_id"):
            return "SELECT CAST(NULL AS BIGINT) AS iid, CAST(NULL AS STRING) AS person_id LIMIT 0"
        compat = self.compatible_sql()
        union = [
            f"SELECT i.iid, g.person_id FROM {identities} i JOIN reg g ON g.nid = i.id_key "
            f"WHERE {compat}"
        ]
        if self.reg.has("old_id"):
            union.append(
                f"SELECT i.iid, g.person_id FROM {identities} i JOIN reg g ON g.old_id = i.id_key "
                f"WHERE {compat}"
            )
        # one person only (an ID two register persons share settles nothing): min = max is
        # count(DISTINCT) = 1 without its second grouping, and lets the branches UNION ALL
        return (
            f"SELECT iid, min(person_id) AS person_id FROM ({' UNION ALL '.join(union)}) x "
            "GROUP BY iid HAVING min(person_id) = max(person_id)"
        )

    # --- blocking ----------------------------------------------------------------------------
    def blocking_rules(self, n_register: int = 0) -> dict[str, str]:
        """name -> join condition between identity ``i`` and register person ``g``
        (:func:`tiemchung.reconcile.blocking.blocking_rules`). ``n_register`` is kept for
        callers that size rules."""
        return blocking_rules(self)

    def candidates_sql(self, source: str, rules: dict[str, str]) -> str:
        parts = [
            f"SELECT i.iid, g.person_id FROM {source} i JOIN reg g ON {cond}"
            for cond in rules.values()
        ]
        return " UNION ".join(parts)

    def training_sessions(self, n_register: int = 0) -> dict[str, tuple[str, tuple[str, ...]]]:
        """EM sessions: name -> (blocking condition, comparisons it fixes). A comparison that
        a session blocks on cannot be learnt from it (all its pairs agree there)."""
        rules = self.blocking_rules(n_register)
        # (a ward block also makes addresses agree more often than at random)
        fixes = {
            "id": ("national_id",),
            "name_dob": ("full_name", "dob"),
            "dob_place": ("dob", "ward_code"),
            "name_place": ("full_name", "ward_code"),
        }
        out: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name in ("id", "name_dob", "dob_place"):
            if name in rules:
                out[name] = (rules[name], fixes[name])
        if "name_dob" not in out and "name_place" in rules:
            out["name_place"] = (rules["name_place"], fixes["name_place"])
        if not out and rules:
            name, cond = next(iter(rules.items()))
            out[name] = (cond, ())
        return out

    # --- comparison vectors ------------------------------------------------------------------
    def pair_columns_sql(self, pairs: str, identities: str | None, extra: str = "") -> str:
        """The pairs of table ``pairs`` (``iid``, ``person_id``) with the identity's columns
        as ``l_*`` and the register person's as ``r_*``, which the comparisons read;
        ``identities``: the table of the identities with their ``OWNER_COLS``, or ``None``
        for pairs of the exact pass (``ident``; no pair of it reaches the household level);
        ``extra``: more select items (``i.`` identity, ``g.`` person, ``p.`` pair)."""
        return self.compared_sql(
            _pairs_join(pairs, identities or "ident"), owner=identities is not None, extra=extra
        )

    def compared_sql(self, joined: str, *, owner: bool = True, extra: str = "") -> str:
        """``iid``, ``person_id`` and the ``l_*``/``r_*`` columns the comparisons read, of
        the pairs that ``joined`` (a FROM clause) makes of identities ``i`` and register
        persons ``g``; ``owner``: ``i`` has the ``OWNER_COLS`` (else they are NULL)."""
        lsel = ", ".join(f"i.{c} AS l_{c}" for c in IDENT_COLS)
        if owner:
            osel = ", ".join(f"i.{c} AS l_{c}" for c in OWNER_COLS)
        else:
            osel = ", ".join(f"CAST(NULL AS STRING) AS l_{c}" for c in OWNER_COLS)
        rsel = ", ".join(f"g.{c} AS r_{c}" for c in REG_COLS)
        addr_tf, addr_join = "", ""
        if "r_addr_tf" in self.tf_columns:
            addr_tf = ", ta.addr_tf AS r_addr_tf"
            addr_join = " LEFT JOIN addr_tf ta ON ta.addr_toks = g.addr_toks"
        inner = (
            f"SELECT i.iid, g.person_id{extra}, {lsel}, {osel}, {rsel}, "
            f"tf.name_tf AS r_name_tf{addr_tf} FROM {joined} "
            f"LEFT JOIN name_tf tf ON tf.name_fold = g.name_fold{addr_join}"
        )
        feats: dict[str, str] = {}
        for comp in self.comparisons:
            feats.update(comp.features(self.dialect))
        if not feats:
            return inner
        cols = ", ".join(f"{sql} AS {name}" for name, sql in feats.items())
        return f"SELECT x.*, {cols} FROM ({inner}) x"

    def gammas_sql(self) -> str:
        """The select items of every comparison's level (``gamma_*``) over ``l_``/``r_``."""
        return ", ".join(c.gamma_sql(self.dialect) for c in self.comparisons)

    def gamma_sql(self, pairs: str, identities: str) -> str:
        """Comparison vectors of the pairs in table ``pairs`` (``iid``, ``person_id``), whose
        identities are in table ``identities`` (with ``OWNER_COLS``)."""
        return self.joined_gamma_sql(_pairs_join(pairs, identities))

    def joined_gamma_sql(self, joined: str) -> str:
        """Comparison vectors of the pairs that ``joined`` makes (see :meth:`compared_sql`):
        a blocking join can be compared where it is made, without a table of its pairs."""
        return (
            f"SELECT iid, person_id, {', '.join(self.tf_columns)}, {self.gammas_sql()} FROM ("
            f"{self.compared_sql(joined)}) x"
        )

    def patterns_sql(
        self, gamma_table_sql: str, comps: tuple[Comparison, ...] | None = None
    ) -> str:
        cols = ", ".join(c.gamma for c in (comps or self.comparisons))
        return f"SELECT {cols}, count(*) AS n FROM ({gamma_table_sql}) y GROUP BY {cols}"


def _pairs_join(pairs: str, identities: str) -> str:
    """The FROM clause joining the pairs of table ``pairs`` (``iid``, ``person_id``) to their
    identity ``i`` (in table ``identities``) and register person ``g``."""
    return f"{pairs} p JOIN {identities} i ON i.iid = p.iid JOIN reg g ON g.person_id = p.person_id"
