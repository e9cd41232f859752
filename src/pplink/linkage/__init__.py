"""Linking encoded sources (linkage-unit zone: encodings only, never a key).

The main entry points are :func:`link` (two sources) and :func:`link_many` (N sources into
entities and households); the building blocks are re-exported for custom pipelines.

Example:
    >>> from pplink.linkage import link, link_many, pair_metrics
"""

from __future__ import annotations

from pplink.linkage.blocking import lsh_dice_pairs, lsh_pairs, token_join, token_pairs, union_pairs
from pplink.linkage.cluster import Clusters, cluster_records, deduplicate, households_from_tokens
from pplink.linkage.evaluate import blocking_metrics, cluster_metrics, evaluate_links, pair_metrics
from pplink.linkage.model import FellegiSunter, levels_from_agreement, levels_from_similarity
from pplink.linkage.pipeline import ClusterResult, LinkResult, LinkSettings, link, link_many
from pplink.linkage.similarity import (
    dedup_all_pairs,
    dice_all_pairs,
    dice_pairs,
    from_bytes,
    jaccard_all_pairs,
    jaccard_pairs,
    pack_bits,
    popcounts,
    unpack_bits,
)
from pplink.linkage.solve import one_to_many, one_to_one_greedy, one_to_one_optimal
from pplink.linkage.threshold import ThresholdChoice, choose_threshold

__all__ = [
    "ClusterResult",
    "Clusters",
    "FellegiSunter",
    "LinkResult",
    "LinkSettings",
    "ThresholdChoice",
    "blocking_metrics",
    "choose_threshold",
    "cluster_metrics",
    "cluster_records",
    "dedup_all_pairs",
    "deduplicate",
    "dice_all_pairs",
    "dice_pairs",
    "evaluate_links",
    "from_bytes",
    "households_from_tokens",
    "jaccard_all_pairs",
    "jaccard_pairs",
    "levels_from_agreement",
    "levels_from_similarity",
    "link",
    "link_many",
    "lsh_pairs",
    "lsh_dice_pairs",
    "token_join",
    "one_to_many",
    "one_to_one_greedy",
    "one_to_one_optimal",
    "pack_bits",
    "pair_metrics",
    "popcounts",
    "token_pairs",
    "union_pairs",
    "unpack_bits",
]
