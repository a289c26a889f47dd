"""Perturbation units of the command line: raw or per-feature standard deviations.

Only the numeric feature columns are ever perturbed; categorical columns are
held fixed everywhere (the table, the figures, ``evaluate``). In ``std``
units a perturbation ``u`` moves numeric column ``j`` by ``u_j * sigma_j``
raw units, ``sigma_j`` its standard deviation on the *training* rows (1 for
a constant column, as in ``StandardScaler``), so an L2 ball of radius
``eps`` treats every numeric feature alike whatever its scale. The model is
evaluated in those coordinates by putting the diagonal map ``z -> mu + sigma
* z`` of the numeric columns in front of it, a fitted ``ColumnTransformer``
that sklip folds into the input map like any scaler: bounds, attacks and
certificates are then all in standard deviations of the numeric features.

The units are fitted once, on the training rows, and saved with the model,
so ``sklip evaluate`` measures with the same ruler as ``sklip search``.
"""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..robustness._units import DEFAULT_EPS_FRACTION

UNITS = ("std", "raw")
UNIT_LABELS = {
    "std": "L2 over the numeric features, in training standard deviations",
    "raw": "L2 over the numeric features, in the CSV's own units",
}
AXIS_LABELS = {"std": "training std of each numeric feature", "raw": "raw CSV units"}


class Units:
    """Coordinates ``eps`` is measured in, over the numeric columns.

    Parameters
    ----------
    kind : {"std", "raw"}
    numeric : list of str
        The perturbed numeric columns (first in the feature frame).
    categorical : list of str
        The columns held fixed (after the numeric ones).
    mean, scale : ndarray of shape (len(numeric),)
        Training mean and standard deviation of the numeric columns.
    """

    def __init__(self, kind, numeric, categorical, mean, scale, frame=True):
        if kind not in UNITS:
            raise ValueError(f"units must be one of {UNITS}; got {kind!r}.")
        self.kind = kind
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.mean_ = np.asarray(mean, dtype=float)
        self.scale_ = np.asarray(scale, dtype=float)
        # Whether the model reads DataFrames (CSV) or arrays (built-in data).
        self.frame = bool(frame)

    @classmethod
    def fit(cls, kind, X, numeric, categorical):
        """Units of the training frame ``X`` (numeric columns first), or of
        an all-numeric array ``X`` (then ``categorical`` is empty)."""
        values = _values(X, numeric)
        # Missing cells do not count; StandardScaler ignores NaN the same way.
        scaler = StandardScaler().fit(values)
        mean = np.where(np.isnan(scaler.mean_), 0.0, scaler.mean_)
        return cls(
            kind, numeric, categorical, mean, scaler.scale_, hasattr(X, "columns")
        )

    @property
    def label(self):
        """How ``eps`` is measured, for the tables."""
        return UNIT_LABELS[self.kind]

    @property
    def axis_label(self):
        """Short unit of a perturbation axis, for the figures."""
        return AXIS_LABELS[self.kind]

    @property
    def features(self):
        """The ``features=`` of every robustness call: the numeric columns
        (None, i.e. every column, when nothing is held fixed)."""
        return list(self.numeric) if self.categorical else None

    def transform(self, X):
        """The feature frame ``X`` in these units (numeric columns rescaled)."""
        if self.kind == "raw":
            return X
        if not hasattr(X, "columns"):
            return (np.asarray(X, dtype=float) - self.mean_) / self.scale_
        X = X.copy()
        X[self.numeric] = (X[self.numeric].to_numpy(dtype=float) - self.mean_) / (
            self.scale_
        )
        return X

    def wrap(self, model):
        """``model`` as a function of feature frames in these units."""
        if self.kind == "raw":
            return model
        # z -> mu + sigma * z as a fitted StandardScaler (mean -mu/sigma,
        # scale 1/sigma), an affine step sklip folds into the network.
        from_std = StandardScaler()
        from_std.mean_ = -self.mean_ / self.scale_
        from_std.scale_ = 1.0 / self.scale_
        from_std.var_ = from_std.scale_**2
        from_std.n_features_in_ = len(self.numeric)
        from_std.n_samples_seen_ = 1
        if not self.frame:
            # Arrays (built-in data): the scaler alone.
            return Pipeline([("from_std_units", from_std), ("model", model)])
        parts = [("numeric", "passthrough", self.numeric)]
        if self.categorical:
            parts.append(("held", "passthrough", self.categorical))
        step = ColumnTransformer(parts, verbose_feature_names_out=False)
        # Fitted on a one-row frame only to set its bookkeeping; the numeric
        # part is then replaced by the map above. Same column order in and
        # out, so the model downstream reads the columns it was fitted on.
        step.set_output(transform="pandas")
        step.fit(_template(self))
        from_std.feature_names_in_ = np.asarray(self.numeric, dtype=object)
        step.transformers_[0] = ("numeric", from_std, self.numeric)
        return Pipeline([("from_std_units", step), ("model", model)])

    def default_eps(self):
        """:func:`sklip.robustness.default_eps` of the training rows' numeric
        columns, from the saved statistics: 0.2 times the root-mean-square
        distance to the mean, ``0.2 * sqrt(n_numeric)`` in std units (0.2
        standard deviations per numeric feature), ``0.2 * sqrt(sum_j
        sigma_j^2)`` in raw units. Categorical columns do not count."""
        if self.kind == "std":
            spread = np.sqrt(len(self.numeric))
        else:
            spread = np.sqrt(np.sum(self.scale_**2))
        return float(DEFAULT_EPS_FRACTION * spread)

    def to_dict(self):
        """Plain data (lists, floats, str) for the saved model file."""
        return {
            "kind": self.kind,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "mean": [float(v) for v in self.mean_],
            "scale": [float(v) for v in self.scale_],
        }

    @classmethod
    def from_dict(cls, data):
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["kind"],
            data["numeric"],
            data["categorical"],
            data["mean"],
            data["scale"],
        )

    def with_kind(self, kind):
        """The same training statistics, measured in ``kind`` units."""
        return Units(
            kind, self.numeric, self.categorical, self.mean_, self.scale_, self.frame
        )


def _values(X, numeric):
    if hasattr(X, "columns"):
        return X[numeric].to_numpy(dtype=float)
    return np.asarray(X, dtype=float)


def _template(units):
    import pandas as pd

    row = {name: [0.0] for name in units.numeric}
    row.update({name: ["a"] for name in units.categorical})
    return pd.DataFrame(row, columns=units.numeric + units.categorical)
