"""Comparisons of a dose record's typed identity (``l_`` columns) with a register person
(``r_`` columns), built for Vietnamese data entry.

A comparison is a list of levels tried in order; the first that holds gives the pair its
*gamma* (the level's position; ``-1`` for the null level, which carries no evidence). Each
level is a small class with ``create_sql(dialect)`` and a ``label``, like Splink's. The levels
name the mistakes people actually make: an ID with one digit wrong or two swapped, the old
9-digit CMND, the ID of someone else in the household; a date with day and month swapped, the
01-01 or year-only placeholder, a year off by one keystroke; a name with its middle name
dropped or one letter wrong; a neighbouring ward.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dialects import Dialect


def _hamming(d: Dialect, a: str, b: str) -> str:
    """Hamming distance, NULL for texts of different lengths (``hamming`` raises on those;
    a CASE guarantees it never sees them, which AND does not: engines reorder conjuncts)."""
    return f"(CASE WHEN length({a}) = length({b}) THEN {d.fn('hamming')}({a}, {b}) END)"


class Level:
    """One comparison level: a SQL condition on a candidate pair and a label."""

    label: str = ""
    is_null: bool = False
    #: register column holding the term frequency that replaces ``u`` on this level
    tf_column: str | None = None

    def create_sql(self, dialect: Dialect) -> str:
        raise NotImplementedError

    def features(self, dialect: Dialect) -> dict[str, str]:
        """Costly values its condition reads (name -> SQL over ``l_``/``r_``), computed once
        per pair beside the columns (:meth:`tiemchung.reconcile.steps.Plan.compared_sql`):
        two levels reading one similarity must not compute it twice, and pairs that agree
        exactly skip it."""
        return {}


@dataclass(frozen=True)
class Null(Level):
    """Either side is missing: no evidence either way."""

    conditions: tuple[str, ...]
    is_null: bool = True
    label: str = "missing"

    def create_sql(self, dialect: Dialect) -> str:
        return " OR ".join(f"({c})" for c in self.conditions)


@dataclass(frozen=True)
class Exact(Level):
    """``l_col = r_col`` (optionally against another register column)."""

    col: str
    other: str | None = None
    label: str = "exact"
    tf_column: str | None = None

    def create_sql(self, dialect: Dialect) -> str:
        return f"l_{self.col} = r_{self.other or self.col}"


@dataclass(frozen=True)
class OneSubstitution(Level):
    """Same length, one character different (one mistyped digit)."""

    col: str
    other: str
    label: str = "1 digit wrong"

    def create_sql(self, dialect: Dialect) -> str:
        a, b = f"l_{self.col}", f"r_{self.other}"
        return f"{_hamming(dialect, a, b)} = 1"


@dataclass(frozen=True)
class Transposed(Level):
    """Two neighbouring characters swapped (and nothing else)."""

    col: str
    other: str
    label: str = "2 digits swapped"

    def create_sql(self, dialect: Dialect) -> str:
        a, b = f"l_{self.col}", f"r_{self.other}"
        # hamming first: 100x cheaper than damerau_levenshtein, which then runs on few pairs
        dl = dialect.fn("damerau_levenshtein")
        return f"{_hamming(dialect, a, b)} = 2 AND {dl}({a}, {b}) = 1"


@dataclass(frozen=True)
class OneDropped(Level):
    """One character more or less (a digit dropped or typed twice): any ID format."""

    col: str
    other: str
    label: str = "1 digit dropped"

    def create_sql(self, dialect: Dialect) -> str:
        a, b = f"l_{self.col}", f"r_{self.other}"
        dl = dialect.fn("damerau_levenshtein")
        return f"abs(length({a}) - length({b})) = 1 AND {dl}({a}, {b}) = 1"


@dataclass(frozen=True)
class Household(Level):
    """The record's ID is another register person's, who lives at this person's address:
    a parent's ID typed on a child's record, or the reverse."""

    label: str = "household ID"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_id_owner_addr = r_addr_key AND l_id_owner <> r_person_id"


@dataclass(frozen=True)
class SameParts(Level):
    """Surname and given name agree but the number of words differs: a middle name dropped
    (``Nguyễn Hùng`` for ``Nguyễn Văn Hùng``) or added."""

    label: str = "middle dropped"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_surname = r_surname AND l_given = r_given AND l_ntok <> r_ntok"


@dataclass(frozen=True)
class NearParts(Level):
    """A middle name dropped or added and a keystroke or two in the surname or the given
    name (``Nguyễn Hfùng`` for ``Nguyễn Quang Công Hùng``): one of the two equal, the two
    together at most ``n`` edits apart."""

    n: int = 2
    label: str = "middle dropped ~"

    def features(self, dialect: Dialect) -> dict[str, str]:
        dl = dialect.fn("damerau_levenshtein")
        a, b = "concat(l_surname, ' ', l_given)", "concat(r_surname, ' ', r_given)"
        return {
            "f_dl_parts": "CASE WHEN l_ntok <> r_ntok AND (l_surname = r_surname OR "
            f"l_given = r_given) AND abs(length(l_given) - length(r_given)) <= {self.n} "
            f"THEN {dl}({a}, {b}) END"
        }

    def create_sql(self, dialect: Dialect) -> str:
        return f"f_dl_parts <= {self.n}"


@dataclass(frozen=True)
class OtherOrder(Level):
    """The same words in another order (``Kiên Võ Thế`` for ``Võ Thế Kiên``)."""

    label: str = "other order"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_name_sorted = r_name_sorted"


@dataclass(frozen=True)
class TokenOverlap(Level):
    """Free-text address: at least ``share`` of the smaller token set is in the other
    (``numbers``: and the numbers - house, alley, hamlet - are the same)."""

    share: float
    numbers: bool = False

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"overlap>={self.share}" + (" same numbers" if self.numbers else "")

    def features(self, dialect: Dialect) -> dict[str, str]:
        ov = dialect.token_overlap("l_addr", "r_addr")
        return {"f_addr_ov": f"CASE WHEN l_addr_toks <> r_addr_toks THEN {ov} END"}

    def create_sql(self, dialect: Dialect) -> str:
        nums = " AND l_addr_num IS NOT DISTINCT FROM r_addr_num" if self.numbers else ""
        return f"f_addr_ov >= {self.share}{nums}"


#: the most keystrokes an :class:`Edits` level counts (the distance is computed up to it)
EDITS_MAX = 2


@dataclass(frozen=True)
class Edits(Level):
    """At most ``n`` keystrokes apart (Damerau-Levenshtein: a letter wrong, dropped, doubled
    or two swapped). Rarer between two people than a high Jaro-Winkler score, which names
    sharing a surname and a middle name ("trần thị ...") reach by themselves."""

    col: str
    n: int
    #: what is compared, when not the name as typed (the label's prefix)
    what: str = ""

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"{self.what}{self.n} edit" + ("s" if self.n > 1 else "")

    def features(self, dialect: Dialect) -> dict[str, str]:
        a, b = f"l_{self.col}", f"r_{self.col}"
        dl = dialect.fn("damerau_levenshtein")
        jw = dialect.fn("jaro_winkler_similarity")
        # cheap tests first, so the distance runs on few pairs: lengths within two, and a
        # Jaro-Winkler of at least 0.7, which two keystrokes cannot bring a name of five
        # letters or more below (a name has more than five with its surname)
        return {
            f"f_dl_{self.col}": f"CASE WHEN {a} <> {b} AND abs(length({a}) - length({b})) "
            f"<= {EDITS_MAX} AND {jw}({a}, {b}) >= 0.7 THEN {dl}({a}, {b}) END"
        }

    def create_sql(self, dialect: Dialect) -> str:
        return f"f_dl_{self.col} <= {self.n}"


@dataclass(frozen=True)
class JaroWinkler(Level):
    """Jaro-Winkler similarity of the folded names at least ``threshold``."""

    col: str
    threshold: float

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"jw>={self.threshold}"

    def features(self, dialect: Dialect) -> dict[str, str]:
        a, b = f"l_{self.col}", f"r_{self.col}"
        jw = dialect.fn("jaro_winkler_similarity")
        return {f"f_jw_{self.col}": f"CASE WHEN {a} <> {b} THEN {jw}({a}, {b}) END"}

    def create_sql(self, dialect: Dialect) -> str:
        return f"f_jw_{self.col} >= {self.threshold}"


@dataclass(frozen=True)
class DobExactDay(Level):
    label: str = "exact"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_dob_iso = r_dob_iso AND l_dob_prec = 'day'"


@dataclass(frozen=True)
class DobExactPartial(Level):
    label: str = "same partial"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_dob_iso = r_dob_iso"


@dataclass(frozen=True)
class DobSwapped(Level):
    label: str = "d/m swapped"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_dob_y = r_dob_y AND l_dob_m = r_dob_d AND l_dob_d = r_dob_m"


@dataclass(frozen=True)
class DobPlaceholder(Level):
    label: str = "placeholder"

    def create_sql(self, dialect: Dialect) -> str:
        return "l_dob_y = r_dob_y AND (l_dob_prec = 'year' OR (l_dob_m = 1 AND l_dob_d = 1))"


def dob_compatible_sql(a: str, b: str, sep: str = ".") -> str:
    """identity.dates.iso_compatible (the rule's one home) on the year/month/day columns of
    ``a`` and ``b``: the same year, and month and day equal wherever both know them. A
    record without a year never passes here (the exact pass wants a date to agree with); the
    probabilistic passes weigh it instead. ``sep`` joins side and column: ``.`` for the exact
    pass's tables (``i.dob_y``), ``_`` for a comparison's ``l_``/``r_`` columns (``l_dob_y``).
    tests/registry/test_dob_rule_forms.py runs it."""
    return (
        f"{a}{sep}dob_y = {b}{sep}dob_y AND ({a}{sep}dob_m IS NULL OR {b}{sep}dob_m IS NULL OR "
        f"{a}{sep}dob_m = {b}{sep}dob_m) AND ({a}{sep}dob_d IS NULL OR {b}{sep}dob_d IS NULL OR "
        f"{a}{sep}dob_d = {b}{sep}dob_d)"
    )


@dataclass(frozen=True)
class DobCompatible(Level):
    label: str = "compatible"

    def create_sql(self, dialect: Dialect) -> str:
        return dob_compatible_sql("l", "r", sep="_")


@dataclass(frozen=True)
class DobYearTypo(Level):
    label: str = "year typo"

    def create_sql(self, dialect: Dialect) -> str:
        ly, ry = "CAST(l_dob_y AS STRING)", "CAST(r_dob_y AS STRING)"
        ham = _hamming(dialect, ly, ry)
        dl = dialect.fn("damerau_levenshtein")
        return (
            "l_dob_m IS NOT DISTINCT FROM r_dob_m AND l_dob_d IS NOT DISTINCT FROM r_dob_d "
            f"AND (abs(l_dob_y - r_dob_y) = 1 OR {ham} = 1 "
            f"OR ({ham} = 2 AND {dl}({ly}, {ry}) = 1))"
        )


@dataclass(frozen=True)
class Else(Level):
    label: str = "different"

    def create_sql(self, dialect: Dialect) -> str:
        return "TRUE"


@dataclass(frozen=True)
class Comparison:
    """A field compared through ordered levels. ``needs`` are the canonical input columns it
    reads; a comparison whose columns an input lacks is left out of the model."""

    name: str
    needs: tuple[str, ...]
    levels: tuple[Level, ...]

    @property
    def gamma(self) -> str:
        return f"gamma_{self.name}"

    def features(self, dialect: Dialect) -> dict[str, str]:
        out: dict[str, str] = {}
        for lv in self.levels:
            out.update(lv.features(dialect))
        return out

    @property
    def scored(self) -> tuple[Level, ...]:
        """The levels that carry evidence (all but the null level), in gamma order."""
        return tuple(lv for lv in self.levels if not lv.is_null)

    def gamma_sql(self, dialect: Dialect) -> str:
        parts = []
        k = 0
        for lv in self.levels:
            if lv.is_null:
                parts.append(f"WHEN {lv.create_sql(dialect)} THEN -1")
            elif isinstance(lv, Else):
                parts.append(f"ELSE {k}")
            else:
                parts.append(f"WHEN {lv.create_sql(dialect)} THEN {k}")
                k += 1
            if isinstance(lv, Else):
                break
        return f"CASE {' '.join(parts)} END AS {self.gamma}"


def default_comparisons() -> tuple[Comparison, ...]:
    """The comparisons this data needs; any whose columns are missing is dropped later."""
    return (
        Comparison(
            "national_id",
            ("national_id",),
            (
                Null(("l_id_key IS NULL", "r_nid IS NULL AND r_old_id IS NULL")),
                Exact("id_key", "nid"),
                Exact("id_key", "old_id", label="old ID"),
                OneSubstitution("id_key", "nid"),
                Transposed("id_key", "nid"),
                OneDropped("id_key", "nid"),
                Household(),
                Else(),
            ),
        ),
        Comparison(
            "full_name",
            ("full_name",),
            (
                Null(("l_name_fold IS NULL", "r_name_fold IS NULL")),
                Exact("name_fold", tf_column="r_name_tf"),
                SameParts(),
                OtherOrder(),
                Edits("name_fold", 1),
                Edits("name_fold", 2),
                NearParts(),
                Edits("name_sorted", 2, what="other order, "),
                JaroWinkler("name_fold", 0.95),
                JaroWinkler("name_fold", 0.88),
                Else(),
            ),
        ),
        Comparison(
            "dob",
            ("dob",),
            (
                Null(("l_dob_y IS NULL", "r_dob_y IS NULL")),
                DobExactDay(),
                DobExactPartial(),
                DobSwapped(),
                DobPlaceholder(),
                DobCompatible(),
                DobYearTypo(),
                Else(),
            ),
        ),
        Comparison(
            "sex",
            ("sex",),
            (Null(("l_sex IS NULL", "r_sex IS NULL")), Exact("sex"), Else()),
        ),
        Comparison(
            "ward_code",
            ("ward_code",),
            (
                Null(("l_ward IS NULL", "r_ward IS NULL")),
                Exact("ward"),
                Exact("district", label="same district"),
                Exact("province", label="same province"),
                Else(),
            ),
        ),
        Comparison(
            "phone",
            ("phone",),
            (Null(("l_phone IS NULL", "r_phone IS NULL")), Exact("phone"), Else()),
        ),
        Comparison(
            "address",
            ("address",),
            (
                Null(("l_addr_toks IS NULL", "r_addr_toks IS NULL")),
                Exact("addr_toks", tf_column="r_addr_tf"),
                TokenOverlap(0.8, numbers=True),
                TokenOverlap(0.8),
                TokenOverlap(0.5),
                Else(),
            ),
        ),
    )
