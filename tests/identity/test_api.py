"""The public surface: exported names, documentation, purity."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import tiemchung.identity as ident
from tiemchung.identity import IdentityError

PKG = Path(ident.__file__).parent


def test_all_is_exported_and_documented() -> None:
    for name in ident.__all__:
        obj = getattr(ident, name)
        if callable(obj) and not isinstance(obj, type(ident.Sex)):
            assert obj.__doc__ and len(obj.__doc__.strip()) > 20, name


def test_required_api_present() -> None:
    required = {"IdentityError", "parse_national_id", "NationalId", "id_conflicts", "Conflict",
                "parse_cccd_qr", "CitizenCard", "normalize_name", "fold_name",
                "repair_encoding", "split_name", "parse_dob", "PartialDate", "normalize_phone",
                "find_province", "find_ward", "province_by_code", "ward_by_code", "AdminUnit",
                "iter_admin_units", "to_tcvn3", "to_vni", "repair_typing"}
    assert required <= set(ident.__all__)


def test_imports_nothing_else_of_tiemchung() -> None:
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert not node.module.startswith("tiemchung"), (path, node.module)
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("tiemchung") for a in node.names), path


def test_no_module_too_long() -> None:
    for path in PKG.rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 800, path


def test_error_str_is_bilingual_and_picklable() -> None:
    err = IdentityError("phone_length", length=5)
    assert str(err) == f"{err.message_vi} / {err.message_en}"
    assert "(5)" in err.message_vi and "(5)" in err.message_en
    again = pickle.loads(pickle.dumps(err))
    assert again.code == "phone_length" and str(again) == str(err)
    assert isinstance(err, ValueError)


def test_data_file_is_small_and_licensed() -> None:
    data = PKG / "data"
    assert (data / "admin_units_2021.csv.gz").stat().st_size < 1_000_000
    assert "GNU GENERAL PUBLIC LICENSE" in (data / "LICENSE-vietnam-provinces.txt").read_text()
    assert "0.4.3" in (data / "README.md").read_text()
