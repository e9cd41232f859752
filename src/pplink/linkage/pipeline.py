"""Link two encoded sources: candidates -> comparison vectors -> match probabilities -> links.

This is the linkage unit's main entry point. It takes :class:`~pplink.encoded.EncodedDataset`
objects (or paths) and never a key.

1. **Candidates**: all pairs whose CLK Dice similarity reaches ``candidate_threshold``
   (compiled, multi-threaded, popcount-pruned) — or Hamming-LSH bands when ``blocking="lsh"``
   — united with every pair that shares a keyed token (BSN, address, name + birth date).
2. **Comparison vectors**: per field with its own Bloom filter, Dice similarity cut into
   levels (``levels``); exact-tokenised fields (sex, house number addition) agree/disagree;
   the BSN token agree/disagree. A missing value on either side is "missing" and adds no
   evidence.
3. **Model**: Fellegi–Sunter. ``u`` (the level distribution among non-matches) is estimated
   from random record pairs, which are almost all non-matches; ``m`` and the match share are
   then estimated by EM on the candidate pairs, without labels.
4. **Decision**: the threshold on the posterior match probability that maximises the
   model's estimated F1 (or a fixed ``match_threshold``), then a 1:1 (or 1:n) solver.

Example:
    >>> import pplink
    >>> from pplink.datasets import generate_municipality
    >>> from pplink.linkage.pipeline import link
    >>> pop = generate_municipality(n_persons=2000, seed=1).population.head(300)
    >>> people = [{"first_name": r.roepnaam.lower(), "surname": r.geslachtsnaam.lower(),
    ...            "birth_date": r.geboortedatum, "postcode": r.postcode} for r in pop.itertuples()]
    >>> s = pplink.Secret.generate()
    >>> a = pplink.encode_records(people, ids=[f"a{i}" for i in range(300)], secret=s)
    >>> b = pplink.encode_records(people[:200], ids=[f"b{i}" for i in range(200)], secret=s)
    >>> result = link(a, b)
    >>> len(result.links), bool((result.links.a_id.str[1:] == result.links.b_id.str[1:]).all())
    (200, True)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pplink.encoded import EncodedDataset, check_compatible
from pplink.errors import ConfigError
from pplink.linkage.blocking import auto_bits_per_band, lsh_dice_pairs, token_join, token_pairs, union_pairs
from pplink.linkage.features import DEFAULT_LEVELS, Feature, comparison_vectors, derive_features
from pplink.linkage.model import FellegiSunter, unique_patterns
from pplink.linkage.cluster import cluster_records
from pplink.linkage.fullspace import Block, fit_fullspace
from pplink.linkage.similarity import dedup_all_pairs, dice_all_pairs, dice_pairs
from pplink.linkage.solve import solve
from pplink.linkage.threshold import ThresholdChoice, choose_threshold

__all__ = ["LinkSettings", "LinkResult", "ClusterResult", "link", "link_many", "comparison_vectors", "load_encoded"]

LINK_COLUMNS = ["a_id", "b_id", "score", "probability", "match_weight"]


@dataclass(frozen=True)
class LinkSettings:
    """Settings of :func:`link`; every field has a sensible default.

    * ``blocking``: ``"all-pairs"`` (exact; CLK Dice >= ``candidate_threshold``), ``"lsh"``
      (Hamming LSH, for very large inputs), ``"tokens"`` (token joins only) or ``"auto"``
      (all-pairs up to ``auto_all_pairs_limit`` comparisons, else LSH). Token joins are always
      added unless ``token_blocking`` is false.
    * ``lsh_bands``, ``lsh_bits_per_band``: LSH bands and CLK bits per band; ``None`` bits per
      band are chosen from the data (:func:`~pplink.linkage.blocking.auto_bits_per_band`).
      LSH pairs are kept when their CLK Dice reaches ``candidate_threshold``, at most
      ``candidate_top_k`` per record (:func:`~pplink.linkage.blocking.lsh_dice_pairs`).
    * ``levels``: Dice cut points for per-field comparison levels.
    * ``match_threshold``: ``None`` chooses it automatically from the model (never below
      ``min_match_probability``).
    * ``solver``: ``"greedy"`` or ``"optimal"`` (1:1), ``"one_to_many_a"``/``"one_to_many_b"``,
      or ``"none"``.
    """

    blocking: str = "auto"
    candidate_threshold: float = 0.6
    candidate_top_k: int | None = 50
    token_blocking: bool = True
    auto_all_pairs_limit: float = 5e10
    lsh_bands: int = 30
    lsh_bits_per_band: int | None = None
    levels: tuple[float, ...] = DEFAULT_LEVELS
    match_threshold: float | None = None
    min_match_probability: float = 0.5
    solver: str = "greedy"
    u_sample: int = 200_000
    seed: int = 12345
    features: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self._check_types()
        if self.blocking not in ("auto", "all-pairs", "lsh", "tokens"):
            raise ConfigError("blocking must be 'auto', 'all-pairs', 'lsh' or 'tokens'")
        if not 0 < self.candidate_threshold <= 1:
            raise ConfigError("candidate_threshold must be in (0, 1]")
        if list(self.levels) != sorted(self.levels) or not self.levels:
            raise ConfigError("levels must be increasing Dice cut points")
        if self.match_threshold is not None and not 0 <= self.match_threshold <= 1:
            raise ConfigError("match_threshold must be a probability in [0, 1]")
        if self.solver not in ("greedy", "optimal", "one_to_many_a", "one_to_many_b", "none"):
            raise ConfigError("solver must be greedy, optimal, one_to_many_a, one_to_many_b or none")
        if self.candidate_top_k is not None and self.candidate_top_k < 1:
            raise ConfigError("candidate_top_k must be at least 1 (or None for no limit)")
        if (self.lsh_bits_per_band is not None and not 1 <= self.lsh_bits_per_band <= 64) or self.lsh_bands < 1:
            raise ConfigError("lsh_bands must be at least 1 and lsh_bits_per_band between 1 and 64")
        if not 0 < self.min_match_probability <= 1:
            raise ConfigError("min_match_probability must be in (0, 1]")
        if self.u_sample < 1 or self.auto_all_pairs_limit <= 0:
            raise ConfigError("u_sample and auto_all_pairs_limit must be positive")

    def _check_types(self) -> None:
        """Wrong types would fail deep inside the pipeline; refuse them here with the setting's name."""

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        def is_number(v: Any) -> bool:
            return (is_int(v) or isinstance(v, (float, np.floating))) and bool(np.isfinite(v))

        checks: list[tuple[str, bool, str]] = [
            ("blocking", isinstance(self.blocking, str), "a string"),
            ("candidate_threshold", is_number(self.candidate_threshold), "a number"),
            ("candidate_top_k", self.candidate_top_k is None or is_int(self.candidate_top_k), "a whole number or None"),
            ("token_blocking", isinstance(self.token_blocking, (bool, np.bool_)), "true or false"),
            ("auto_all_pairs_limit", is_number(self.auto_all_pairs_limit), "a number"),
            ("lsh_bands", is_int(self.lsh_bands), "a whole number"),
            ("lsh_bits_per_band", self.lsh_bits_per_band is None or is_int(self.lsh_bits_per_band),
             "a whole number or None (automatic)"),
            ("levels", isinstance(self.levels, (tuple, list)) and all(is_number(x) for x in self.levels),
             "a list of numbers"),
            ("match_threshold", self.match_threshold is None or is_number(self.match_threshold), "a number or None"),
            ("min_match_probability", is_number(self.min_match_probability), "a number"),
            ("solver", isinstance(self.solver, str), "a string"),
            ("u_sample", is_int(self.u_sample), "a whole number"),
            ("seed", is_int(self.seed), "a whole number"),
            ("features", self.features is None or (isinstance(self.features, (tuple, list))
                                                   and all(isinstance(x, str) for x in self.features)),
             "a list of feature names or None"),
        ]
        for name, ok, what in checks:
            if not ok:
                raise ConfigError(f"link setting {name} must be {what}, found {getattr(self, name)!r}")


@dataclass
class LinkResult:
    """Links (``a_id, b_id, score, probability, match_weight``) and how they were decided.

    ``candidates`` holds every scored candidate pair as positions (``ia``, ``ib``) with the
    CLK Dice ``score``, ``probability`` and whether it was accepted as a link;
    ``named_candidates`` the same with record ids (``a_id``, ``b_id``).
    """

    links: pd.DataFrame
    candidates: pd.DataFrame
    model: FellegiSunter
    threshold: ThresholdChoice | None
    match_threshold: float
    settings: LinkSettings
    stats: dict[str, Any] = field(default_factory=dict)
    _a_ids: np.ndarray | None = field(default=None, repr=False)
    _b_ids: np.ndarray | None = field(default=None, repr=False)

    @property
    def named_candidates(self) -> pd.DataFrame:
        """``candidates`` with record ids (``a_id``, ``b_id``) instead of positions (built on demand)."""
        if self._a_ids is None or self._b_ids is None:
            return pd.DataFrame(columns=["a_id", "b_id", "score", "probability", "match_weight", "accepted"])
        return _ids_for(self.candidates, self._a_ids, self._b_ids)


def load_encoded(x: EncodedDataset | str | os.PathLike[str]) -> EncodedDataset:
    """An :class:`EncodedDataset` as is, or read from a path."""
    if isinstance(x, EncodedDataset):
        return x
    from pplink.io import read_encoded

    return read_encoded(x)


def _candidates(
    a: EncodedDataset, b: EncodedDataset, s: LinkSettings, stats: dict[str, Any], *, dedup: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    blocking = s.blocking
    if blocking == "auto":
        blocking = "all-pairs" if a.n_records * b.n_records <= s.auto_all_pairs_limit else "lsh"
    stats["blocking"] = blocking
    sets: list[tuple[np.ndarray, np.ndarray]] = []
    if a.clk is None and blocking in ("all-pairs", "lsh"):
        raise ConfigError("the schema has no CLK; use blocking='tokens' or add clk fields to the schema")
    if blocking == "all-pairs":
        if dedup:
            ia, ib, _ = dedup_all_pairs(a.clk, s.candidate_threshold, top_k=s.candidate_top_k)
        else:
            ia, ib, _ = dice_all_pairs(a.clk, b.clk, s.candidate_threshold, top_k=s.candidate_top_k)
        sets.append((ia, ib))
    elif blocking == "lsh":
        # LSH approximates the all-pairs rule: keep what reaches the same CLK Dice threshold,
        # and at most top_k per record (family members collide in many bands)
        r = s.lsh_bits_per_band or auto_bits_per_band(a.clk, b.clk, bits=a.metadata.clk_bits, seed=s.seed)
        found = lsh_dice_pairs(a.clk, b.clk, s.candidate_threshold, bits=a.metadata.clk_bits,
                               top_k=s.candidate_top_k, bands=s.lsh_bands, bits_per_band=r, seed=s.seed)
        stats["n_lsh_pairs"] = found.n_colliding
        stats["lsh_bits_per_band"] = r
        la, lb = found.ia, found.ib
        sets.append((la, lb))
    if s.token_blocking or blocking == "tokens":
        for t in a.tokens:
            sets.append(token_pairs(a.tokens[t], a.token_present[t], b.tokens[t], b.token_present[t]))
    ia, ib = union_pairs(*sets, n_b=b.n_records)
    if dedup:
        keep = ia < ib
        ia, ib = ia[keep], ib[keep]
    stats["n_candidates"] = int(len(ia))
    return ia, ib


@dataclass
class _Comparison:
    """Candidates, their comparison vectors and the block's u for one source pair."""

    a: EncodedDataset
    b: EncodedDataset
    ia: np.ndarray
    ib: np.ndarray
    patterns: np.ndarray  # distinct comparison vectors of the candidates
    counts: np.ndarray  # candidates per pattern
    inverse: np.ndarray  # pattern of each candidate
    u: list[np.ndarray]
    n_pairs: float
    stats: dict[str, Any]


def _compare(a: EncodedDataset, b: EncodedDataset, s: LinkSettings, features: list[Feature], model: FellegiSunter,
             *, dedup: bool = False) -> _Comparison:
    stats: dict[str, Any] = {"n_a": a.n_records, "n_b": b.n_records}
    t0 = time.perf_counter()
    ia, ib = _candidates(a, b, s, stats, dedup=dedup)
    t1 = time.perf_counter()
    patterns, counts, inverse = unique_patterns(comparison_vectors(a, b, ia, ib, features, s.levels),
                                                model.n_levels)
    n_pairs = a.n_records * (a.n_records - 1) / 2 if dedup else float(a.n_records) * b.n_records
    ra, rb = random_pairs(a.n_records, b.n_records, s, dedup=dedup)
    if len(ra) == 0:
        u = [np.full(f.n_levels, 1.0 / f.n_levels) for f in features]
    else:
        u = model.estimate_u_random(comparison_vectors(a, b, ra, rb, features, s.levels))
    for j, f in enumerate(features):
        if f.kind == "household":
            u[j] = _household_u(a, b, f, u[j], max(n_pairs, 1.0), dedup=dedup)
    stats["seconds"] = {"candidates": t1 - t0, "compare": time.perf_counter() - t1}
    return _Comparison(a, b, ia, ib, patterns, counts, inverse, u, max(n_pairs, 1.0), stats)


def _household_u(a: EncodedDataset, b: EncodedDataset, f: Feature, u_random: np.ndarray, n_pairs: float,
                 *, dedup: bool) -> np.ndarray:
    """u of the joint address x surname feature, with the same-address part counted exactly.

    Random pairs almost never share an address, so the share of same-address pairs and their
    surname agreement are taken from the address-token join instead: the number of pairs
    sharing an address is exact, the surname distribution among them comes from those pairs.
    """
    t = a.metadata.household_token
    assert t is not None
    ia, ib, n_same = token_join(a.tokens[t], a.token_present[t], b.tokens[t], b.token_present[t])
    if dedup:  # the self-join counts c * c per address; pairs of distinct records: c * (c - 1) / 2
        n_same = (n_same - float(a.token_present[t].sum())) / 2
        keep = ia < ib
        ia, ib = ia[keep], ib[keep]
    levels = comparison_vectors(a, b, ia, ib, [f])[:, 0] if len(ia) else np.zeros(0, dtype=np.int8)
    return household_u(u_random, n_same / n_pairs, levels)


def household_u(u_random: np.ndarray, share_same: float, same_address_levels: np.ndarray,
                level_counts: np.ndarray | None = None) -> np.ndarray:
    """Combine random-pair u with the exactly counted same-address part (levels 8..11).

    ``share_same`` is the share of all pairs that share an address; ``same_address_levels``
    the household-feature levels of those pairs (optionally with ``level_counts``).

    Example:
        >>> import numpy as np
        >>> u = household_u(np.full(12, 1 / 12), 0.01, np.array([10, 10, 8]))
        >>> round(float(u[8:].sum()), 3), bool(u[10] > u[9])
        (0.01, True)
    """
    share_same = min(share_same, 0.5)
    u = np.array(u_random, dtype=np.float64)
    same = slice(8, 12)
    other = np.r_[0:8]
    u[other] = u[other] / max(u[other].sum(), 1e-12) * (1.0 - share_same)
    levels = np.asarray(same_address_levels)
    weights = np.ones(len(levels)) if level_counts is None else np.asarray(level_counts, dtype=np.float64)
    high = levels >= 8
    if high.any() and share_same > 0:
        hist = np.bincount(levels[high] - 8, weights=weights[high], minlength=4) + 0.5
        u[same] = hist / hist.sum() * share_same
    else:
        u[same] = share_same / 4
    u = np.clip(u, 1e-12, None)
    return u / u.sum()


def random_pairs(n_a: int, n_b: int, s: LinkSettings, *, dedup: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The random record pairs u is estimated from (seeded: every engine draws the same ones)."""
    n_pairs = n_a * (n_a - 1) / 2 if dedup else float(n_a) * n_b
    rng = np.random.default_rng(s.seed)
    n_random = int(min(s.u_sample, max(n_pairs, 1)))
    ra = rng.integers(0, max(n_a, 1), n_random)
    rb = rng.integers(0, max(n_b, 1), n_random)
    if dedup:
        keep = ra != rb
        ra, rb = ra[keep], rb[keep]
    return ra, rb


def _decide(c: _Comparison, model: FellegiSunter, lam: float, s: LinkSettings) -> tuple[pd.DataFrame, pd.DataFrame, ThresholdChoice | None, float]:
    """Probabilities, threshold and solver for one comparison; returns links and candidates."""
    a, b, ia, ib = c.a, c.b, c.ia, c.ib
    model.u_, model.lambda_ = c.u, lam
    # everything that depends on the comparison vector only is computed once per pattern
    pattern_probability = model.probability(c.patterns) if len(ia) else np.zeros(0)
    probability = pattern_probability[c.inverse]
    weight = model.match_weights(c.patterns)[c.inverse] if len(ia) else np.zeros(0)
    choice: ThresholdChoice | None = None
    if s.match_threshold is not None:
        threshold = s.match_threshold
    elif len(ia):
        choice = choose_threshold(pattern_probability, counts=c.counts)
        # F1-optimal thresholds on calibrated probabilities lie near F1*/2, i.e. just under
        # 0.5 when linkage is good; the floor only bites in degenerate blocks where the model
        # expects no matches at all and the "best" cut would accept near-zero probabilities.
        threshold = max(choice.threshold, s.min_match_probability)
    else:
        threshold = 1.0
    score = dice_pairs(a.clk, b.clk, ia, ib) if (a.clk is not None and len(ia)) else np.zeros(len(ia))
    accepted = np.zeros(len(ia), dtype=bool)
    idx = np.flatnonzero(probability >= threshold)
    if len(idx):
        # rank by evidence, then by CLK similarity to break ties between equal patterns; shifted
        # to be positive because the optimal solver maximises the total and drops non-positive edges
        rank = weight[idx] - weight[idx].min() + 1.0 + 1e-3 * score[idx]
        keep = solve(ia[idx], ib[idx], rank, method=s.solver)
        accepted[idx[keep]] = True
    above_t = probability >= threshold
    total_p = float(probability.sum())
    c.stats.update(
        n_links=int(accepted.sum()),
        match_threshold=float(threshold),
        estimated_matches=float(lam * c.n_pairs),
        # the model's own estimates at the threshold used (before the 1:1 step)
        estimated_precision=float(probability[above_t].mean()) if above_t.any() else 1.0,
        estimated_recall=float(probability[above_t].sum() / total_p) if total_p > 0 else 1.0,
        u=[[float(x) for x in arr] for arr in c.u],
    )
    sel = np.flatnonzero(accepted)
    a_ids, b_ids = a.record_ids[ia[sel]].astype(str), b.record_ids[ib[sel]].astype(str)
    order = np.lexsort((b_ids, a_ids))  # by record id (numpy sorts fixed-width text far faster than pandas)
    sel = sel[order]
    links = pd.DataFrame(
        {
            "a_id": a_ids[order],
            "b_id": b_ids[order],
            "score": score[sel],
            "probability": probability[sel],
            "match_weight": weight[sel],
        },
        columns=LINK_COLUMNS,
    )
    cands = pd.DataFrame({"ia": ia, "ib": ib, "score": score, "probability": probability,
                          "match_weight": weight, "accepted": accepted})
    return links, cands, choice, float(threshold)


def _settings(settings: LinkSettings | None, overrides: dict[str, Any]) -> LinkSettings:
    s = settings or LinkSettings()
    return LinkSettings(**{**s.__dict__, **overrides}) if overrides else s


def _fit(comparisons: list[_Comparison], model: FellegiSunter, *, m_fixed: list[np.ndarray] | None) -> list[float]:
    fit = fit_fullspace(
        [Block(c.patterns, c.u, c.n_pairs, counts=c.counts) for c in comparisons],
        model.n_levels,
        m_init=m_fixed,
        fix_m=m_fixed is not None,
    )
    model.m_ = fit.m
    model.n_iter_, model.converged_ = fit.n_iter, fit.converged
    return fit.lambdas


def link(
    a: EncodedDataset | str | os.PathLike[str],
    b: EncodedDataset | str | os.PathLike[str],
    settings: LinkSettings | None = None,
    *,
    model: FellegiSunter | None = None,
    labels: pd.DataFrame | None = None,
    **overrides: Any,
) -> LinkResult:
    """Link source ``a`` to source ``b`` (both encoded with the same schema and secret).

    Keyword overrides are applied to ``settings`` (e.g. ``link(a, b, solver="optimal")``).
    Pass a fitted ``model`` (e.g. ``result.model`` of another source pair) to reuse its ``m``
    probabilities; only the match share is then estimated, which helps when a pair has
    few true matches. ``labels`` (columns ``a_id``, ``b_id``, ``match`` as booleans) is a
    clerically reviewed sample: ``m`` is then estimated from its matches instead of by EM
    (labelled-sample mode; ``u`` still comes from random pairs, which is more precise than a
    small sample of non-matches). Raises :class:`~pplink.errors.IncompatibleEncodingsError`
    for mismatched fingerprints.
    """
    a, b = load_encoded(a), load_encoded(b)
    check_compatible(a, b)
    s = _settings(settings, overrides)
    features = derive_features(a, s.levels, s.features)
    fs = FellegiSunter([f.n_levels for f in features], [f.name for f in features])
    if model is not None and model.n_levels != fs.n_levels:
        raise ConfigError("the given model was fitted on other features; refit it for this schema")
    comparison = _compare(a, b, s, features, fs)
    m_fixed = None if model is None else model.m_
    if labels is not None:
        m_fixed = _m_from_labels(a, b, labels, features, s, fs)
        comparison.stats["labelled_pairs"] = int(len(labels))
    t0 = time.perf_counter()
    if len(comparison.ia):
        lam = _fit([comparison], fs, m_fixed=m_fixed)[0]
    else:
        fs.m_, lam = [np.full(f.n_levels, 1.0 / f.n_levels) for f in features], 1.0 / comparison.n_pairs
    t1 = time.perf_counter()
    links, cands, choice, threshold = _decide(comparison, fs, lam, s)
    comparison.stats["seconds"].update(fit=t1 - t0, decide=time.perf_counter() - t1)
    comparison.stats.update(features=[f.name for f in features], em_iterations=fs.n_iter_,
                            em_converged=fs.converged_)
    return LinkResult(links, cands, fs, choice, threshold, s, comparison.stats, a.record_ids, b.record_ids)


def _m_from_labels(a: EncodedDataset, b: EncodedDataset, labels: pd.DataFrame, features: list[Feature],
                   s: LinkSettings, fs: FellegiSunter) -> list[np.ndarray]:
    """m probabilities from the labelled matches of a reviewed sample."""
    missing = {"a_id", "b_id", "match"} - set(labels.columns)
    if missing:
        raise ConfigError(f"labels need columns a_id, b_id and match; missing {', '.join(sorted(missing))}")
    pos_a = pd.Series(np.arange(a.n_records), index=a.record_ids.astype(str))
    pos_b = pd.Series(np.arange(b.n_records), index=b.record_ids.astype(str))
    lab = labels.astype({"a_id": str, "b_id": str})
    unknown = ~lab.a_id.isin(pos_a.index) | ~lab.b_id.isin(pos_b.index)
    if unknown.any():
        raise ConfigError(f"{int(unknown.sum())} labelled pair(s) name record ids that are not in the inputs")
    match = lab.match.astype(bool).to_numpy()
    if match.sum() < 10:
        raise ConfigError("the labelled sample needs at least 10 matches to estimate m")
    gamma = comparison_vectors(a, b, pos_a[lab.a_id].to_numpy(), pos_b[lab.b_id].to_numpy(), features, s.levels)
    # Level frequencies among the reviewed matches, with half a pseudo-count per level: a
    # level no reviewed match happened to show is rare among matches, not impossible.
    m = []
    for j, n_levels in enumerate(fs.n_levels):
        col = gamma[match, j]
        counts = np.bincount(col[col >= 0], minlength=n_levels).astype(np.float64) + 0.5
        m.append(counts / counts.sum())
    return m


def entity_households(entity_id: np.ndarray, tokens: np.ndarray, present: np.ndarray) -> np.ndarray:
    """One household per entity: the address of its first record (in source order) that has one.

    Records are numbered source by source, so listing the authoritative sources first (the
    municipal registers before a purchased file with outdated addresses) makes their address
    win. Every record of an entity gets the same household id; entities without any address
    form a household of their own. Ids are numbered by first appearance.

    Example:
        >>> import numpy as np
        >>> tok = np.zeros((4, 16), dtype=np.uint8); tok[1, 0] = 1; tok[2, 0] = 2; tok[3, 0] = 1
        >>> entity_households(np.array([0, 0, 1, 1]), tok, np.array([False, True, True, True])).tolist()
        [0, 0, 1, 1]
        >>> entity_households(np.array([0, 1, 2, 3]), tok, np.array([False, True, True, True])).tolist()
        [0, 1, 2, 1]
    """
    n = len(entity_id)
    order = np.lexsort((np.arange(n), ~present, entity_id))  # per entity: records with an address first
    first = np.ones(n, dtype=bool)
    first[1:] = entity_id[order][1:] != entity_id[order][:-1]
    rep = order[first]  # one representative record per entity
    words = np.ascontiguousarray(tokens).view(np.uint64).reshape(n, -1)
    keys = pd.DataFrame({"w0": words[rep, 0], "w1": words[rep, 1]})
    keys.loc[~present[rep], ["w0", "w1"]] = None
    keys["entity"] = entity_id[rep]
    keys["k"] = pd.factorize(pd.Series(list(zip(keys.w0, keys.w1))).where(present[rep], None))[0]
    no_address = keys["k"] < 0
    keys.loc[no_address, "k"] = keys["k"].max() + 1 + np.arange(int(no_address.sum()))
    per_entity = dict(zip(keys["entity"], keys["k"]))
    raw = np.array([per_entity[e] for e in entity_id], dtype=np.int64)
    _, renumbered = np.unique(raw, return_inverse=True)
    # number households by first appearance for stable, readable ids
    first_seen = pd.factorize(renumbered)[0]
    return first_seen.astype(np.int64)


@dataclass
class ClusterResult:
    """Entities across sources: ``clusters`` has ``source, record_id, entity_id`` and
    ``household_id`` (when the schema has a household token); ``links`` the accepted pairwise
    links with ``source_a, source_b``; ``pairs`` the per-pair statistics; ``candidates`` every
    scored candidate pair (``source_a, source_b, a_id, b_id, score, probability,
    match_weight, accepted``)."""

    clusters: pd.DataFrame
    links: pd.DataFrame
    model: FellegiSunter
    pairs: dict[tuple[str, str], dict[str, Any]]
    settings: LinkSettings
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)


def link_many(
    sources: Sequence[EncodedDataset | str | os.PathLike[str]],
    settings: LinkSettings | None = None,
    *,
    deduplicate: bool = False,
    **overrides: Any,
) -> ClusterResult:
    """Link N sources into entities (at most one record per source per entity).

    Every pair of sources is compared; the ``m`` probabilities are estimated once for all
    pairs together (full-space EM with shared ``m``, see :mod:`pplink.linkage.fullspace`), each
    pair gets its own match share, threshold and 1:1 solution, and the accepted links are
    merged into entities by descending match weight, refusing merges that would put two records
    of one source into one entity. With ``deduplicate`` each source is also compared with
    itself and duplicates inside a source may share an entity.
    Households: every entity gets the address of its first record (in the order of
    ``sources``) that has one; entities at one address form a household (see
    :func:`entity_households`). List authoritative sources first.
    """
    data = [load_encoded(x) for x in sources]
    if not data:
        raise ConfigError("link_many needs at least one source")
    for d in data[1:]:
        check_compatible(data[0], d)
    names = [d.metadata.source for d in data]
    if len(set(names)) != len(names):
        names = [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
    s = _settings(settings, overrides)
    features = derive_features(data[0], s.levels, s.features)
    fs = FellegiSunter([f.n_levels for f in features], [f.name for f in features])
    keys: list[tuple[int, int]] = [(i, j) for i in range(len(data)) for j in range(i + 1, len(data))]
    if deduplicate:
        keys += [(i, i) for i in range(len(data))]
    comparisons = [_compare(data[i], data[j], s, features, fs, dedup=i == j) for i, j in keys]
    with_candidates = [c for c in comparisons if len(c.ia)]
    lambdas = iter(_fit(with_candidates, fs, m_fixed=None) if with_candidates else [])
    if not with_candidates:
        fs.m_ = [np.full(f.n_levels, 1.0 / f.n_levels) for f in features]
    edges = []
    link_frames = []
    cand_frames = []
    pair_stats: dict[tuple[str, str], dict[str, Any]] = {}
    for (i, j), c in zip(keys, comparisons, strict=True):
        lam = next(lambdas) if len(c.ia) else 1.0 / c.n_pairs
        links, cands, _, _ = _decide(c, fs, lam, s)
        pair_stats[(names[i], names[j])] = c.stats
        acc = cands[cands.accepted]
        edges.append((i, j, acc.ia.to_numpy(), acc.ib.to_numpy(), acc.match_weight.to_numpy() + 1e-3 * acc.score.to_numpy()))
        link_frames.append(links.assign(source_a=names[i], source_b=names[j]))
        cand_frames.append(_ids_for(cands, c.a.record_ids, c.b.record_ids).assign(source_a=names[i], source_b=names[j]))
    clusters = cluster_records([d.n_records for d in data], edges, allow_same_source=deduplicate)
    frame = clusters.to_frame(names, [d.record_ids.astype(str) for d in data])
    hh = data[0].metadata.household_token
    if hh is not None:
        frame["household_id"] = entity_households(
            clusters.entity_id,
            np.concatenate([d.tokens[hh] for d in data]),
            np.concatenate([d.token_present[hh] for d in data]),
        )
    all_links = pd.concat(link_frames, ignore_index=True) if link_frames else pd.DataFrame(columns=LINK_COLUMNS)
    # the returned model carries the shared m; u and the match share differ per source pair
    # (they are in ``pairs[...]["u"]`` and ``["estimated_matches"]``); the first pair's are set
    if comparisons:
        first = comparisons[0]
        fs.u_, fs.lambda_ = first.u, max(pair_stats[(names[keys[0][0]], names[keys[0][1]])]["estimated_matches"]
                                         / first.n_pairs, 1e-12)
    else:
        fs.u_, fs.lambda_ = fs.m_, 0.5
    all_cands = pd.concat(cand_frames, ignore_index=True) if cand_frames else pd.DataFrame()
    return ClusterResult(frame, all_links, fs, pair_stats, s, all_cands)


def _ids_for(cands: pd.DataFrame, a_ids: np.ndarray, b_ids: np.ndarray) -> pd.DataFrame:
    """Candidate pairs with record ids instead of positions."""
    return pd.DataFrame({
        "a_id": a_ids[cands.ia.to_numpy()].astype(str),
        "b_id": b_ids[cands.ib.to_numpy()].astype(str),
        "score": cands.score.to_numpy(),
        "probability": cands.probability.to_numpy(),
        "match_weight": cands.match_weight.to_numpy(),
        "accepted": cands.accepted.to_numpy(),
    })
