"""The generator's rates: the shipped default profile, merged with a user's TOML overrides."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from tiemchung.vaccines import BY_CODE

Profile = dict[str, Any]

# Tables whose keys are data (months, product codes, provinces), not settings: an override may
# add keys to them, and replaces them whole.
_OPEN_TABLES = {
    ("population", "provinces"),
    ("vaccination", "first_dose_months"),
    ("vaccination", "teen_first_dose_months"),
    ("vaccination", "child_first_dose_months"),
    ("vaccination", "primary_mix"),
}


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the key."""


def default_profile() -> Profile:
    text = resources.files(__package__).joinpath("default_profile.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_profile(path: Path | str | None = None, overrides: Profile | None = None) -> Profile:
    """The default profile with ``path`` (a TOML file) and then ``overrides`` merged over it."""
    profile = default_profile()
    if path is not None:
        path = Path(path)
        try:
            user = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ProfileError(f"{path}: cannot read the profile ({exc})") from exc
        _merge(profile, user, (), str(path))
    if overrides:
        _merge(profile, overrides, (), "overrides")
    _validate(profile)
    return profile


def _merge(base: Profile, over: Profile, where: tuple[str, ...], source: str) -> None:
    for key, value in over.items():
        path = (*where, key)
        if key not in base:
            dotted = ".".join(path)
            raise ProfileError(
                f"{source}: unknown profile key '{dotted}' (see default_profile.toml)"
            )
        if path in _OPEN_TABLES:
            base[key] = copy.deepcopy(value)
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ProfileError(f"{source}: '{'.'.join(path)}' must be a table")
            _merge(base[key], value, path, source)
        else:
            base[key] = value


def _validate(p: Profile) -> None:
    def share(section: str, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ProfileError(f"profile: {section}.{key} must be a share between 0 and 1")

    for section in ("entry", "legacy"):
        for key, value in p[section].items():
            if key in ("max_sites",) or isinstance(value, dict):
                continue
            share(section, key, value)
    for key, value in p["entry"]["format"].items():
        share("entry.format", key, value)
    for key, value in p["entry"]["error_weights"].items():
        if not isinstance(value, int | float) or value < 0:
            raise ProfileError(f"profile: entry.error_weights.{key} must be >= 0")
    provinces = p["population"]["provinces"]
    if not provinces or any(not isinstance(v, int | float) or v < 0 for v in provinces.values()):
        raise ProfileError("profile: population.provinces needs code = share pairs")
    for name, mix in p["vaccination"]["primary_mix"].items():
        unknown = set(mix) - set(BY_CODE)
        if unknown:
            raise ProfileError(f"profile: vaccination.primary_mix.{name}: unknown {unknown}")
    for code, (lo, hi) in p["vaccination"]["intervals"].items():
        if code in BY_CODE and lo < BY_CODE[code].min_interval_days:
            raise ProfileError(
                f"profile: vaccination.intervals.{code} starts below the product's minimum "
                f"interval ({BY_CODE[code].min_interval_days} days)"
            )
        if hi < lo:
            raise ProfileError(f"profile: vaccination.intervals.{code} is [low, high]")
