"""Certificates of a batch of samples by any registered method.

:class:`Certifier` holds one batch in the attack space (the network on the
movable coordinates, the centres, the mask and the clip box; see
:meth:`sklip._core.inputs.Inputs.attack_space`) and answers, per sample and
for any method of :data:`._methods.METHODS`: is the prediction certified at
``eps`` (:meth:`Certifier.decide`), what is the largest certified radius
(:meth:`Certifier.radius`), and, for regressors, what interval holds every
output over the ball (:meth:`Certifier.output_bounds`).

Methods run in a chain from cheap to costly, each on the samples the earlier
ones left undecided, so a union costs little more than its cheapest member:
``auto`` is the Lipschitz margin, then CROWN, then (small networks)
alpha-CROWN. A bound method certifies a sample when every lower bound of its
margins ``f_c - f_j`` over the ball exceeds the tie slack of
:func:`._margin.tie_slack` (the same slack as the Lipschitz margin's).
"""

import numpy as np

from ._crown import bound_specs
from ._domain import Domain
from ._margin import deviation_bound, margin_radius, radius_in_norm, tie_slack
from ._methods import AUTO_ALPHA_SCREEN, BOUND_METHODS, auto_methods, check_method
from ._specs import margin_specs, output_specs

# Relative width at which the radius bisection stops; doublings allowed when
# a bound method certifies far beyond the Lipschitz radius.
RADIUS_RTOL = 1e-3
COMPLETE_RADIUS_RTOL = 1e-2
MAX_STEPS = 60

# verify_complete's decided_by -> the method names of the public API.
_COMPLETE_BY = {
    "": "none",
    "clean": "clean",
    "falsifier": "attack",
    "pgd": "attack",
    "bound-point": "attack",
    "alpha-crown": "alpha-crown",
    "crown": "crown",
    "milp": "complete",
    "branch-and-bound": "complete",
}


class Certifier:
    """Certificates of the samples ``Z`` of one network.

    Parameters
    ----------
    network : sklip._core.network.Network
        The network on the attack-space coordinates.
    Z : ndarray of shape (n_samples, n_coordinates)
        The centres of the balls.
    norm : {2, np.inf}
    mask : ndarray of bool of shape (n_coordinates,) or (n_samples, \
n_coordinates), default=None
        The movable coordinates (None: all), shared or per sample (each
        row's observed entries, when some are missing).
    box : tuple (low, high), default=None
        The clip box over the movable coordinates (a shared mask) or over
        every coordinate (a per-sample mask); see :class:`._domain.Domain`.
    pred : ndarray of int of shape (n_samples,), default=None
        Classifiers: the class indices to certify (the predictions).
    K : ndarray of shape (n_classes, n_classes) or (n_samples, n_classes, \
n_classes), default=None
        Classifiers: pairwise Lipschitz constants over the movable
        coordinates (L2, raw units), shared or per sample.
    L : float or ndarray of shape (n_samples,), default=None
        Regressors: the L2 Lipschitz constant, shared or per sample (None:
        not available, e.g. an exp output link, and the Lipschitz method is
        skipped).
    link : {"identity", "exp"}, default="identity"
        Regressors: the map from raw outputs to predictions (monotone).
    logits : ndarray of shape (n_samples, n_outputs), default=None
        The raw outputs as ``predict`` computed them (the unfolded network),
        for the Lipschitz margin and the tie slack; None: ``network(Z)``.
    """

    def __init__(
        self,
        network,
        Z,
        *,
        norm,
        mask=None,
        box=None,
        pred=None,
        K=None,
        L=None,
        link="identity",
        logits=None,
    ):
        self.network = network
        self.Z = Z
        self.norm = norm
        self.mask = mask
        self.box = box
        if mask is None:
            self.n_movable = Z.shape[1]
        else:
            self.n_movable = mask.sum(axis=-1)
        F = network.forward(Z) if logits is None else logits
        self.F = np.asarray(F, dtype=np.float64)
        self.slack = tie_slack(self.F, network.dtype)
        self.pred = pred
        self.L = L
        self.link = link
        if pred is not None:
            r2 = margin_radius(self.F, pred, np.asarray(K, np.float64), self.slack)
            self.lipschitz_radius = radius_in_norm(r2, norm, self.n_movable)

    @property
    def n_samples(self):
        return self.Z.shape[0]

    # -- one ball per sample -----------------------------------------------
    def _mask(self, rows):
        if self.mask is None or self.mask.ndim == 1:
            return self.mask
        return self.mask[rows]

    def _domain(self, rows, eps):
        mask = self._mask(rows)
        return Domain(self.Z[rows], eps, self.norm, mask=mask, box=self.box)

    def _specs(self, rows):
        # Built per call, for the rows only: O(rows * n_classes^2) memory.
        return margin_specs(self.F.shape[1], self.pred[rows])

    def _bound_worst(self, rows, eps, method):
        """The lower bound of each row's worst margin, minus the tie slack
        (certified where > 0)."""
        lower = bound_specs(
            self.network, self._domain(rows, eps), self._specs(rows), method=method
        )
        return lower.min(axis=1, initial=np.inf) - self.slack[rows]

    def _near_miss(self, rows, worst):
        """Rows whose CROWN bound ``worst`` is within ``AUTO_ALPHA_SCREEN``
        of their clean margin below zero: where alpha-CROWN may certify."""
        clean = np.einsum("nko,no->nk", self._specs(rows), self.F[rows])
        clean = clean.min(axis=1, initial=np.inf) - self.slack[rows]
        return worst >= -AUTO_ALPHA_SCREEN * np.abs(clean)

    def chain(self, method):
        """The methods tried in turn for ``method``."""
        method = check_method(method)
        if method == "auto":
            return ("lipschitz", *auto_methods(self.network))
        if method == "alpha-crown":
            # alpha-CROWN starts from CROWN and is never looser: CROWN
            # decides the easy samples at a twentieth of the cost.
            return ("crown", "alpha-crown")
        if method == "complete":
            return ("lipschitz", "crown", "complete")
        return (method,)

    def decide(
        self,
        eps,
        method,
        rows=None,
        *,
        falsifier=None,
        time_budget=2.0,
        random_state=None,
    ):
        """Verdicts at radius ``eps`` (a number or one per row).

        Returns
        -------
        verdict : ndarray of object of shape (n_rows,)
            ``"verified"``, ``"falsified"`` (complete method only) or
            ``"undecided"``.
        decided_by : ndarray of object of shape (n_rows,)
            The method that decided each row (``"none"`` when undecided).
        counterexample : ndarray of shape (n_rows, n_coordinates)
            Points of the ball where the specification fails (complete
            method), NaN rows elsewhere.
        """
        rows = np.arange(self.n_samples) if rows is None else np.asarray(rows)
        eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), rows.shape).copy()
        n = rows.size
        verdict = np.full(n, "undecided", dtype=object)
        decided_by = np.full(n, "none", dtype=object)
        cex = np.full((n, self.Z.shape[1]), np.nan)
        worst = np.full(n, -np.inf)
        for step in self.chain(method):
            todo = np.flatnonzero(verdict == "undecided")
            if method == "auto" and step == "alpha-crown":
                todo = todo[self._near_miss(rows[todo], worst[todo])]
            if todo.size == 0:
                break
            if step == "lipschitz":
                ok = self.lipschitz_radius[rows[todo]] > eps[todo]
            elif step in BOUND_METHODS:
                worst[todo] = self._bound_worst(rows[todo], eps[todo], step)
                ok = worst[todo] > 0
            else:
                v, c, by = self._complete(
                    rows[todo], eps[todo], falsifier, time_budget, random_state
                )
                verdict[todo] = v
                decided_by[todo] = np.where(v == "undecided", "none", by)
                cex[todo] = c
                continue
            verdict[todo[ok]] = "verified"
            decided_by[todo[ok]] = step
        return verdict, decided_by, cex

    def _complete(self, rows, eps, falsifier, time_budget, random_state):
        """:func:`._bab.verify_complete` on ``rows``: verdicts,
        counterexamples and the public name of what decided each. Under a
        per-sample mask, one call per distinct mask (branch and bound and
        the MILP read a shared one; each sample costs seconds anyway)."""
        if self.mask is None or self.mask.ndim == 1:
            return self._complete_shared(
                rows, eps, falsifier, time_budget, random_state, self.mask, self.box
            )
        n = rows.size
        verdict = np.full(n, "undecided", dtype=object)
        by = np.full(n, "none", dtype=object)
        cex = np.full((n, self.Z.shape[1]), np.nan)
        patterns, which = np.unique(self.mask[rows], axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            sel = np.flatnonzero(which.reshape(-1) == p)
            box = None
            if self.box is not None:
                low, high = (np.broadcast_to(b, pattern.shape) for b in self.box)
                box = (low[pattern], high[pattern])
            v, c, b = self._complete_shared(
                rows[sel], eps[sel], falsifier, time_budget, random_state, pattern, box
            )
            verdict[sel], cex[sel], by[sel] = v, c, b
        return verdict, cex, by

    def _complete_shared(
        self, rows, eps, falsifier, time_budget, random_state, mask, box
    ):
        """:meth:`_complete` on rows sharing the mask ``mask``."""
        # Branch and bound (and scipy's MILP) load only when used.
        from ._bab import verify_complete

        wrapped = None
        if falsifier is not None:
            # verify_complete numbers rows within its domain; the falsifier
            # knows the batch's rows.
            def wrapped(sub):
                return falsifier(rows[np.asarray(sub)], eps[np.asarray(sub)])

        verdict, cex, by = verify_complete(
            self.network,
            Domain(self.Z[rows], eps, self.norm, mask=mask, box=box),
            self._specs(rows),
            falsifier=wrapped,
            time_budget=time_budget,
            random_state=random_state,
        )
        # The public vocabulary: how the complete method decided, by family.
        by = np.array([_COMPLETE_BY.get(str(b), "complete") for b in by], object)
        return np.asarray(verdict, dtype=object), np.asarray(cex, np.float64), by

    def certified(self, eps, method, rows=None, **kwargs):
        """Whether each row is verified at ``eps`` (see :meth:`decide`)."""
        return self.decide(eps, method, rows, **kwargs)[0] == "verified"

    # -- radii -------------------------------------------------------------
    def radius(self, method, **kwargs):
        """The largest radius certified by ``method`` per sample.

        Lipschitz: the closed form. Other methods: bisection on the radius
        (every bound is monotone in it: a larger ball contains the smaller),
        from the Lipschitz radius, a sound lower end for ``auto`` and the
        first guess for the others (``complete`` starts from the ``auto``
        radius), doubling while certified, then halving the bracket to a
        relative width of ``RADIUS_RTOL`` (``COMPLETE_RADIUS_RTOL``). Every
        sample is certified at the radius returned (its closed ball). 0
        where the prediction is tied, inf where the model is constant in the
        movable coordinates.
        """
        method = check_method(method)
        r_lip = self.lipschitz_radius
        if method == "lipschitz":
            return r_lip.copy()
        lo = np.zeros(self.n_samples)
        hi = np.full(self.n_samples, np.inf)
        active = np.flatnonzero((r_lip > 0) & np.isfinite(r_lip))
        lo[np.isinf(r_lip)] = np.inf
        rtol = RADIUS_RTOL
        if method == "auto":
            # The union contains the Lipschitz margin: certified below r_lip.
            lo[active] = r_lip[active]
        elif method == "complete":
            # Whatever "auto" certifies is true: complete verification only
            # searches beyond it, to a coarser precision (each step may take
            # the time budget of every sample still open).
            lo[active] = self.radius("auto")[active]
            rtol = COMPLETE_RADIUS_RTOL
        else:
            ok = self.certified(r_lip[active], method, active)
            lo[active[ok]] = r_lip[active[ok]]
            hi[active[~ok]] = r_lip[active[~ok]]

        def step(rows, trial):
            ok = self.certified(trial, method, rows, **kwargs)
            lo[rows[ok]] = trial[ok]
            hi[rows[~ok]] = trial[~ok]

        for _ in range(MAX_STEPS):
            grow = active[np.isinf(hi[active])]
            if grow.size == 0:
                break
            step(grow, 2.0 * lo[grow])
        for _ in range(MAX_STEPS):
            wide = hi[active] - lo[active] > rtol * hi[active]
            rows = active[wide & np.isfinite(hi[active])]
            if rows.size == 0:
                break
            step(rows, 0.5 * (lo[rows] + hi[rows]))
        return lo

    # -- regression --------------------------------------------------------
    def output_bounds(self, eps, method):
        """Certified ``(lower, upper)`` of the predictions over each ball and
        the bound on ``||f(x + delta) - f(x)||_2`` per sample.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples, n_outputs)
            Every prediction of the ball lies in ``[lower, upper]`` (after the
            output link, which is monotone).
        deviation : ndarray of shape (n_samples,)
            Lipschitz: ``L * eps`` (Linf through the L2 ball); bound methods:
            the L2 norm of the per-output ``max(upper - f, f - lower)``;
            ``auto``: the smaller of the two.
        """
        method = check_method(method)
        n, m = self.F.shape
        eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), (n,)).copy()
        lo = np.full((n, m), -np.inf)
        up = np.full((n, m), np.inf)
        chain = {
            "auto": ("lipschitz", *auto_methods(self.network)),
            "complete": ("alpha-crown", "complete"),
        }.get(method, (method,))
        use_lip = "lipschitz" in chain and self.L is not None
        if method == "lipschitz" and self.L is None:
            raise ValueError(
                "method='lipschitz' needs predictions equal to the raw outputs; "
                "the Poisson (exp) output link has no finite Lipschitz constant. "
                "Use a bound method (method='crown')."
            )
        if use_lip:
            dev_lip = deviation_bound(self.L, eps, self.norm, self.n_movable)
            lo = np.maximum(lo, self.F - dev_lip[:, None])
            up = np.minimum(up, self.F + dev_lip[:, None])
        dom = self._domain(np.arange(n), eps)
        C = output_specs(n, m)
        for step in chain:
            if step == "lipschitz":
                continue
            if step == "complete":
                if self.norm != np.inf or self.network.activation != "relu":
                    continue  # the MILP encodes Linf balls of ReLU nets only
                from ._milp import milp_lower_bounds

                lower = milp_lower_bounds(self.network, dom, C)
                lower = np.where(np.isnan(lower), -np.inf, lower)
            else:
                lower = bound_specs(self.network, dom, C, method=step)
            lo = np.maximum(lo, lower[:, :m])
            up = np.minimum(up, -lower[:, m:])
        f = self.F
        if self.link == "exp":
            lo, up, f = np.exp(lo), np.exp(up), np.exp(f)
        dev = np.sqrt(np.sum(np.maximum(up - f, f - lo) ** 2, axis=1))
        if use_lip and self.link == "identity":
            dev = np.minimum(dev, dev_lip)
        return lo, up, dev
