"""Building a hierarchical table (all cells, margins included) from per-unit rows.

The table is the full cross product of the *nodes* of every dimension: the leaf categories
(e.g. buurten), the parents from a hierarchy (wijken, stadsdelen) and the total. A cell
counts *distinct* units (persons or households), so a person with two services in the same
cell counts once; amounts are summed over rows.

Linear structure: every parent node along one dimension, combined with any node of the
other dimensions, gives a relation "parent cell vs. its child cells". When the child cells
add up to the parent (their units are disjoint, always for amounts) the relation is an
equation; when units overlap (a person in two service categories) the attacker still knows
``max(children) <= parent <= sum(children)``, which becomes inequalities. Using the equation
whenever it holds in the data is conservative: it gives the attacker the most information.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"entity_id": ["a", "b", "c"], "household_id": ["h1", "h1", "h2"],
    ...                    "wijk": ["W1", "W1", "W2"]})
    >>> t = build_table(df, ["wijk"], "count")
    >>> t.dims[0].labels, t.value.tolist()
    (['Totaal', 'W1', 'W2'], [3.0, 2.0, 1.0])
    >>> t.households.tolist()
    [2, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pplink.errors import ConfigError, InputError

__all__ = ["Dimension", "TableData", "build_table", "parse_measure"]


@dataclass
class Dimension:
    """One dimension of a table: a tree of nodes (pre-order, the total first).

    Example:
        >>> d = Dimension.build("wijk", ["W2", "W1"], None, "Totaal")
        >>> d.labels, d.parent.tolist()
        (['Totaal', 'W1', 'W2'], [-1, 0, 0])
    """

    name: str
    labels: list[str]
    levels: list[str]
    parent: np.ndarray
    children: list[list[int]]
    leaf_nodes: np.ndarray  # node index of leaf number l
    leaf_of_value: dict[str, int]  # category value -> leaf number
    desc: sp.csr_matrix  # nodes x leaves: 1 where the leaf lies under the node

    @property
    def n_nodes(self) -> int:
        """Number of nodes (leaves, parents and the total).

        Example:
            >>> Dimension.build("s", ["a"], None, "T").n_nodes
            2
        """
        return len(self.labels)

    @staticmethod
    def build(
        name: str,
        values: Sequence[str],
        parent_of: Mapping[str, str] | None,
        total_label: str,
        level_of: Mapping[str, str] | None = None,
    ) -> Dimension:
        """Build the tree from leaf ``values`` and an optional child -> parent mapping.

        Nodes without a parent hang under the total. ``level_of`` names the level of each
        parent node (default ``"level<depth>"``).

        Example:
            >>> d = Dimension.build("buurt", ["B1", "B2", "B3"], {"B1": "W1", "B2": "W1", "B3": "W2"}, "T")
            >>> d.labels
            ['T', 'W1', 'B1', 'B2', 'W2', 'B3']
        """
        parent_of = dict(parent_of or {})
        leaves = sorted(set(map(str, values)) | (set(parent_of) - set(parent_of.values())))
        parents: dict[str, str | None] = {}
        for leaf in leaves:
            node = leaf
            seen = {node}
            while True:
                up = parent_of.get(node)
                parents[node] = up
                if up is None:
                    break
                if up in seen:
                    raise ConfigError(f"hierarchy of {name!r} has a cycle through {up!r}")
                if up == total_label:
                    raise ConfigError(f"hierarchy of {name!r} uses the total label {total_label!r} as a node")
                seen.add(up)
                node = up
        kids: dict[str | None, list[str]] = {}
        for node, up in parents.items():
            kids.setdefault(up, []).append(node)
        leaf_set = set(leaves)
        for node in kids:
            if node is not None and node in leaf_set:
                raise ConfigError(
                    f"value {node!r} of {name!r} is both a category and a parent in the hierarchy"
                )
        labels: list[str] = [total_label]
        levels: list[str] = ["total"]
        parent = [-1]
        depth_of = [0]

        def visit(node: str, par: int, depth: int) -> None:
            idx = len(labels)
            labels.append(node)
            parent.append(par)
            depth_of.append(depth)
            if node in leaf_set:
                levels.append(name)
            else:
                levels.append((level_of or {}).get(node, f"level{depth}"))
            for child in sorted(kids.get(node, [])):
                visit(child, idx, depth + 1)

        for top in sorted(kids.get(None, [])):
            visit(top, 0, 1)
        if len(set(labels)) != len(labels):
            raise ConfigError(f"labels of {name!r} must be unique across levels")
        n = len(labels)
        parent_arr = np.asarray(parent, dtype=np.int64)
        children: list[list[int]] = [[] for _ in range(n)]
        for i in range(1, n):
            children[int(parent_arr[i])].append(i)
        leaf_nodes = np.asarray([i for i in range(n) if labels[i] in leaf_set], dtype=np.int64)
        leaf_of_value = {labels[int(node)]: k for k, node in enumerate(leaf_nodes)}
        rows, cols = [], []
        for k, node in enumerate(leaf_nodes):
            j = int(node)
            while j >= 0:
                rows.append(j)
                cols.append(k)
                j = int(parent_arr[j])
        desc = sp.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, cols)), shape=(n, len(leaf_nodes)))
        return Dimension(name, labels, levels, parent_arr, children, leaf_nodes, leaf_of_value, desc)


@dataclass
class TableData:
    """All cells of a table with their true aggregates and the linear structure.

    Arrays are indexed by cell number (C order over the dimensions' nodes).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"entity_id": list("abcd"), "household_id": list("abcd"),
        ...                    "w": ["1", "1", "2", "2"], "s": ["x", "y", "x", "x"]})
        >>> t = build_table(df, ["w", "s"], "count")
        >>> t.shape, int(t.A_eq.shape[0]), int(t.A_ub.shape[0])
        ((3, 3), 6, 0)
    """

    dims: list[Dimension]
    measure: str  # "count", "sum" or "mean"
    amount_col: str | None
    unit: str
    value: np.ndarray  # published measure (count, sum or mean)
    base: np.ndarray  # the additive quantity protected (count, or sum for sum/mean)
    persons: np.ndarray
    households: np.ndarray
    units: np.ndarray  # distinct units of the table's unit type
    top: np.ndarray  # n_cells x k largest contributions (magnitude tables), else n x 0
    A_eq: sp.csr_matrix
    A_ub: sp.csr_matrix
    rel_parent: np.ndarray
    rel_children: list[np.ndarray]
    rel_dim: np.ndarray
    rel_additive: np.ndarray
    cell_units: sp.csr_matrix  # cells x unit ids (table unit), binary
    cell_persons: sp.csr_matrix
    cell_households: sp.csr_matrix
    unit_ids: np.ndarray  # pseudonymous ids of the table's units (columns of cell_units)
    person_ids: np.ndarray
    household_ids: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of nodes per dimension.

        Example:
            >>> import pandas as pd
            >>> build_table(pd.DataFrame({"entity_id": ["a"], "household_id": ["h"], "w": ["1"]}), ["w"], "count").shape
            (2,)
        """
        return tuple(d.n_nodes for d in self.dims)

    @property
    def n_cells(self) -> int:
        """Number of cells, margins included.

        Example:
            >>> import pandas as pd
            >>> build_table(pd.DataFrame({"entity_id": ["a"], "household_id": ["h"], "w": ["1"]}), ["w"], "count").n_cells
            2
        """
        return int(np.prod(self.shape))

    def labels(self, cell: int) -> tuple[str, ...]:
        """The node labels of a cell, one per dimension.

        Example:
            >>> import pandas as pd
            >>> t = build_table(pd.DataFrame({"entity_id": ["a"], "household_id": ["h"], "w": ["1"]}), ["w"], "count")
            >>> t.labels(1)
            ('1',)
        """
        idx = np.unravel_index(cell, self.shape)
        return tuple(d.labels[int(i)] for d, i in zip(self.dims, idx))

    def is_leaf_cell(self) -> np.ndarray:
        """Boolean mask of cells that are leaves in every dimension (inner cells).

        Example:
            >>> import pandas as pd
            >>> t = build_table(pd.DataFrame({"entity_id": ["a"], "household_id": ["h"], "w": ["1"]}), ["w"], "count")
            >>> t.is_leaf_cell().tolist()
            [False, True]
        """
        out = np.ones(self.shape, dtype=bool)
        k = len(self.dims)
        for axis, d in enumerate(self.dims):
            m = np.zeros(d.n_nodes, dtype=bool)
            m[d.leaf_nodes] = True
            shape = [1] * k
            shape[axis] = d.n_nodes
            out = out & m.reshape(shape)
        return out.ravel()


def parse_measure(measure: str) -> tuple[str, str | None]:
    """Split ``"count"``, ``"sum:amount"`` or ``"mean:amount"`` into kind and column.

    Example:
        >>> parse_measure("mean:bedrag")
        ('mean', 'bedrag')
    """
    if measure == "count":
        return "count", None
    kind, sep, col = measure.partition(":")
    if sep and kind in ("sum", "mean") and col:
        return kind, col
    raise ConfigError(f'measure must be "count", "sum:<column>" or "mean:<column>", not {measure!r}')


def _hierarchy_for(data: pd.DataFrame, dim: str, spec: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Child -> parent mapping (and level names) from a mapping or a list of coarser columns."""
    if spec is None:
        return {}, {}
    if isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()}, {}
    if isinstance(spec, (list, tuple)):
        cols = [dim, *spec]
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise InputError(f"hierarchy of {dim!r} names column(s) missing from the data: {missing}")
        parent_of: dict[str, str] = {}
        level_of: dict[str, str] = {}
        for fine, coarse in zip(cols[:-1], cols[1:]):
            pairs = data[[fine, coarse]].dropna().astype(str).drop_duplicates()
            dup = pairs[fine].duplicated(keep=False)
            if dup.any():
                bad = pairs.loc[dup, fine].iloc[0]
                raise ConfigError(
                    f"hierarchy of {dim!r}: value {bad!r} of {fine!r} lies in more than one {coarse!r}"
                )
            for a, b in zip(pairs[fine], pairs[coarse]):
                parent_of[a] = b
                level_of[b] = coarse
        return parent_of, level_of
    raise ConfigError(f"hierarchy of {dim!r} must be a mapping child -> parent or a list of coarser columns")


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def build_table(
    data: pd.DataFrame,
    by: Sequence[str],
    measure: str,
    *,
    unit: str = "person",
    person_col: str = "entity_id",
    household_col: str | None = "household_id",
    hierarchies: Mapping[str, Any] | None = None,
    total_label: str = "Totaal",
    contributor: str = "household",
    top_k: int = 2,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> TableData:
    """Aggregate per-unit rows into a :class:`TableData` with margins and relations.

    ``hierarchies[dim]`` is a child -> parent mapping (multi-level allowed; top nodes hang
    under the total) or a list of coarser columns in ``data`` (e.g. ``["wijk"]`` for a
    ``buurt`` dimension). ``categories[dim]`` adds categories that have no rows (zero cells).
    A missing household id makes the person a household of their own.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"entity_id": ["a", "a", "b"], "household_id": ["h", "h", "g"],
        ...                    "service": ["wmo", "jeugd", "wmo"]})
        >>> t = build_table(df, ["service"], "count")
        >>> t.value.tolist(), bool(t.rel_additive[0])
        ([2.0, 1.0, 2.0], False)
    """
    kind, amount_col = parse_measure(measure)
    if unit not in ("person", "household"):
        raise ConfigError('unit must be "person" or "household"')
    if not by:
        raise ConfigError("by must name at least one column")
    if len(set(by)) != len(by):
        raise ConfigError("by must not repeat a column")
    hierarchies = dict(hierarchies or {})
    extra = set(hierarchies) - set(by)
    if extra:
        raise ConfigError(f"hierarchies given for column(s) not in by: {sorted(extra)}")
    needed = [*by, person_col]
    if household_col is not None:
        needed.append(household_col)
    if amount_col is not None:
        needed.append(amount_col)
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise InputError(f"input is missing column(s) {missing}; it has {list(data.columns)}")
    if unit == "household" and household_col is None:
        raise ConfigError('unit="household" needs a household column')
    for col in [*by, person_col]:
        if data[col].isna().any():
            raise InputError(f"column {col!r} has missing values; filter or fill them before release")

    # --- dimensions
    dims: list[Dimension] = []
    for col in by:
        parent_of, level_of = _hierarchy_for(data, col, hierarchies.get(col))
        values = data[col].astype(str).unique().tolist()
        values += [str(v) for v in (categories or {}).get(col, [])]
        unknown = [v for v in values if parent_of and v not in parent_of]
        if unknown:
            raise ConfigError(f"hierarchy of {col!r} gives no parent for value(s) {sorted(set(unknown))[:5]}")
        dims.append(Dimension.build(col, values, parent_of, total_label, level_of))
    shape = tuple(d.n_nodes for d in dims)
    n_cells = int(np.prod(shape))
    leaf_shape = tuple(len(d.leaf_nodes) for d in dims)
    n_leafcells = int(np.prod(leaf_shape))

    # --- rows -> leaf cells and unit codes
    leaf_idx = [
        data[col].astype(str).map(d.leaf_of_value).to_numpy(dtype=np.int64) for col, d in zip(by, dims)
    ]
    leafcell = np.ravel_multi_index(leaf_idx, leaf_shape) if leaf_idx else np.zeros(len(data), np.int64)
    persons_raw = data[person_col].astype(str)
    if household_col is not None:
        hh = data[household_col]
        hh_raw = hh.astype(str).where(hh.notna(), "pplink-own-household:" + persons_raw)
    else:
        hh_raw = "pplink-own-household:" + persons_raw
    p_code, p_ids = _codes(persons_raw)
    h_code, h_ids = _codes(hh_raw)
    person_household = np.zeros(len(p_ids), dtype=np.int64)
    person_household[p_code] = h_code  # household of each person (the last one seen)

    # cells x leafcells incidence: Kronecker product of the node x leaf matrices
    K = dims[0].desc
    for d in dims[1:]:
        K = sp.kron(K, d.desc, format="csr")
    K = sp.csr_matrix(K, dtype=np.int64)

    def incidence(codes: np.ndarray, n_ids: int) -> sp.csr_matrix:
        m = sp.csr_matrix(
            (np.ones(len(codes), dtype=np.int64), (leafcell, codes)), shape=(n_leafcells, n_ids)
        )
        m.sum_duplicates()
        m.data[:] = 1
        cm = (K @ m).tocsr()
        cm.data[:] = 1
        return cm

    cell_persons = incidence(p_code, len(p_ids))
    cell_households = incidence(h_code, len(h_ids))
    persons = np.diff(cell_persons.indptr).astype(np.int64)
    households = np.diff(cell_households.indptr).astype(np.int64)
    if unit == "person":
        units, cell_units, unit_ids = persons, cell_persons, p_ids
    else:
        units, cell_units, unit_ids = households, cell_households, h_ids

    top = np.zeros((n_cells, 0))
    if kind == "count":
        base = units.astype(float)
        value = base.copy()
    else:
        amounts = pd.to_numeric(data[amount_col], errors="coerce")
        if amounts.isna().any():
            raise InputError(f"column {amount_col!r} has missing or non-numeric amounts")
        amt = amounts.to_numpy(dtype=float)
        leaf_sum = np.bincount(leafcell, weights=amt, minlength=n_leafcells)
        info_abs_total = float(np.abs(amt).sum())
        info_negative = bool((amt < 0).any())
        base = np.asarray(K @ leaf_sum, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = base / units if kind == "mean" else base.copy()
        if kind == "mean":
            value = np.where(units > 0, value, np.nan)
        # contributions per contributor (household or person) per cell
        c_code = h_code if contributor == "household" else p_code
        n_c = len(h_ids) if contributor == "household" else len(p_ids)
        q = sp.csr_matrix((amt, (leafcell, c_code)), shape=(n_leafcells, n_c))
        q.sum_duplicates()
        cq = (K @ q).tocsr()
        top = np.zeros((n_cells, top_k))
        for r in range(n_cells):
            row = np.abs(cq.data[cq.indptr[r] : cq.indptr[r + 1]])
            if row.size:
                k = min(top_k, row.size)
                part = np.sort(np.partition(row, row.size - k)[row.size - k :])[::-1]
                top[r, :k] = part

    # --- relations
    rel_parent: list[int] = []
    rel_children: list[np.ndarray] = []
    rel_dim: list[int] = []
    grid = np.arange(n_cells, dtype=np.int64).reshape(shape)
    for di, d in enumerate(dims):
        moved = np.moveaxis(grid, di, 0)  # nodes of d first
        for node in range(d.n_nodes):
            kids = d.children[node]
            if not kids:
                continue
            par_cells = moved[node].ravel()
            kid_cells = np.stack([moved[k].ravel() for k in kids], axis=1)
            for p_cell, k_cells in zip(par_cells, kid_cells):
                rel_parent.append(int(p_cell))
                rel_children.append(k_cells.astype(np.int64))
                rel_dim.append(di)
    rel_parent_arr = np.asarray(rel_parent, dtype=np.int64)
    additive = np.ones(len(rel_parent), dtype=bool)
    if kind == "count":
        for r, (p, ks) in enumerate(zip(rel_parent, rel_children)):
            additive[r] = units[p] == units[ks].sum()
    eq_rows, eq_cols, eq_vals = [], [], []
    ub_rows, ub_cols, ub_vals = [], [], []
    n_eq = n_ub = 0
    for r, (p, ks) in enumerate(zip(rel_parent, rel_children)):
        if additive[r]:
            eq_rows += [n_eq] * (1 + len(ks))
            eq_cols += [p, *ks.tolist()]
            eq_vals += [1.0] + [-1.0] * len(ks)
            n_eq += 1
        else:
            ub_rows += [n_ub] * (1 + len(ks))
            ub_cols += [p, *ks.tolist()]
            ub_vals += [1.0] + [-1.0] * len(ks)
            n_ub += 1
            for k in ks.tolist():
                ub_rows += [n_ub, n_ub]
                ub_cols += [k, p]
                ub_vals += [1.0, -1.0]
                n_ub += 1
    A_eq = sp.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(n_eq, n_cells))
    A_ub = sp.csr_matrix((ub_vals, (ub_rows, ub_cols)), shape=(n_ub, n_cells))
    info = {
        "amount_abs_total": info_abs_total if kind != "count" else None,
        "negative_amounts": info_negative if kind != "count" else False,
        "person_household_code": person_household,
        "n_rows": int(len(data)),
        "n_persons": int(len(p_ids)),
        "n_households": int(len(h_ids)),
        "leaf_shape": list(leaf_shape),
    }
    return TableData(
        dims=dims,
        measure=kind,
        amount_col=amount_col,
        unit=unit,
        value=np.asarray(value, dtype=float),
        base=np.asarray(base, dtype=float),
        persons=persons,
        households=households,
        units=units,
        top=top,
        A_eq=A_eq,
        A_ub=A_ub,
        rel_parent=rel_parent_arr,
        rel_children=rel_children,
        rel_dim=np.asarray(rel_dim, dtype=np.int64),
        rel_additive=additive,
        cell_units=cell_units,
        cell_persons=cell_persons,
        cell_households=cell_households,
        unit_ids=unit_ids,
        person_ids=p_ids,
        household_ids=h_ids,
        info=info,
    )
