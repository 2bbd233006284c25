"""Every difference between the SQL of DuckDB and of Spark, in one place.

The pipeline builds one SQL text per step; it asks the dialect only for the few things the two
engines spell differently. String similarities are DuckDB built-ins; the Spark engine registers
them as ``tc_*`` Arrow UDFs computed *by DuckDB* on each batch, so both engines share their
semantics (Spark 4's own ``jaro_winkler_similarity`` gives other values, hence other names).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """SQL spellings that differ between engines."""

    name: str

    def fn(self, name: str) -> str:
        """The name under which a DuckDB function is available in this engine."""
        return SPARK_UDFS.get(name, name) if self.name == "spark" else name

    def quote(self, identifier: str) -> str:
        """Quote a column name taken from a user's file (it may hold spaces, accents)."""
        if self.name == "spark":
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def fmt_weight(self, expr: str) -> str:
        """A weight as text with sign and one decimal (``+12.3``), rounded first so both
        engines print the same digits."""
        fn = "format_string" if self.name == "spark" else "printf"
        return f"{fn}('%+.1f', round({expr}, 1))"

    def fmt_prob(self, expr: str) -> str:
        fn = "format_string" if self.name == "spark" else "printf"
        return f"{fn}('%.6f', {expr})"

    def json_escape(self, expr: str) -> str:
        """Backslashes and double quotes escaped for a JSON string (Spark reads backslash in
        a SQL literal as an escape; DuckDB does not)."""
        if self.name == "spark":
            return f"replace(replace({expr}, '\\\\', '\\\\\\\\'), '\"', '\\\\\"')"
        return f"replace(replace({expr}, '\\', '\\\\'), '\"', '\\\"')"

    def explode_split(self, expr: str, sep: str) -> str:
        """One row per ``sep``-separated part of ``expr`` (a select item). ``sep`` is one
        character; Spark's ``split`` takes a pattern, so it goes in a class there."""
        if self.name == "spark":
            return f"explode(split({expr}, '[{sep}]'))"
        return f"unnest(string_split({expr}, '{sep}'))"

    def token_overlap(self, a: str, b: str) -> str:
        """Share of the smaller token set found in the other, from the two sides' bit masks
        (``{a}_b1``/``{a}_b2``: :func:`tiemchung.reconcile.standardise._token_bits`).
        1.0 when an address is a part of the other (no street typed, the province left
        out). ``bit_count`` and ``&`` are spelt alike in both engines."""
        common = f"bit_count({a}_b1 & {b}_b1) + bit_count({a}_b2 & {b}_b2)"
        na = f"bit_count({a}_b1) + bit_count({a}_b2)"
        nb = f"bit_count({b}_b1) + bit_count({b}_b2)"
        return f"(CAST({common} AS DOUBLE) / greatest(least({na}, {nb}), 1))"

    def bucket(self, expr: str, buckets: int) -> str:
        """A stable pseudo-random bucket in ``[0, buckets)`` of a text or number, used to take
        deterministic samples (the same on every run of one engine)."""
        if self.name == "spark":
            return f"pmod(xxhash64({expr}), {buckets})"
        return f"(hash({expr}) % {buckets})"


#: DuckDB functions the Spark engine provides as Arrow UDFs, and their names there
SPARK_UDFS = {
    "jaro_winkler_similarity": "tc_jaro_winkler",
    "damerau_levenshtein": "tc_damerau_levenshtein",
    "hamming": "tc_hamming",
}

DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
