"""Every numerical and categorical drift test Evidently 0.7 registers, computed natively.

Each function follows its Evidently counterpart (`evidently.legacy.calculations.stattests`)
step by step: the same binning, the same zero filling, the same random draws where Evidently
draws (permutation tests), and the same verdict rule. The default tests need only numpy and
`scipy.special`; `scipy.stats`, slow to import, is imported only by the tests that call it.
Evidently's text-content tests are not here: text columns go through Evidently itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from argoscope.checks.results import CheckInputError

if TYPE_CHECKING:
    import pandas as pd  # imported where used: the fast drift path runs without pandas

NUMERICAL = "num"
CATEGORICAL = "cat"
TEXT = "text"
BOTH = (NUMERICAL, CATEGORICAL)


# A first import of scipy from several threads at once (columns are tested in threads) can
# fail half-way with a KeyError on 'scipy': scipy is imported under this lock only.
_IMPORTING = threading.Lock()


def _stats() -> Any:
    with _IMPORTING:
        import scipy.stats  # slow to import: only for the tests that need it

    return scipy.stats


def import_scipy() -> None:
    """Import `scipy.special`, which every test may use, before columns are tested in threads
    (`scipy.stats`, slow, is imported by the tests that need it, under the same lock)."""
    with _IMPORTING:
        import scipy.special  # noqa: F401


def import_scipy_dot() -> None:
    """Import only what the Wasserstein distance needs of scipy (its dot product), under the
    same lock, before columns are tested in threads (the fast path: `drift_arrow`)."""
    # A scipy without it: `_scipy_dot` falls back to numpy.
    with _IMPORTING, contextlib.suppress(ImportError):
        import scipy._lib._util  # noqa: F401


@dataclass(frozen=True, slots=True)
class Merged:
    """Both samples of a numerical column in one sorted array, with where each value came from.

    Sorting once serves both the distinct-value count (method choice) and the Wasserstein
    distance; merging two sorted runs with a stable sort is close to linear. Integers stay
    integers, so values above 2**53 are not merged by a cast to float.
    """

    values: np.ndarray
    from_reference: np.ndarray

    @classmethod
    def of(cls, reference: pd.Series, current: pd.Series) -> Merged:
        """Both cleaned samples of a column, merged."""
        return cls.of_arrays(reference.to_numpy(), current.to_numpy())

    @classmethod
    def of_arrays(cls, ref: np.ndarray, cur: np.ndarray) -> Merged:
        """`of` for numpy arrays: the one implementation both drift paths share."""
        if not (np.issubdtype(ref.dtype, np.integer) and np.issubdtype(cur.dtype, np.integer)):
            ref, cur = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)  # no copy
        # Each sample sorted in place in its half of one buffer: the same values as sorting
        # copies and concatenating them (a widening cast keeps the order), two copies fewer.
        stacked = np.empty(len(ref) + len(cur), dtype=np.result_type(ref, cur))
        stacked[:len(ref)] = ref
        stacked[len(ref):] = cur
        stacked[:len(ref)].sort()
        stacked[len(ref):].sort()
        order = np.argsort(stacked, kind="stable")
        return cls(stacked[order], order < len(ref))

    def distinct(self) -> int:
        """Number of distinct values in both samples together."""
        return int(np.count_nonzero(np.diff(self.values))) + 1 if len(self.values) else 0


TestFunc = Callable[["pd.Series", "pd.Series", str, "Merged | None"], float]


@dataclass(frozen=True, slots=True)
class StatTest:
    """A drift test: Evidently's name and display name, default threshold, verdict rule."""

    name: str
    display_name: str
    func: TestFunc
    default_threshold: float
    # How the score is compared with the threshold to call drift: "lt", "le", "ge" or "gt".
    rule: str
    kinds: tuple[str, ...]
    p_value: bool = True

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's verdict for `score` against `threshold`."""
        if self.rule == "le":
            return bool(score <= threshold)
        if self.rule == "lt":
            return bool(score < threshold)
        if self.rule == "gt":
            return bool(score > threshold)
        return bool(score >= threshold)


def _present_counts(series: pd.Series) -> pd.Series:
    counts = series.value_counts()
    return counts[counts > 0]  # a categorical dtype also counts its unused categories


def _keyed_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every value seen in either sample (Evidently's keys), aligned."""
    ref_counts, cur_counts = _present_counts(reference), _present_counts(current)
    keys = ref_counts.index.union(cur_counts.index)
    return (ref_counts.reindex(keys, fill_value=0).to_numpy(dtype=float),
            cur_counts.reindex(keys, fill_value=0).to_numpy(dtype=float))


def _binned(reference: pd.Series, current: pd.Series, kind: str,
            fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's `get_binned_data`: Sturges bins for numerical columns with over 20 values."""
    if kind == NUMERICAL and reference.nunique() > 20:
        combined = np.concatenate([reference.to_numpy(), current.to_numpy()])
        bins = np.histogram_bin_edges(combined, bins="sturges")
        ref_pct = np.histogram(reference.to_numpy(), bins)[0] / len(reference)
        cur_pct = np.histogram(current.to_numpy(), bins)[0] / len(current)
    else:
        ref_counts, cur_counts = _keyed_counts(reference, current)
        ref_pct, cur_pct = ref_counts / len(reference), cur_counts / len(current)
    if fill_zeroes:
        for pct in (ref_pct, cur_pct):
            smallest = pct[pct != 0].min()
            np.place(pct, pct == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref_pct, cur_pct


def _rel_entr_sum(p: np.ndarray, q: np.ndarray) -> float:
    from scipy.special import rel_entr

    return float(np.sum(rel_entr(p, q)))


def ks(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    return float(_stats().ks_2samp(reference.to_numpy(), current.to_numpy())[1])


def chisquare(reference: pd.Series, current: pd.Series, kind: str,
              merged: Merged | None) -> float:
    """scipy's `chisquare(observed, expected)` p-value, from `scipy.special.chdtrc`."""
    from scipy.special import chdtrc

    ref_counts, cur_counts = _keyed_counts(reference, current)
    expected = ref_counts * (len(current) / len(reference))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.sum((cur_counts - expected) ** 2 / expected)
    return float(chdtrc(len(cur_counts) - 1, statistic))


def z_test(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    from scipy.special import ndtr

    ref_values, cur_values = reference.unique(), current.unique()
    if len(ref_values) == 1 and len(cur_values) == 1 and ref_values[0] == cur_values[0]:
        return 1.0
    first = sorted(set(ref_values) | set(cur_values))[0]
    n1, n2 = len(reference), len(current)
    p1 = float((reference != first).sum()) / n1
    p2 = float((current != first).sum()) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - ndtr(np.abs(z))))


def wasserstein(reference: pd.Series, current: pd.Series, kind: str,
                merged: Merged | None) -> float:
    """scipy's `wasserstein_distance` over the merged samples, normed by the reference's std."""
    # The std of the column as given (float16 stays float16), as Evidently's np.std does.
    return normed_wasserstein(reference.to_numpy(), current.to_numpy(),
                              float(np.std(reference)), merged)


def normed_wasserstein(reference: np.ndarray, current: np.ndarray, std: float,
                       merged: Merged | None) -> float:
    """`wasserstein` on arrays, given the reference's standard deviation as pandas computes
    it (`np.std` of a Series is pandas' own two-pass std, not numpy's): the one
    implementation both drift paths share."""
    norm = max(std, 0.001)
    merged = merged or Merged.of_arrays(reference, current)
    # Between consecutive merged values, each sample's CDF is its count of values seen so far
    # (inside a run of ties the counts differ from scipy's, but the step there is 0).
    seen = np.cumsum(merged.from_reference[:-1])  # reference values up to each step
    ref_cdf = seen / len(reference)
    # Current values up to step i are the other (i + 1) - seen: the same integers as their
    # own cumulative sum, one pass and two arrays fewer.
    np.subtract(np.arange(1, len(seen) + 1), seen, out=seen)
    cur_cdf = seen / len(current)
    np.subtract(ref_cdf, cur_cdf, out=ref_cdf)
    # Summed exactly as the installed scipy sums it: the last bit can decide a verdict when
    # the threshold equals the score.
    distance_value = _scipy_dot(np.abs(ref_cdf, out=ref_cdf), np.diff(merged.values))
    return float(distance_value / norm)


def _scipy_dot(x: np.ndarray, y: np.ndarray) -> float:
    """The dot product `scipy.stats.wasserstein_distance` ends with: `np_vecdot` in the scipy
    releases that have it (np.vecdot on numpy 2), `np.sum(np.multiply(...))` before."""
    try:
        from scipy._lib._util import np_vecdot  # what scipy's _cdf_distance itself calls
    except ImportError:
        return float(np.sum(np.multiply(x, y)))
    return float(np_vecdot(x, y))


def jensenshannon(reference: pd.Series, current: pd.Series, kind: str,
                  merged: Merged | None) -> float:
    """scipy's `distance.jensenshannon` (natural log), without importing `scipy.spatial`."""
    p, q = _binned(reference, current, kind, fill_zeroes=False)
    p, q = p / np.sum(p), q / np.sum(q)
    middle = (p + q) / 2.0
    return float(np.sqrt((_rel_entr_sum(p, middle) + _rel_entr_sum(q, middle)) / 2.0))


def psi(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    ref_pct, cur_pct = _binned(reference, current, kind, fill_zeroes=True)
    return float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))


def kl_div(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    """scipy's `entropy(reference, current)` over Evidently's zero-filled bins."""
    ref_pct, cur_pct = _binned(reference, current, kind, fill_zeroes=True)
    return _rel_entr_sum(ref_pct / np.sum(ref_pct), cur_pct / np.sum(cur_pct))


def hellinger(reference: pd.Series, current: pd.Series, kind: str,
              merged: Merged | None) -> float:
    """Evidently's Hellinger distance, summed term by term in Evidently's order (a Python
    loop over its keys or bins), so the last bit matches and so does a verdict on the edge."""
    import math

    overlap = 0.0
    if kind == CATEGORICAL:
        # Evidently's keys: a set of both samples' values, iterated in the set's order.
        keys = list(set(reference.unique()) | set(current.unique()))
        ref_share = (reference.value_counts() / len(reference)).to_dict()
        cur_share = (current.value_counts() / len(current)).to_dict()
        for key in keys:
            overlap += math.sqrt(float(ref_share.get(key, 0)) * float(cur_share.get(key, 0)))
    else:
        distinct = np.unique(np.concatenate([reference.to_numpy(), current.to_numpy()]))
        bins = np.histogram_bin_edges(distinct, bins="sturges")
        h1 = np.histogram(reference.to_numpy(), bins=bins, density=True)[0]
        h2 = np.histogram(current.to_numpy(), bins=bins, density=True)[0]
        width = (max(bins) - min(bins)) / (len(bins) - 1)
        for p1, p2 in zip(h1, h2, strict=True):
            overlap += math.sqrt(float(p1) * float(p2)) * width
    return float(math.sqrt(1 - np.clip(overlap, 0, 1)))


def anderson(reference: pd.Series, current: pd.Series, kind: str,
             merged: Merged | None) -> float:
    return float(_stats().anderson_ksamp([reference.to_numpy(), current.to_numpy()])[2])


def t_test(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    return float(_stats().ttest_ind(reference.to_numpy(), current.to_numpy())[1])


def mann_whitney(reference: pd.Series, current: pd.Series, kind: str,
                 merged: Merged | None) -> float:
    return float(_stats().mannwhitneyu(x=reference.to_numpy(), y=current.to_numpy(),
                                       alternative="less")[1])


def energy(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    return float(_stats().energy_distance(reference.to_numpy(), current.to_numpy()))


def epps_singleton(reference: pd.Series, current: pd.Series, kind: str,
                   merged: Merged | None) -> float:
    stats = _stats()
    if stats.iqr(np.hstack((reference.to_numpy(), current.to_numpy()))) == 0:
        raise CheckInputError("the Epps-Singleton test needs data whose interquartile range "
                              "is not zero")
    return float(stats.epps_singleton_2samp(reference.to_numpy(), current.to_numpy())[1])


def _cvm_cdf_inf(x: float) -> float:
    """The limiting CDF of the Cramér-von Mises statistic (Csörgő and Faraway 1996), as
    Evidently sums it: terms are added until one is below 1e-7."""
    from scipy.special import gammaln, kv

    total, k = 0.0, 0
    while True:
        u = np.exp(gammaln(k + 0.5) - gammaln(k + 1)) / (np.pi**1.5 * np.sqrt(x))
        y = 4 * k + 1
        q = y**2 / (16 * x)
        term = float(u * np.sqrt(y) * np.exp(-q) * kv(0.25, q))
        total += term
        if abs(term) < 1e-7:
            return total
        k += 1


def _cvm_exact(s: float, m: int, n: int) -> float:
    """Evidently's exact p-value of the two-sample Cramér-von Mises statistic (Xiao et al.)."""
    import math

    lcm = int(np.lcm(m, n))
    a, b = lcm // m, lcm // n
    mn = m * n
    zeta = lcm**2 * (m + n) * (6 * s - mn * (4 * mn - 1)) // (6 * mn**2)
    combinations = math.factorial(m + n) / (math.factorial(m) * math.factorial(n))
    dtype = np.min_scalar_type(max(lcm**2 * (m + n), combinations))
    gs = [np.array([[0], [1]], dtype=dtype)] + [np.empty((2, 0), dtype=dtype) for _ in range(m)]
    for u in range(n + 1):
        next_gs = []
        tmp = np.empty((2, 0), dtype=dtype)
        for v, g in enumerate(gs):
            vi, i0, i1 = np.intersect1d(tmp[0], g[0], return_indices=True)
            tmp = np.concatenate([np.stack([vi, tmp[1, i0] + g[1, i1]]),
                                  np.delete(tmp, i0, 1), np.delete(g, i1, 1)], 1)
            tmp[0] += (a * v - b * u) ** 2
            next_gs.append(tmp)
        gs = next_gs
    value, freq = gs[m]
    return float(np.sum(freq[value >= zeta]) / combinations)


def cramer_von_mises(reference: pd.Series, current: pd.Series, kind: str,
                     merged: Merged | None) -> float:
    """Evidently's own two-sample Cramér-von Mises test (exact up to 20 values per sample)."""
    xa, ya = np.sort(reference.to_numpy()), np.sort(current.to_numpy())
    if xa.size <= 1 or ya.size <= 1:
        raise CheckInputError("the Cramer-von Mises test needs at least two values per sample")
    nx, ny = len(xa), len(ya)
    ranks = _stats().rankdata(np.concatenate([xa, ya]), method="average")
    u = nx * np.sum((ranks[:nx] - np.arange(1, nx + 1)) ** 2)
    u += ny * np.sum((ranks[nx:] - np.arange(1, ny + 1)) ** 2)
    k, total = nx * ny, nx + ny
    if max(nx, ny) <= 20:
        return _cvm_exact(u, nx, ny)
    t = u / (k * total) - (4 * k - 1) / (6 * total)
    et = (1 + 1 / total) / 6
    vt = (total + 1.0) * (4 * k * total - 3 * (nx**2 + ny**2) - 2 * k) / (45 * total**2 * 4 * k)
    tn = 1 / 6 + (t - et) / np.sqrt(45 * vt)
    return 1.0 if tn < 0.003 else float(max(0, 1.0 - _cvm_cdf_inf(tn)))


def g_test(reference: pd.Series, current: pd.Series, kind: str, merged: Merged | None) -> float:
    ref_counts, cur_counts = _keyed_counts(reference, current)
    try:
        return float(_stats().power_divergence(cur_counts, ref_counts,
                                               lambda_="log-likelihood")[1])
    except ValueError as exc:  # scipy wants equal totals, so equal sample sizes
        raise CheckInputError(f"g_test: {exc}") from None


def fisher_exact(reference: pd.Series, current: pd.Series, kind: str,
                 merged: Merged | None) -> float:
    if reference.nunique() > 2 or current.nunique() > 2:
        raise CheckInputError("fisher_exact needs binary data, but found more than 2 categories")
    if len(reference) != len(current):
        raise CheckInputError("fisher_exact needs reference and current data of equal length")
    import pandas as pd

    first = pd.concat([reference, current]).iloc[0]
    # Which category counts as "one" does not change the two-sided p-value.
    one_ref, one_cur = int((reference == first).sum()), int((current == first).sum())
    table = np.array([[one_cur, len(current) - one_cur], [one_ref, len(reference) - one_ref]])
    return float(_stats().fisher_exact(table)[1])


def _rbf(dist: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(np.exp(-(1.0 / (2.0 * sigma**2)) * dist))


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray((y**2).T - 2 * np.dot(x, y.T) + x**2)


def _mmd(kernel: np.ndarray, n_y: int, permute: bool) -> float:
    n_x = kernel.shape[0] - n_y
    if permute:  # the global generator, as Evidently draws
        index = np.random.permutation(kernel.shape[0])
        kernel = kernel[index][:, index]
    kxx = kernel[:-n_y, :-n_y]
    kyy = kernel[-n_y:, -n_y:]
    kxy = kernel[-n_y:, :-n_y]
    # Evidently's order of operations (a reciprocal times the sum, not a division): the
    # observed statistic ties with permuted ones bit for bit as in Evidently.
    a = 1 / (n_x * (n_x - 1))
    b = 1 / (n_y * (n_y - 1))
    return float(a * kxx.sum() + b * kyy.sum() - 2.0 * kxy.mean())


MMD_MAX_VALUES = 20_000  # a 20,000^2 float64 kernel is 3.2 GB, and several are held at once


def empirical_mmd(reference: pd.Series, current: pd.Series, kind: str,
                  merged: Merged | None) -> float:
    """Evidently's empirical MMD permutation test: an RBF kernel with the median heuristic and
    100 permutations from numpy's global generator (seed it for a repeatable p-value)."""
    if len(reference) < 2 or len(current) < 2:
        # Evidently divides by n * (n - 1) and raises ZeroDivisionError: say why instead.
        raise CheckInputError("empirical_mmd needs at least two values per sample")
    if len(reference) + len(current) > MMD_MAX_VALUES:
        # Evidently builds the same (n + m)^2 kernel and runs out of memory; say so instead.
        raise CheckInputError(f"empirical_mmd builds a kernel of (n + m)^2 values; "
                              f"{len(reference) + len(current)} values is more than "
                              f"{MMD_MAX_VALUES}: sample the data first")
    x = reference.to_numpy().reshape(-1, 1)
    y = current.to_numpy().reshape(-1, 1)
    dxx = _squared_distances(x, x)
    sigma = float((0.5 * np.percentile(a=dxx.flatten(), q=50, method="nearest")) ** 0.5)
    if sigma == 0:
        sigma = (0.5 * 1) ** 0.5
    kernel = np.concatenate((
        np.concatenate((_rbf(dxx, sigma), _rbf(_squared_distances(x, y), sigma)), axis=1),
        np.concatenate((_rbf(_squared_distances(x, y), sigma).T,
                        _rbf(_squared_distances(y, y), sigma)), axis=1)), axis=0)
    kernel = kernel - np.diag(np.diagonal(kernel))
    observed = _mmd(kernel, len(y), permute=False)
    permuted = np.array([_mmd(kernel, len(y), permute=True) for _ in range(100)])
    return float((observed <= permuted).mean())


def _tvd(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    return float(0.5 * np.sum(np.abs(ref_counts / ref_counts.sum()
                                     - cur_counts / cur_counts.sum())))


def _tvd_in_order(uniques: list[Any], ref_order: Sequence[int], cur_order: Sequence[int],
                  ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The distance with Evidently's key order (a set of both samples' values), so sums, and
    so ties with the observed value, come out bit for bit as Evidently's do."""
    keys = list({uniques[i] for i in ref_order} | {uniques[i] for i in cur_order})
    position = {value: code for code, value in enumerate(uniques)}
    order = [position[key] for key in keys]
    return _tvd(ref_counts[order], cur_counts[order])


def total_variation(reference: pd.Series, current: pd.Series, kind: str,
                    merged: Merged | None) -> float:
    """Evidently's TVD permutation test: 1,000 reshuffles drawn after `np.random.seed(0)`."""
    import pandas as pd

    combined = pd.Series(reference.tolist() + current.tolist(), dtype=object)
    codes, found = pd.factorize(combined)  # codes in order of first appearance
    uniques = list(found)
    size, n_ref = len(uniques), len(reference)
    total = np.bincount(codes, minlength=size)

    def appearance(sample: np.ndarray) -> list[int]:
        present, first = np.unique(sample, return_index=True)
        return [int(code) for code in present[np.argsort(first)]]

    observed = _tvd_in_order(uniques, appearance(codes[:n_ref]), appearance(codes[n_ref:]),
                             np.bincount(codes[:n_ref], minlength=size),
                             np.bincount(codes[n_ref:], minlength=size))
    np.random.seed(0)  # Evidently reseeds the global generator here
    permuted = np.empty(1000)
    for i in range(1000):
        # np.random.choice(population, n, replace=False) draws permutation(N)[:n].
        drawn = codes[np.random.permutation(len(codes))[:n_ref]]
        ref_counts = np.bincount(drawn, minlength=size)
        cur_counts = total - ref_counts
        # The rest of the pool comes back grouped by first appearance (Counter order).
        cur_order = [code for code in range(size) if cur_counts[code] > 0]
        permuted[i] = _tvd_in_order(uniques, appearance(drawn), cur_order, ref_counts,
                                    cur_counts)
    return float(np.sum(observed <= np.abs(permuted)) / len(permuted))


TESTS: dict[str, StatTest] = {test.name: test for test in (
    StatTest("ks", "K-S p_value", ks, 0.05, "le", (NUMERICAL,)),
    StatTest("chisquare", "chi-square p_value", chisquare, 0.05, "lt", (CATEGORICAL,)),
    StatTest("z", "Z-test p_value", z_test, 0.05, "lt", (CATEGORICAL,)),
    StatTest("wasserstein", "Wasserstein distance (normed)", wasserstein, 0.1, "ge",
             (NUMERICAL,), p_value=False),
    StatTest("jensenshannon", "Jensen-Shannon distance", jensenshannon, 0.1, "ge", BOTH,
             p_value=False),
    StatTest("psi", "PSI", psi, 0.1, "ge", BOTH, p_value=False),
    StatTest("kl_div", "Kullback-Leibler divergence", kl_div, 0.1, "ge", BOTH, p_value=False),
    StatTest("hellinger", "Hellinger distance", hellinger, 0.1, "ge", BOTH, p_value=False),
    StatTest("ed", "Energy-distance", energy, 0.1, "gt", (NUMERICAL,), p_value=False),
    StatTest("anderson", "Anderson-Darling", anderson, 0.1, "lt", (NUMERICAL,)),
    StatTest("cramer_von_mises", "Cramer-von Mises", cramer_von_mises, 0.1, "le", (NUMERICAL,)),
    StatTest("es", "Epps-Singleton", epps_singleton, 0.05, "lt", (NUMERICAL,)),
    StatTest("t_test", "t_test", t_test, 0.05, "lt", (NUMERICAL,)),
    StatTest("mannw", "Mann-Whitney U-rank test", mann_whitney, 0.05, "lt", (NUMERICAL,)),
    StatTest("empirical_mmd", "empirical_mmd", empirical_mmd, 0.1, "lt", (NUMERICAL,)),
    StatTest("g_test", "g_test", g_test, 0.1, "lt", (CATEGORICAL,)),
    StatTest("fisher_exact", "Fisher's Exact test", fisher_exact, 0.1, "lt", (CATEGORICAL,)),
    StatTest("TVD", "Total-Variation-Distance", total_variation, 0.1, "lt", (CATEGORICAL,)),
)}

SMALL_REFERENCE = 1000


def default_test(reference: pd.Series | np.ndarray, current: pd.Series | np.ndarray, kind: str,
                 merged: Merged | None = None) -> StatTest:
    """Evidently's default test for a cleaned column pair (`drift_native` describes the rule;
    both drift paths choose here)."""
    if merged is not None:
        n_values = merged.distinct()
    else:
        import pandas as pd

        n_values = pd.concat([reference, current]).nunique()
    if len(reference) <= SMALL_REFERENCE:
        if kind == NUMERICAL and n_values > 5:
            return TESTS["ks"]
        return TESTS["chisquare"] if n_values > 2 else TESTS["z"]
    if kind == NUMERICAL and n_values > 5:
        return TESTS["wasserstein"]
    return TESTS["jensenshannon"]


# Evidently's text-content tests: text columns run through Evidently (see drift_native).
TEXT_TESTS: dict[str, str] = {
    "perc_text_content_drift": "Percentile text content drift",
    "abs_text_content_drift": "Absolute text content drift",
}


def score_unit(method: str) -> str:
    """What a feature's score is: a p-value (drift below the threshold) or a distance."""
    test = TESTS.get(method)
    if test is None:
        return "score"
    return "p-value" if test.p_value else "distance"
