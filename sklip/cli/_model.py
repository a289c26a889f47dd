"""Models the command line trains, and their scores in the chosen units.

A model is ``Pipeline([("encode", encoder), ("net", net)])``: ``encoder``
turns the CSV's columns into numbers (``"passthrough"`` for numeric data),
``net`` is a scaler and a sklip MLP (for regression inside a
``TransformedTargetRegressor`` that standardises the target), which sklip
can bound, attack and certify. Scores are computed on the whole model, in
the units of :class:`~._units.Units`, numeric columns perturbed.
"""

import sys
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..lipschitz import lipschitz_bound
from ..neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor
from ..robustness import certified_accuracy, perturb, robust_accuracy, robust_r2

try:  # sklip's own pipeline hands the scaler's map to the penalty.
    from ..pipeline import make_pipeline as _make_raw_unit_net
except ImportError:  # pragma: no cover - depends on the library version
    _make_raw_unit_net = None

METRICS = {
    "classification": (
        "accuracy",
        "lipschitz_bound",
        "robust_accuracy",
        "certified_accuracy",
    ),
    "regression": ("r2", "lipschitz_bound", "robust_r2"),
}


def make_model(task, encoder, *, units, hidden, solver, max_iter, random_state):
    """The pipeline to search over (``penalty`` and ``alpha`` set by the grid).

    The penalty acts in the units ``eps`` and the bounds are measured in, so
    that training and certification agree: behind a ``StandardScaler`` a
    scikit-learn pipeline penalises the weights seen from standardised
    inputs (``units="std"``), sklip's pipeline those seen from the raw
    inputs (``units="raw"``).
    """
    estimator = (
        LipschitzMLPClassifier if task == "classification" else LipschitzMLPRegressor
    )
    mlp = estimator(
        hidden_layer_sizes=tuple(hidden),
        solver=solver,
        max_iter=max_iter,
        random_state=random_state,
    )
    if units == "raw" and _make_raw_unit_net is not None:
        net = _make_raw_unit_net(StandardScaler(), mlp)
    else:
        net = make_pipeline(StandardScaler(), mlp)
    if task == "regression":
        # Targets far from 0 (fuel use ~23, a price index ~7000) do not train
        # from a zero-mean initialisation in 200 epochs; a standardised target
        # does. The map is affine, so bounds and robust R^2 stay in the
        # target's units (sklip folds it into the last layer).
        net = TransformedTargetRegressor(regressor=net, transformer=StandardScaler())
    return Pipeline([("encode", encoder), ("net", net)])


def mlp_param(model, name):
    """Grid-search name of the MLP's parameter ``name``."""
    net = model.named_steps["net"]
    if isinstance(net, TransformedTargetRegressor):
        return f"net__regressor__{net.regressor.steps[-1][0]}__{name}"
    return f"net__{net.steps[-1][0]}__{name}"


class View:
    """A fitted model seen by the robustness functions in the chosen units.

    ``network`` is the whole pipeline (encoder included) behind the units'
    input map; every call passes ``features=`` the numeric columns, so
    categorical columns are held fixed and the numbers are those of the
    library's functions on the same rows.
    """

    def __init__(self, model, units):
        self.model = model
        self.units = units
        self.network = units.wrap(model)
        self.features = units.features

    def inputs(self, X):
        """The feature frame ``X`` in the view's units."""
        return self.units.transform(X)

    def lipschitz_bound(self, method="auto"):
        """Certified bound over the numeric features (categoricals held)."""
        return float(
            lipschitz_bound(self.network, method=method, features=self.features)
        )

    def _groups(self, Z):
        """``[(rows, features)]`` per pattern of missing numeric cells of the
        frame ``Z``: each row is perturbed over its observed numeric columns
        (a missing cell stays missing, the imputer fills it whatever the
        attack does). ``[(None, features)]`` when nothing is missing."""
        if not hasattr(Z, "columns"):
            return [(None, self.features)]
        missing = Z[self.units.numeric].isna().to_numpy()
        if not missing.any():
            return [(None, self.features)]
        patterns, which = np.unique(missing, axis=0, return_inverse=True)
        groups = []
        for k, pattern in enumerate(patterns):
            observed = [c for c, m in zip(self.units.numeric, pattern) if not m]
            groups.append((np.flatnonzero(which.ravel() == k), observed))
        return groups

    def robust(self, X, y, eps, random_state=0):
        """Robust accuracy (robust R^2 for a regressor) at ``eps`` (a float
        or an array of radii)."""
        Z, y = self.inputs(X), np.asarray(y)
        groups = self._groups(Z)
        classifier = is_classifier(self.model)
        metric = robust_accuracy if classifier else robust_r2
        if groups[0][0] is None:
            return metric(
                self.network,
                Z,
                y,
                eps=eps,
                random_state=random_state,
                features=self.features,
            )
        radii = np.atleast_1d(np.asarray(eps, dtype=float))
        out = np.array(
            [self._robust_rows(Z, y, r, groups, random_state) for r in radii]
        )
        return out if np.ndim(eps) else float(out[0])

    def _robust_rows(self, Z, y, eps, groups, random_state):
        """The worst prediction per row, group by group, then the score."""
        worst = np.asarray(self.network.predict(Z)).copy()
        classifier = is_classifier(self.model)
        for rows, observed in groups:
            if not observed or eps == 0:
                continue  # nothing of these rows can move
            Zg = Z.iloc[rows]
            adv = perturb(
                self.network,
                Zg,
                y[rows],
                eps=eps,
                random_state=random_state,
                features=observed,
            )
            pred = np.asarray(self.network.predict(adv))
            if classifier:
                worse = pred != y[rows]
            else:
                worse = np.abs(pred - y[rows]) > np.abs(worst[rows] - y[rows])
            worst[rows[worse]] = pred[worse]
        if classifier:
            return float(np.mean(worst == y))
        from sklearn.metrics import r2_score

        return float(r2_score(y, worst))

    def certified(self, X, y, eps, method="auto"):
        """Certified accuracy at ``eps``: per row over its observed numeric
        columns (a certificate over more columns would also hold)."""
        Z, y = self.inputs(X), np.asarray(y)
        groups = self._groups(Z)
        if groups[0][0] is None:
            return certified_accuracy(
                self.network, Z, y, eps=eps, method=method, features=self.features
            )
        total = 0.0
        for rows, observed in groups:
            if observed:
                part = certified_accuracy(
                    self.network,
                    Z.iloc[rows],
                    y[rows],
                    eps=eps,
                    method=method,
                    features=observed,
                )
            else:
                part = np.mean(
                    np.asarray(self.network.predict(Z.iloc[rows])) == y[rows]
                )
            total = total + np.asarray(part) * rows.size
        return total / len(y)

    def certified_deviation(self, eps):
        """Certified bound on the output change at ``eps`` (target units)."""
        return self.lipschitz_bound() * eps


class Scorer:
    """One metric of :data:`METRICS` for ``GridSearchCV``, in fixed units.

    The units are fitted once on the whole training set, so every fold and
    candidate is measured with the same ruler. Picklable (``--n-jobs``).
    """

    def __init__(self, metric, units, eps, random_state, progress=False, method="auto"):
        self.metric = metric
        self.method = method
        self.progress = progress
        self.units = units
        self.eps = eps
        self.random_state = random_state

    def __call__(self, estimator, X, y):
        """Score a fitted candidate on one validation fold.

        Parameters
        ----------
        estimator : Pipeline
            A fitted model of :func:`make_model`.
        X : DataFrame or ndarray of shape (n_samples, n_features)
            The fold's rows, raw CSV columns (as the model reads them).
        y : array-like of shape (n_samples,)
            The fold's targets.

        Returns
        -------
        score : float
            ``estimator.score`` for ``"accuracy"`` / ``"r2"``; minus the
            certified Lipschitz bound over the numeric features in the
            scorer's units for ``"lipschitz_bound"`` (``GridSearchCV``
            maximises); else robust (or certified) accuracy, robust R^2 for
            a regressor, at ``eps`` in the scorer's units.
        """
        if self.metric in ("accuracy", "r2"):
            if self.progress:
                # One dot per scored fit, written by whichever process (joblib
                # workers share the parent's stderr) scored it.
                print(".", end="", file=sys.stderr, flush=True)
            return estimator.score(X, y)
        view = View(estimator, self.units)
        if self.metric == "lipschitz_bound":
            # GridSearchCV maximises; the table shows the bound itself.
            return -view.lipschitz_bound()
        if self.metric == "certified_accuracy":
            return view.certified(X, y, self.eps, getattr(self, "method", "auto"))
        return view.robust(X, y, self.eps, self.random_state)


def make_scorers(task, units, eps, random_state, progress=False, method="auto"):
    """One :class:`Scorer` per metric of ``task``."""
    return {
        m: Scorer(m, units, eps, random_state, progress, method) for m in METRICS[task]
    }


@dataclass(frozen=True)
class HeldOut:
    """The held-out rows and how the report scores a model on them: the
    units, the radius ``eps`` in those units, the attack's seed and the
    certificate's method. Candidates and baselines are scored by the same
    :meth:`scores`, so their rows compare."""

    task: str
    units: object
    X: object
    y: object
    eps: float
    random_state: int
    method: str = "auto"

    def scores(self, model):
        """Held-out scores of the fitted ``model``, in the report's units."""
        main, robust = METRICS[self.task][0], METRICS[self.task][2]
        view = View(model, self.units)
        scores = {
            main: float(model.score(self.X, self.y)),
            "lipschitz_bound": view.lipschitz_bound(),
            robust: float(view.robust(self.X, self.y, self.eps, self.random_state)),
        }
        if self.task == "classification":
            scores["certified_accuracy"] = float(
                view.certified(self.X, self.y, self.eps, self.method)
            )
        return scores
