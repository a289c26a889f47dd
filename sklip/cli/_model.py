"""Models the command line trains, and their scores in the chosen units.

A model is ``Pipeline([("encode", encoder), ("net", net)])``: ``encoder``
turns the CSV's columns into numbers (``"passthrough"`` for numeric data),
``net`` is a scaler and a sklip MLP, which sklip can bound, attack and
certify. Scores are computed on ``net`` in the units of :class:`Units`.
"""

import inspect
import sys

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..lipschitz import lipschitz_bound
from ..neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor
from ..robustness import certified_accuracy, robust_accuracy, robust_r2
from ._units import Units

try:  # sklip's own pipeline hands the scaler's map to the penalty.
    from ..pipeline import make_pipeline as _make_raw_unit_net
except ImportError:  # pragma: no cover - depends on the library version
    _make_raw_unit_net = None

# Whether the robustness functions can perturb a subset of the inputs.
SUPPORTS_FEATURES = "features" in inspect.signature(robust_accuracy).parameters

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
    return Pipeline([("encode", encoder), ("net", net)])


def mlp_param(model, name):
    """Grid-search name of the MLP's parameter ``name``."""
    return f"net__{model.named_steps['net'].steps[-1][0]}__{name}"


def split(model):
    """``(encode, net)`` of a fitted model; ``encode`` is None for numeric data."""
    if isinstance(model, Pipeline) and "encode" in model.named_steps:
        encode = model.named_steps["encode"]
        net = model[1:] if len(model.steps) > 2 else model.steps[-1][1]
        return (None if encode == "passthrough" else encode), net
    return None, model


def encode(model, X):
    enc, _ = split(model)
    if enc is None:
        return np.asarray(X, dtype=float)
    return np.asarray(enc.transform(X), dtype=float)


class View:
    """A fitted model seen by the robustness functions in the chosen units."""

    def __init__(self, model, units, n_numeric=None):
        _, net = split(model)
        self.model = model
        self.units = units
        self.network = units.wrap(net)
        self.n_numeric = n_numeric

    def inputs(self, X):
        return self.units.transform(encode(self.model, X))

    def _features(self, n_inputs):
        if (
            SUPPORTS_FEATURES
            and self.n_numeric is not None
            and self.n_numeric < n_inputs
        ):
            return {"features": np.arange(self.n_numeric)}
        return {}

    @property
    def restricted(self):
        """Whether only the first ``n_numeric`` inputs are perturbed."""
        n_inputs = self.units.mean_.shape[0]
        return bool(self._features(n_inputs))

    def lipschitz_bound(self, method="auto", all_inputs=False):
        """Certified bound over the perturbed inputs (or over all of them)."""
        n_inputs = self.units.mean_.shape[0]
        features = {} if all_inputs else self._features(n_inputs)
        return float(lipschitz_bound(self.network, method=method, **features))

    def robust(self, X, y, eps, random_state=0):
        Z = self.inputs(X)
        y = np.asarray(y)
        metric = robust_accuracy if _is_classifier(self.model) else robust_r2
        return metric(
            self.network,
            Z,
            y,
            eps=eps,
            random_state=random_state,
            **self._features(Z.shape[1]),
        )

    def certified(self, X, y, eps, method="auto"):
        Z = self.inputs(X)
        return certified_accuracy(
            self.network, Z, np.asarray(y), eps=eps, method=method,
            **self._features(Z.shape[1]),
        )  # fmt: skip


def _is_classifier(model):
    from sklearn.base import is_classifier

    return is_classifier(model)


class Scorer:
    """One metric of :data:`METRICS` for ``GridSearchCV``, in fixed units.

    The units are fitted once on the whole training set, so every fold and
    candidate is measured with the same ruler. Picklable (``--n-jobs``).
    """

    def __init__(
        self, metric, units, eps, n_numeric, random_state, progress=False,
        method="auto",
    ):  # fmt: skip
        self.metric = metric
        self.method = method
        self.progress = progress
        self.units = units
        self.eps = eps
        self.n_numeric = n_numeric
        self.random_state = random_state

    def __call__(self, estimator, X, y):
        if self.metric in ("accuracy", "r2"):
            if self.progress:
                # One dot per scored fit, written by whichever process (joblib
                # workers share the parent's stderr) scored it.
                print(".", end="", file=sys.stderr, flush=True)
            return estimator.score(X, y)
        view = View(estimator, self.units, self.n_numeric)
        if self.metric == "lipschitz_bound":
            # GridSearchCV maximises; the table shows the bound itself.
            return -view.lipschitz_bound()
        if self.metric == "certified_accuracy":
            return view.certified(X, y, self.eps, getattr(self, "method", "auto"))
        return view.robust(X, y, self.eps, self.random_state)


def make_scorers(
    task, units, eps, n_numeric, random_state, progress=False, method="auto"
):
    return {
        m: Scorer(m, units, eps, n_numeric, random_state, progress, method)
        for m in METRICS[task]
    }


def fit_units(kind, encoder, X):
    """``(units, X_encoded)``: :class:`Units` fitted on the encoded training data."""
    X_encoded = X if encoder == "passthrough" else clone(encoder).fit_transform(X)
    X_encoded = np.asarray(X_encoded, dtype=float)
    return Units(kind, X_encoded), X_encoded
