"""Declarative, versioned disclosure policies (TOML) with presets and a fingerprint.

A policy says which numbers may leave the analyst zone: minimum frequencies (in distinct
persons *and* distinct households), dominance and p% rules for amounts, group disclosure,
how hidden cells are protected (secondary suppression, audit), optional rounding or
cell-key perturbation, and how new requests are checked against earlier releases (ledger).

Every field has a default, so a policy file only lists what differs. The *fingerprint* is
the SHA-256 of the canonical JSON of the complete, normalised policy (sorted keys, no
whitespace; a cell-key seed enters only as its own SHA-256), and is written into every
output so a reader can tell exactly which rules produced a table.

Example:
    >>> p = load_policy("cbs-remote-access")
    >>> p.frequency.min_persons, p.frequency.min_households
    (10, 10)
    >>> len(p.fingerprint)
    64
    >>> p2 = load_policy("cbs-remote-access", overrides={"frequency": {"min_persons": 15}})
    >>> p2.fingerprint != p.fingerprint
    True
"""

from __future__ import annotations

import copy
import hashlib
import importlib.resources
import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from pplink._toml import describe_value
from pplink.errors import ConfigError

__all__ = [
    "POLICY_FORMAT_VERSION",
    "Policy",
    "FrequencyRule",
    "MagnitudeRules",
    "GroupDisclosureRule",
    "SecondaryConfig",
    "RoundingConfig",
    "CellKeyConfig",
    "LedgerConfig",
    "OutputConfig",
    "load_policy",
    "list_presets",
    "policy_from_dict",
]

POLICY_FORMAT_VERSION = 1
_PRESET_PACKAGE = "pplink"
_PRESET_DIR = ("data", "policies")


@dataclass(frozen=True)
class FrequencyRule:
    """Minimum number of distinct persons and distinct households behind every published cell.

    ``zero_is_safe``: an empty cell (0 units) may be published.

    Example:
        >>> FrequencyRule().min_persons
        10
    """

    min_persons: int = 10
    min_households: int = 10
    zero_is_safe: bool = True


@dataclass(frozen=True)
class MagnitudeRules:
    """Sensitivity rules for tables of amounts (``sum:`` / ``mean:`` measures).

    * ``dominance``: list of (n, k) pairs: a cell is unsafe when its n largest contributors
      hold more than k % of the cell total.
    * ``p_percent``: p; a cell is unsafe when the total minus the two largest contributions
      is less than p % of the largest (the second largest could estimate the largest too
      closely). 0 switches the rule off.
    * ``contributor``: ``"household"`` (contributions of one household are added up before
      the rules, like tau-argus *holdings*) or ``"person"``.
    * ``frequency_range_pct``: protection interval, in % of the cell value, that a hidden
      amount cell which failed only the frequency rule must keep.
    * ``allow_negative``: amounts must be >= 0 unless this is true (rules assume >= 0).

    Example:
        >>> MagnitudeRules(dominance=((1, 50),)).dominance
        ((1, 50),)
    """

    dominance: tuple[tuple[int, float], ...] = ()
    p_percent: float = 0.0
    contributor: str = "household"
    frequency_range_pct: float = 30.0
    allow_negative: bool = False


@dataclass(frozen=True)
class GroupDisclosureRule:
    """Group disclosure: (nearly) all units of a row share one value of a sensitive dimension.

    For each dimension named in ``sensitive`` that is part of the table, a cell is unsafe
    when it holds at least ``max_share`` of the units of its parent along that dimension
    (e.g. >= 90 % of the clients of a wijk use one and the same service), provided the
    parent has at least one unit. 0 < max_share <= 1; an empty list switches it off.

    Example:
        >>> GroupDisclosureRule(sensitive=("service",)).max_share
        0.9
    """

    sensitive: tuple[str, ...] = ()
    max_share: float = 0.9


@dataclass(frozen=True)
class SecondaryConfig:
    """Complementary (secondary) suppression and the audit.

    * ``method``: ``"auto"`` (exact when the table has at most ``exact_max_cells`` cells,
      else heuristic; the heuristic also takes over when the exact method runs out of time),
      ``"exact"``, ``"heuristic"`` or ``"none"`` (only allowed together with rounding or
      cell-key perturbation; the audit still runs).
    * ``protection_level``: for count cells, how far (in units) the interval an attacker
      can derive must reach above and below a hidden unsafe cell. 0 = the policy's largest
      minimum frequency. The lower reach is capped at the cell value (counts are >= 0).
    * ``cost``: information-loss weight per hidden cell: ``"value"`` (cell value + 1, the
      tau-argus default), ``"cells"`` (1 per cell) or ``"log"`` (1 + ln(1 + value)).
    * ``time_limit_s``: wall-clock budget for the exact method.
    * ``upper_bound_factor``: the attacker is assumed to know that every cell lies between
      0 and this factor times the table's grand total (the a priori bounds of the audit).
      1.0 is the strongest attacker (knows the exact grand total even when it is hidden),
      which can make a hidden grand total impossible to protect; 2.0 is the default.

    Example:
        >>> SecondaryConfig().method
        'auto'
    """

    method: str = "auto"
    protection_level: int = 0
    cost: str = "value"
    time_limit_s: float = 60.0
    exact_max_cells: int = 4000
    upper_bound_factor: float = 2.0


@dataclass(frozen=True)
class RoundingConfig:
    """Rounding of published counts to a multiple of ``base`` (0 = no rounding).

    ``method``: ``"nearest"`` rounds every cell, totals included, independently to the
    nearest multiple (half up), as CBS neighbourhood tables do: totals can differ from the
    sum of the published cells. ``"controlled"`` chooses for every cell the multiple just
    below or just above so that published totals equal the sum of their published parts
    (a mixed-integer program); it is used only when no cell of the table is hidden, because
    additive rounded margins would give away the rounded value of a hidden cell; otherwise
    the release falls back to ``"nearest"`` and says so in the report.

    Example:
        >>> RoundingConfig(base=5).base
        5
    """

    base: int = 0
    method: str = "nearest"


@dataclass(frozen=True)
class CellKeyConfig:
    """Cell-key perturbation of counts (ABS / ONS / Eurostat style).

    Each unit gets a record key in [0, 1) from HMAC-SHA256(seed, unit id); a cell's key is
    the sum of the record keys of its distinct units modulo 1, so the same set of units
    always gets the same noise. Noise lies in [-max_noise, max_noise], has mean 0 and
    (for cells larger than ``max_noise``) variance ``variance``; a cell never becomes
    negative and an empty cell stays 0. The seed is a secret of the analyst zone: keep it
    out of version control; ``seed_env`` names an environment variable to read it from.

    Example:
        >>> CellKeyConfig(enabled=True, seed="s3cret", max_noise=2).max_noise
        2
    """

    enabled: bool = False
    seed: str = ""
    seed_env: str = ""
    max_noise: int = 2
    variance: float = 1.0

    def resolved_seed(self) -> str:
        """The seed, from ``seed`` or else from the environment variable ``seed_env``.

        Example:
            >>> CellKeyConfig(seed="abc").resolved_seed()
            'abc'
        """
        if self.seed:
            return self.seed
        if self.seed_env:
            return os.environ.get(self.seed_env, "")
        return ""


@dataclass(frozen=True)
class LedgerConfig:
    """Checks of a new release against earlier ones recorded in a ledger.

    A new cell whose set of units differs from an earlier released cell by more than 0 but
    fewer than ``min_difference`` units (persons; households too when ``min_households``)
    could be differenced against it. ``on_conflict``: ``"refuse"`` raises
    :class:`~pplink.errors.DisclosureError` with an explanation; ``"suppress"`` treats such
    cells as unsafe and protects them like small cells. 0 = the frequency minimum.

    Example:
        >>> LedgerConfig().on_conflict
        'refuse'
    """

    min_difference: int = 0
    on_conflict: str = "refuse"


@dataclass(frozen=True)
class OutputConfig:
    """Output labels. ``total_label``: label of margin (total) rows and columns.

    Example:
        >>> OutputConfig().total_label
        'Totaal'
    """

    total_label: str = "Totaal"


@dataclass(frozen=True)
class Policy:
    """A complete disclosure policy. Build it with :func:`load_policy` or :func:`policy_from_dict`.

    Example:
        >>> p = load_policy("neighbourhood")
        >>> p.rounding.base
        5
    """

    name: str = "custom"
    version: str = "1"
    description: str = ""
    source: str = ""
    frequency: FrequencyRule = field(default_factory=FrequencyRule)
    magnitude: MagnitudeRules = field(default_factory=MagnitudeRules)
    group_disclosure: GroupDisclosureRule = field(default_factory=GroupDisclosureRule)
    secondary: SecondaryConfig = field(default_factory=SecondaryConfig)
    rounding: RoundingConfig = field(default_factory=RoundingConfig)
    cell_key: CellKeyConfig = field(default_factory=CellKeyConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    # ------------------------------------------------------------------ derived values
    @property
    def min_units(self) -> int:
        """The largest of the two minimum frequencies.

        Example:
            >>> load_policy("strict").min_units
            15
        """
        return max(self.frequency.min_persons, self.frequency.min_households)

    @property
    def count_protection_level(self) -> int:
        """Protection level (units) for hidden count cells; see :class:`SecondaryConfig`.

        Example:
            >>> load_policy("cbs-remote-access").count_protection_level
            10
        """
        return self.secondary.protection_level or max(1, self.min_units)

    @property
    def ledger_min_difference(self) -> int:
        """Smallest allowed non-zero difference between a new and an earlier released cell.

        Example:
            >>> load_policy("cbs-remote-access").ledger_min_difference
            10
        """
        return self.ledger.min_difference or max(1, self.min_units)

    def to_dict(self) -> dict[str, Any]:
        """The normalised policy as plain data (the seed replaced by its SHA-256).

        Example:
            >>> load_policy("strict").to_dict()["frequency"]["min_persons"]
            15
        """
        data = asdict(self)
        data["format_version"] = POLICY_FORMAT_VERSION
        ck = data["cell_key"]
        seed = self.cell_key.resolved_seed()
        ck["seed"] = _seed_digest(seed) if seed else ""
        data["magnitude"]["dominance"] = [list(x) for x in self.magnitude.dominance]
        data["group_disclosure"]["sensitive"] = list(self.group_disclosure.sensitive)
        return data

    def canonical_json(self) -> str:
        """Canonical JSON (sorted keys, compact) over which the fingerprint is computed.

        Example:
            >>> load_policy("strict").canonical_json().startswith('{"cell_key"')
            True
        """
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`.

        Example:
            >>> load_policy("strict").fingerprint == load_policy("strict").fingerprint
            True
        """
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()

    def summary(self) -> dict[str, Any]:
        """Name, version, fingerprint and the main thresholds, for reports.

        Example:
            >>> load_policy("strict").summary()["min_persons"]
            15
        """
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "min_persons": self.frequency.min_persons,
            "min_households": self.frequency.min_households,
            "protection_level": self.count_protection_level,
            "rounding_base": self.rounding.base,
            "cell_key": self.cell_key.enabled,
        }


def _seed_digest(seed: str) -> str:
    return hashlib.sha256(b"pplink-cellkey-seed-v1\x00" + seed.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- construction
_SECTIONS: dict[str, type] = {
    "frequency": FrequencyRule,
    "magnitude": MagnitudeRules,
    "group_disclosure": GroupDisclosureRule,
    "secondary": SecondaryConfig,
    "rounding": RoundingConfig,
    "cell_key": CellKeyConfig,
    "ledger": LedgerConfig,
    "output": OutputConfig,
}
_TOP_KEYS = {"format_version", "policy"}
#: Largest cell-key noise D (the perturbation table has 2D + 1 entries).
_MAX_NOISE = 100


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _keys(keys: Any) -> str:
    """Keys for error messages, sorted whatever their type."""
    return ", ".join(sorted(k if isinstance(k, str) else repr(k) for k in keys))


#: Largest whole number a policy setting may hold (counts and cell numbers; keeps numpy arithmetic exact).
_MAX_WHOLE = 10**9


def _typed(section: str, key: str, value: Any, default: Any) -> Any:
    where = f"[{section}] {key}"
    found = f" (found {describe_value(value)})"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false{found}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number{found}")
        if abs(value) > _MAX_WHOLE:
            raise ConfigError(f"{where} must be at most {_MAX_WHOLE:,}{found}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number{found}")
        if abs(value) > _MAX_WHOLE or not math.isfinite(value):  # abs first: a huge int is no float
            raise ConfigError(f"{where} must be a finite number of at most {_MAX_WHOLE:,}{found}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string{found}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list{found}")
        return tuple(value)
    return value


def _build_section(name: str, raw: Any) -> Any:
    cls = _SECTIONS[name]
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{name}] must be a table (found {describe_value(raw)})")
    defaults = cls()
    known = {f for f in cls.__dataclass_fields__}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"[{name}] has unknown key(s) {_keys(unknown)}; allowed: {_keys(known)}")
    kwargs = {k: _typed(name, k, v, getattr(defaults, k)) for k, v in raw.items()}
    if name == "magnitude" and "dominance" in kwargs:
        rules = []
        for item in kwargs["dominance"]:
            if (
                not isinstance(item, (list, tuple))
                or len(item) != 2
                or isinstance(item[0], bool)
                or not isinstance(item[0], int)
                or isinstance(item[1], bool)
                or not isinstance(item[1], (int, float))
            ):
                raise ConfigError(
                    f"[magnitude] dominance must be a list of [n, k] pairs, e.g. [[1, 50]] (found an item "
                    f"{describe_value(item)})"
                )
            if abs(item[0]) > _MAX_WHOLE:
                raise ConfigError(f"[magnitude] dominance n must be at most {_MAX_WHOLE:,}")
            rules.append((int(item[0]), float(item[1])))
        kwargs["dominance"] = tuple(rules)
    if name == "group_disclosure" and "sensitive" in kwargs:
        if not all(isinstance(s, str) and s for s in kwargs["sensitive"]):
            raise ConfigError("[group_disclosure] sensitive must be a list of dimension names, e.g. [\"service\"]")
    return cls(**kwargs)


def _validate(p: Policy) -> None:
    f = p.frequency
    if f.min_persons < 0 or f.min_households < 0:
        raise ConfigError("[frequency] minimums must be >= 0")
    m = p.magnitude
    for n, k in m.dominance:
        if n < 1 or not (0 < k <= 100):
            raise ConfigError("[magnitude] dominance needs n >= 1 and 0 < k <= 100")
    if not (0 <= m.p_percent < 100):
        raise ConfigError("[magnitude] p_percent must be in [0, 100)")
    if m.contributor not in ("household", "person"):
        raise ConfigError('[magnitude] contributor must be "household" or "person"')
    if m.frequency_range_pct < 0:
        raise ConfigError("[magnitude] frequency_range_pct must be >= 0")
    g = p.group_disclosure
    if not (0 < g.max_share <= 1):
        raise ConfigError("[group_disclosure] max_share must be in (0, 1]")
    s = p.secondary
    if s.method not in ("auto", "exact", "heuristic", "none"):
        raise ConfigError('[secondary] method must be "auto", "exact", "heuristic" or "none"')
    if s.cost not in ("value", "cells", "log"):
        raise ConfigError('[secondary] cost must be "value", "cells" or "log"')
    if s.protection_level < 0 or s.time_limit_s <= 0 or s.exact_max_cells < 0:
        raise ConfigError("[secondary] protection_level >= 0, time_limit_s > 0, exact_max_cells >= 0")
    if s.upper_bound_factor < 1.0:
        raise ConfigError("[secondary] upper_bound_factor must be >= 1")
    r = p.rounding
    if r.base < 0 or r.base == 1:
        raise ConfigError("[rounding] base must be 0 (off) or >= 2")
    if r.method not in ("nearest", "controlled"):
        raise ConfigError('[rounding] method must be "nearest" or "controlled"')
    c = p.cell_key
    if c.max_noise > _MAX_NOISE:
        raise ConfigError(f"[cell_key] max_noise must be at most {_MAX_NOISE}")
    if c.enabled:
        if r.base:
            raise ConfigError("use either [rounding] or [cell_key], not both")
        if c.max_noise < 1 or c.variance <= 0 or c.variance >= c.max_noise * (c.max_noise + 1) / 3:
            raise ConfigError("[cell_key] needs max_noise D >= 1 and 0 < variance < D(D+1)/3")
    if s.method == "none" and not (r.base or c.enabled):
        raise ConfigError(
            '[secondary] method = "none" is only allowed with rounding or cell-key perturbation'
        )
    lg = p.ledger
    if lg.on_conflict not in ("refuse", "suppress"):
        raise ConfigError('[ledger] on_conflict must be "refuse" or "suppress"')
    if lg.min_difference < 0:
        raise ConfigError("[ledger] min_difference must be >= 0")


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Build and validate a policy from parsed TOML (or any nested mapping).

    Example:
        >>> policy_from_dict({"policy": {"name": "x"}, "frequency": {"min_persons": 5}}).frequency.min_persons
        5
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"a policy must be a table of sections (found {describe_value(data)})")
    unknown = set(data) - _TOP_KEYS - set(_SECTIONS)
    if unknown:
        raise ConfigError(
            f"policy has unknown section(s) {_keys(unknown)}; allowed: {_keys(_TOP_KEYS | set(_SECTIONS))}"
        )
    fv = data.get("format_version", POLICY_FORMAT_VERSION)
    if fv != POLICY_FORMAT_VERSION or isinstance(fv, bool) or not isinstance(fv, int):
        raise ConfigError(
            f"policy format_version {describe_value(fv)} is not supported (expected {POLICY_FORMAT_VERSION})"
        )
    head = data.get("policy")
    head = {} if head is None else head
    if not isinstance(head, Mapping):
        raise ConfigError(f"[policy] must be a table with name, version, description, source (found {describe_value(head)})")
    bad = set(head) - {"name", "version", "description", "source"}
    if bad:
        raise ConfigError(f"[policy] has unknown key(s) {_keys(bad)}; allowed: description, name, source, version")
    for key in head:
        if not isinstance(head[key], str):
            raise ConfigError(f"[policy] {key} must be a string (found {describe_value(head[key])})")
    sections = {name: _build_section(name, data.get(name)) for name in _SECTIONS}
    policy = Policy(
        name=head.get("name", "custom"),
        version=head.get("version", "1"),
        description=head.get("description", ""),
        source=head.get("source", ""),
        **sections,
    )
    _validate(policy)
    return policy


def list_presets() -> list[str]:
    """Names of the bundled presets.

    Example:
        >>> list_presets()
        ['cbs-remote-access', 'neighbourhood', 'strict']
    """
    root = importlib.resources.files(_PRESET_PACKAGE).joinpath(*_PRESET_DIR)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _read_toml_text(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None


def load_policy(
    source: str | os.PathLike[str] | Policy | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Policy:
    """Load a policy from a preset name, a TOML file, a mapping or a :class:`Policy`.

    ``overrides`` is merged over the loaded data (section by section) before validation,
    e.g. to supply a cell-key seed or tighten a threshold. Every problem (a missing, non-UTF-8
    or invalid file, an unknown key, a value of the wrong type or out of range) raises
    :class:`~pplink.errors.ConfigError` naming the file or preset, the section and the key.

    Example:
        >>> load_policy("strict", overrides={"secondary": {"method": "heuristic"}}).secondary.method
        'heuristic'
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"policy overrides must be a table of sections, e.g. {{'frequency': {{'min_persons': 15}}}} "
            f"(found {describe_value(overrides)})"
        )
    origin = ""
    if isinstance(source, Policy):
        if not overrides:
            return source
        data = source.to_dict()
        data["cell_key"]["seed"] = source.cell_key.seed
        data = {"policy": {k: data.pop(k) for k in ("name", "version", "description", "source")}, **data}
    elif isinstance(source, Mapping):
        data = dict(source)
    elif isinstance(source, (str, os.PathLike)):
        text_source = os.fspath(source)
        if not isinstance(text_source, str):
            raise ConfigError("a policy file path must be text, not bytes")
        path = Path(text_source)
        if text_source in list_presets():
            root = importlib.resources.files(_PRESET_PACKAGE).joinpath(*_PRESET_DIR)
            origin = f"policy preset {text_source}"
            data = _read_toml_text(root.joinpath(text_source + ".toml").read_text("utf-8"), origin)
        elif "\x00" not in text_source and (path.suffix == ".toml" or path.exists()):
            origin = f"policy file {path}"
            try:
                text = path.read_text("utf-8")
            except FileNotFoundError:
                raise ConfigError(f"policy file {path} does not exist") from None
            except IsADirectoryError:
                raise ConfigError(f"policy file {path} is a directory, not a TOML file") from None
            except UnicodeDecodeError as exc:
                line = exc.object[: exc.start].count(b"\n") + 1
                raise ConfigError(
                    f"policy file {path} is not UTF-8 text (line {line}); re-save the file as UTF-8"
                ) from None
            except OSError as exc:
                raise ConfigError(f"cannot read policy file {path}: {exc.strerror or exc}") from None
            data = _read_toml_text(text, origin)
        else:
            raise ConfigError(
                f"unknown policy {text_source!r}: give a preset ({', '.join(list_presets())}) or a .toml file"
            )
    else:
        raise ConfigError(
            f"a policy must be a preset name, a .toml file, a table or a Policy (found {describe_value(source)})"
        )
    if overrides:
        data = _deep_merge(dict(data), overrides)
    try:
        return policy_from_dict(data)
    except ConfigError as exc:
        if not origin:
            raise
        raise ConfigError(f"{origin}{' (with overrides)' if overrides else ''}: {exc}") from None
