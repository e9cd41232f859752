"""The encoding schema: which fields are encoded how, and with which hardening.

A schema is declarative (TOML), versioned and fingerprinted. Two encoded files can only be
linked when their schema fingerprints (and key fingerprints) are equal. The fingerprint is the
SHA-256 of the schema's canonical JSON form, so formatting and comments do not matter but every
setting does.

Example:
    >>> schema = default_schema()
    >>> schema.name
    'nl-person'
    >>> len(schema.fingerprint)
    64
    >>> Schema.from_dict(schema.to_dict()).fingerprint == schema.fingerprint
    True
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping as AbcMapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pplink._toml import describe_value, read_toml
from pplink.errors import ConfigError

__all__ = [
    "BloomField",
    "TokenSpec",
    "Hardening",
    "Schema",
    "default_schema",
    "load_schema",
    "check_project_name",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1
Tokenizer = Literal["qgram", "exact"]
_TOKENIZERS = ("qgram", "exact")
_MAX_BITS = 1 << 16


@dataclass(frozen=True)
class BloomField:
    """How one logical field is turned into Bloom-filter bits.

    ``clk_k`` hash positions per token go into the record-level CLK (0 = not in the CLK; the
    relative ``clk_k`` values are the field weights). ``bits``/``k`` define the field's own
    Bloom filter (``bits = 0``: none). ``positional`` q-grams carry their position, which suits
    fixed-layout values such as dates.

    Example:
        >>> BloomField("surname", q=2, clk_k=20, bits=256, k=20).tokens_for("berg")
        ['_b', 'be', 'er', 'rg', 'g_']
    """

    name: str
    tokenizer: Tokenizer = "qgram"
    q: int = 2
    positional: bool = False
    padded: bool = True
    clk_k: int = 10
    bits: int = 256
    k: int = 20
    derive: str = ""

    @property
    def source_field(self) -> str:
        """The logical field the values come from (``derive = "birth_date:year"`` -> birth_date)."""
        return self.derive.split(":", 1)[0] if self.derive else self.name

    def derive_value(self, value: str | None) -> str | None:
        """The encoded value for a source value (identity unless ``derive`` is set).

        Example:
            >>> BloomField("birth_year", derive="birth_date:year").derive_value("1980-05-17")
            '1980'
        """
        if not self.derive or value is None:
            return value
        return value[:4] if len(value) >= 4 else None

    def tokens_for(self, value: str) -> list[str]:
        """Split a normalised value into the tokens that get hashed.

        Example:
            >>> BloomField("d", positional=True, padded=False).tokens_for("1980")
            ['0:19', '1:98', '2:80']
        """
        if self.tokenizer == "exact":
            return [value]
        text = f"_{value}_" if self.padded else value
        q = self.q
        if len(text) < q:
            grams = [text] if text else []
        else:
            grams = [text[i : i + q] for i in range(len(text) - q + 1)]
        if self.positional:
            return [f"{i}:{g}" for i, g in enumerate(grams)]
        return grams


@dataclass(frozen=True)
class TokenSpec:
    """A keyed HMAC token over one or more fields (an exact match key).

    The token is missing when any of ``fields`` is missing; ``optional`` fields count as empty
    when missing. ``household = True`` marks the token that identifies an address/household.

    Example:
        >>> TokenSpec("address", ("postcode", "house_number"), ("house_number_addition",), True).all_fields
        ('postcode', 'house_number', 'house_number_addition')
    """

    name: str
    fields: tuple[str, ...]
    optional: tuple[str, ...] = ()
    household: bool = False

    @property
    def all_fields(self) -> tuple[str, ...]:
        return self.fields + self.optional


@dataclass(frozen=True)
class Hardening:
    """Hardening applied to every Bloom filter (CLK and per-field), in this order.

    * ``salt``: ``"field"`` or ``"field:year"``; the hashing of every token is keyed with that
      field's value too, so equal q-grams of people with different salt values set unrelated
      bits (defends frequency and pattern attacks; costs recall when the salt field has errors).
    * ``balance``: append the complement and permute with a keyed permutation, so every filter
      has exactly half its bits set (defends attacks that use bit counts; doubles the length).
    * ``xor_fold``: XOR the two halves (halves the length; adds ambiguity to every bit).
    * ``diffusion``: ``t`` > 0 replaces the filter by ``diffusion_bits`` bits (default: same
      length), each the XOR of ``t`` keyed-randomly chosen input bits (Armknecht, Heng &
      Schnell, PoPETs 2023); defends similarity-graph and pattern attacks.

    Example:
        >>> Hardening(balance=True).output_bits(1024)
        2048
        >>> Hardening(xor_fold=True, diffusion=5).output_bits(1024)
        512
    """

    salt: str = ""
    balance: bool = False
    xor_fold: bool = False
    diffusion: int = 0
    diffusion_bits: int = 0

    @property
    def salt_field(self) -> str | None:
        return self.salt.split(":", 1)[0] if self.salt else None

    def salt_value(self, value: str | None) -> str:
        """The salt for one record, from the salt field's normalised value ('' if missing).

        Example:
            >>> Hardening(salt="birth_date:year").salt_value("1980-05-17")
            '1980'
        """
        if not self.salt or value is None:
            return ""
        if self.salt.endswith(":year"):
            return value[:4]
        return value

    def output_bits(self, bits: int) -> int:
        """Length of a filter of ``bits`` bits after hardening."""
        if self.balance:
            bits *= 2
        if self.xor_fold:
            bits //= 2
        if self.diffusion:
            bits = self.diffusion_bits or bits
        return bits

    @property
    def enabled(self) -> bool:
        return bool(self.salt or self.balance or self.xor_fold or self.diffusion)


@dataclass(frozen=True)
class Schema:
    """A complete encoding schema. Load one with :func:`load_schema` or :func:`default_schema`."""

    name: str
    fields: tuple[BloomField, ...]
    tokens: tuple[TokenSpec, ...] = ()
    clk_bits: int = 1024
    hardening: Hardening = field(default_factory=Hardening)
    project: str = "default"
    version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived ------------------------------------------------------------------------
    @property
    def clk_fields(self) -> tuple[BloomField, ...]:
        return tuple(f for f in self.fields if f.clk_k > 0)

    @property
    def filter_fields(self) -> tuple[BloomField, ...]:
        return tuple(f for f in self.fields if f.bits > 0)

    @property
    def household_token(self) -> TokenSpec | None:
        return next((t for t in self.tokens if t.household), None)

    @property
    def input_fields(self) -> tuple[str, ...]:
        """Every logical field the schema reads, in a stable order."""
        names: list[str] = [f.source_field for f in self.fields]
        for t in self.tokens:
            names.extend(t.all_fields)
        if self.hardening.salt_field:
            names.append(self.hardening.salt_field)
        return tuple(dict.fromkeys(names))

    def to_dict(self) -> dict[str, Any]:
        """The canonical dictionary form (what the fingerprint is computed over)."""
        return {
            "version": self.version,
            "name": self.name,
            "project": self.project,
            "clk": {"bits": self.clk_bits},
            "fields": {f.name: {k: v for k, v in asdict(f).items() if k != "name"} for f in self.fields},
            "tokens": {
                t.name: {"fields": list(t.fields), "optional": list(t.optional), "household": t.household}
                for t in self.tokens
            },
            "hardening": asdict(self.hardening),
        }

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the canonical JSON form."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "schema") -> Schema:
        """Build a schema from its dictionary (TOML) form, with clear errors.

        Example:
            >>> Schema.from_dict({"version": 1, "name": "x", "fields": {"a": {"qq": 1}}})
            Traceback (most recent call last):
            ...
            pplink.errors.ConfigError: schema: field 'a' has unknown setting(s) qq; ...
        """
        if not isinstance(data, AbcMapping):
            raise ConfigError(
                f"{source}: a schema must be a table of settings (found {describe_value(data)}); "
                "see the shipped schema nl-person for an example"
            )
        data = dict(data)
        version = data.pop("version", None)
        if version != SCHEMA_VERSION or not isinstance(version, int) or isinstance(version, bool):
            raise ConfigError(f"{source}: 'version' must be {SCHEMA_VERSION} (found {describe_value(version)})")
        name = _take(data, "name", str, source)
        project = data.pop("project", "default")
        if not isinstance(project, str) or not project:
            raise ConfigError(f"{source}: 'project' must be a non-empty string (found {describe_value(project)})")
        clk = _table(data.pop("clk", None), "[clk]", "bits = 1024", source)
        if set(clk) - {"bits"}:
            raise ConfigError(
                f"{source}: [clk] accepts only 'bits' (found {_names(set(clk) - {'bits'})})"
            )
        clk_bits = clk.get("bits", 1024)
        raw_fields = data.pop("fields", None)
        if raw_fields is not None and not isinstance(raw_fields, dict):
            raise ConfigError(
                f"{source}: 'fields' must be a table of [fields.NAME] tables, one per field "
                f"(found {describe_value(raw_fields)})"
            )
        if not raw_fields:
            raise ConfigError(f"{source}: at least one [fields.NAME] table is required")
        allowed = set(BloomField.__dataclass_fields__) - {"name"}
        fields_: list[BloomField] = []
        for fname, spec in raw_fields.items():
            _check_name(fname, "field", source)
            if not isinstance(spec, dict):
                raise ConfigError(
                    f"{source}: [fields.{fname}] must be a table of settings such as clk_k = 10 "
                    f"(found {describe_value(spec)})"
                )
            unknown = set(spec) - allowed
            if unknown:
                raise ConfigError(
                    f"{source}: field {fname!r} has unknown setting(s) {_names(unknown)}; "
                    f"allowed: {', '.join(sorted(allowed))}"
                )
            _check_types(spec, _FIELD_TYPES, f"{source}: [fields.{fname}]")
            fields_.append(BloomField(name=fname, **spec))
        raw_tokens = _table(data.pop("tokens", None), "'tokens'", "[tokens.NAME] tables", source)
        tokens: list[TokenSpec] = []
        for tname, spec in raw_tokens.items():
            _check_name(tname, "token", source)
            if not isinstance(spec, dict) or set(spec) - {"fields", "optional", "household"}:
                raise ConfigError(f"{source}: [tokens.{tname}] must be a table and accepts only 'fields', "
                                  "'optional', 'household'")
            household = spec.get("household", False)
            if not isinstance(household, bool):
                raise ConfigError(f"{source}: [tokens.{tname}] 'household' must be true or false")
            tokens.append(
                TokenSpec(
                    name=tname,
                    fields=_string_list(spec.get("fields", []), f"{source}: [tokens.{tname}] 'fields'"),
                    optional=_string_list(spec.get("optional", []), f"{source}: [tokens.{tname}] 'optional'"),
                    household=household,
                )
            )
        hard = _table(data.pop("hardening", None), "[hardening]", "balance = true", source)
        hallowed = set(Hardening.__dataclass_fields__)
        if set(hard) - hallowed:
            raise ConfigError(
                f"{source}: [hardening] has unknown setting(s) {_names(set(hard) - hallowed)}; "
                f"allowed: {', '.join(sorted(hallowed))}"
            )
        if data:
            raise ConfigError(
                f"{source}: unknown top-level key(s) {_names(data)}; allowed: version, name, project, clk, "
                "fields, tokens, hardening"
            )
        _check_types(hard, _HARDENING_TYPES, f"{source}: [hardening]")
        if not isinstance(clk_bits, int) or isinstance(clk_bits, bool):
            raise ConfigError(f"{source}: [clk] bits must be an integer (found {describe_value(clk_bits)})")
        try:
            return cls(
                name=name,
                project=project,
                clk_bits=clk_bits,
                fields=tuple(fields_),
                tokens=tuple(tokens),
                hardening=Hardening(**hard),
            )
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from None


_FIELD_TYPES: dict[str, type] = {
    "tokenizer": str, "q": int, "positional": bool, "padded": bool, "clk_k": int, "bits": int, "k": int,
    "derive": str,
}
_HARDENING_TYPES: dict[str, type] = {
    "salt": str, "balance": bool, "xor_fold": bool, "diffusion": int, "diffusion_bits": int,
}


def _names(keys: Any) -> str:
    """Unknown keys for error messages, sorted, whatever their type."""
    return ", ".join(sorted(repr(k) if not isinstance(k, str) else k for k in keys))


def _table(value: Any, what: str, example: str, source: str) -> dict[Any, Any]:
    """An optional sub-table: absent is empty; anything but a table is refused, not ignored."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {what} must be a table (e.g. {example}), found {describe_value(value)}")
    return value


def _check_name(name: Any, what: str, source: str) -> None:
    if not (isinstance(name, str) and name and name == name.strip() and name.isprintable()):
        raise ConfigError(
            f"{source}: {what} name {name!r} must be a non-empty string without leading or trailing spaces "
            "or control characters"
        )


def _check_types(values: dict[str, Any], types: dict[str, type], where: str) -> None:
    for key, value in values.items():
        typ = types[key]
        ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
        if not ok:
            names = {bool: "true or false", int: "an integer", str: "a string"}
            raise ConfigError(f"{where}: {key!r} must be {names[typ]} (found {describe_value(value)})")


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of field names, e.g. [\"postcode\", \"house_number\"]")
    return tuple(value)


def _take(data: dict[str, Any], key: str, typ: type, source: str) -> Any:
    value = data.pop(key, None)
    if not isinstance(value, typ) or (isinstance(value, str) and not value):
        raise ConfigError(f"{source}: {key!r} is required and must be a {typ.__name__}")
    return value


def _check_dataclass_types(s: Schema) -> None:
    """Types of a schema built directly (not through :meth:`Schema.from_dict`)."""
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ConfigError(msg)

    need(isinstance(s.name, str) and bool(s.name), f"'name' must be a non-empty string (found {describe_value(s.name)})")
    need(isinstance(s.version, int) and not isinstance(s.version, bool) and s.version == SCHEMA_VERSION,
         f"'version' must be {SCHEMA_VERSION} (found {describe_value(s.version)})")
    need(isinstance(s.clk_bits, int) and not isinstance(s.clk_bits, bool),
         f"clk bits must be an integer (found {describe_value(s.clk_bits)})")
    need(isinstance(s.fields, tuple) and all(isinstance(f, BloomField) for f in s.fields),
         "fields must be a tuple of BloomField")
    need(isinstance(s.tokens, tuple) and all(isinstance(t, TokenSpec) for t in s.tokens),
         "tokens must be a tuple of TokenSpec")
    need(isinstance(s.hardening, Hardening), "hardening must be a Hardening")
    for f in s.fields:
        for key, typ in (("name", str), *_FIELD_TYPES.items()):
            value = getattr(f, key)
            need(isinstance(value, typ) and not (typ is int and isinstance(value, bool)),
                 f"field {f.name!r}: {key!r} must be {_TYPE_NAMES[typ]} (found {describe_value(value)})")
    for t in s.tokens:
        need(isinstance(t.name, str) and bool(t.name), f"token name {t.name!r} must be a non-empty string")
        for key in ("fields", "optional"):
            value = getattr(t, key)
            need(isinstance(value, tuple) and all(isinstance(v, str) and v for v in value),
                 f"token {t.name!r}: {key!r} must be a tuple of field names")
        need(isinstance(t.household, bool), f"token {t.name!r}: 'household' must be true or false")
    for key, typ in _HARDENING_TYPES.items():
        value = getattr(s.hardening, key)
        need(isinstance(value, typ) and not (typ is int and isinstance(value, bool)),
             f"hardening.{key} must be {_TYPE_NAMES[typ]} (found {describe_value(value)})")


_TYPE_NAMES = {bool: "true or false", int: "an integer", str: "a string"}


def _validate(s: Schema) -> None:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ConfigError(msg)

    _check_dataclass_types(s)
    check_project_name(s.project)
    need(isinstance(s.clk_bits, int) and 64 <= s.clk_bits <= _MAX_BITS and s.clk_bits % 64 == 0,
         f"clk bits must be a multiple of 64 between 64 and {_MAX_BITS} (found {describe_value(s.clk_bits)})")
    names = [f.name for f in s.fields]
    need(len(names) == len(set(names)), "field names must be unique")
    h = s.hardening
    for f in s.fields:
        need(f.tokenizer in _TOKENIZERS, f"field {f.name!r}: tokenizer must be one of {_TOKENIZERS}")
        need(isinstance(f.q, int) and 1 <= f.q <= 8, f"field {f.name!r}: q must be an integer 1..8 (found {describe_value(f.q)})")
        need(isinstance(f.clk_k, int) and 0 <= f.clk_k <= 200, f"field {f.name!r}: clk_k must be 0..200 (found {describe_value(f.clk_k)})")
        need(isinstance(f.k, int) and 1 <= f.k <= 200, f"field {f.name!r}: k must be 1..200 (found {describe_value(f.k)})")
        need(isinstance(f.bits, int) and 0 <= f.bits <= _MAX_BITS and f.bits % 64 == 0,
             f"field {f.name!r}: bits must be 0 or a multiple of 64 up to {_MAX_BITS} (found {describe_value(f.bits)})")
        need(f.clk_k > 0 or f.bits > 0, f"field {f.name!r} is neither in the CLK (clk_k) nor has its own filter (bits)")
        need(not f.derive or (f.derive.count(":") == 1 and f.derive.endswith(":year") and len(f.derive) > 5),
             f"field {f.name!r}: derive must be '' or 'FIELD:year'")
    need(bool(s.clk_fields) or bool(s.filter_fields) or bool(s.tokens), "the schema encodes nothing")
    for t in s.tokens:
        need(bool(t.fields), f"token {t.name!r} needs at least one field in 'fields'")
        need(len(set(t.all_fields)) == len(t.all_fields), f"token {t.name!r} lists a field twice")
    need(sum(t.household for t in s.tokens) <= 1, "at most one token may be the household token")
    need(isinstance(h.diffusion, int) and 0 <= h.diffusion <= 64, f"hardening.diffusion (t) must be 0..64 (found {describe_value(h.diffusion)})")
    need(isinstance(h.diffusion_bits, int) and 0 <= h.diffusion_bits <= _MAX_BITS and h.diffusion_bits % 64 == 0,
         f"hardening.diffusion_bits must be 0 (same length) or a multiple of 64 up to {_MAX_BITS}")
    need(not h.diffusion_bits or h.diffusion > 0, "hardening.diffusion_bits needs diffusion > 0")
    need(not h.salt or h.salt.count(":") == 0 or (h.salt.count(":") == 1 and h.salt.endswith(":year")
                                                  and len(h.salt) > len(":year")),
         "hardening.salt must be 'FIELD' or 'FIELD:year'")
    if h.xor_fold:
        factor = 2 if h.balance else 1
        odd = [("clk", s.clk_bits)] if s.clk_fields and (s.clk_bits * factor) % 128 else []
        odd += [(f.name, f.bits) for f in s.filter_fields if (f.bits * factor) % 128]
        need(not odd, "xor_fold needs filter lengths that are multiples of 128 bits; change "
             + ", ".join(f"{name} ({bits} bits)" for name, bits in odd))


def check_project_name(name: object) -> str:
    """Return ``name`` if it can be a project name, else raise :class:`ConfigError`.

    The project name is the HKDF salt of every key derived from the secret, so an invisible
    difference (a trailing space, a tab) would silently give files that cannot be linked.
    A project name is a non-empty string without leading or trailing spaces or control
    characters; it is a public label, not a secret.

    Example:
        >>> check_project_name("wmo-jeugd-enschede-2026")
        'wmo-jeugd-enschede-2026'
        >>> check_project_name("wmo-2026 ")
        Traceback (most recent call last):
        ...
        pplink.errors.ConfigError: 'project' must be a non-empty string without leading or trailing spaces ...
    """
    if not (isinstance(name, str) and name and name == name.strip() and name.isprintable()):
        raise ConfigError(
            "'project' must be a non-empty string without leading or trailing spaces or control characters"
        )
    return name


def load_schema(path: str | Path) -> Schema:
    """Load a schema TOML file; errors name the file and the setting.

    Example:
        >>> load_schema("no/such/file.toml")
        Traceback (most recent call last):
        ...
        pplink.errors.ConfigError: schema file no/such/file.toml does not exist
    """
    p = Path(path)
    data = read_toml(p, "schema file")
    return Schema.from_dict(data, source=f"schema file {p}")


def default_schema(name: str = "nl-person") -> Schema:
    """One of the schemas shipped with pplink: ``nl-person`` (Dutch person records).

    Example:
        >>> "bsn" in [t.name for t in default_schema().tokens]
        True
    """
    root = resources.files("pplink") / "data" / "schemas"
    known = sorted(p.name[: -len(".toml")] for p in root.iterdir() if p.name.endswith(".toml"))
    if name not in known:
        raise ConfigError(f"no built-in schema named {name!r}; built-in schemas: {', '.join(known)}")
    data = tomllib.loads((root / f"{name}.toml").read_text(encoding="utf-8"))
    return Schema.from_dict(data, source=f"built-in schema {name}")
