"""Perturbation units of the command line: raw or per-feature standard deviations.

In ``std`` units a perturbation ``u`` of the model's inputs moves feature
``j`` by ``u_j * sigma_j`` in raw units (``sigma_j`` its standard deviation
on the training data; 1 for a constant feature, as in ``StandardScaler``), so
an L2 ball of radius ``eps`` treats every feature alike whatever its scale.
The model is evaluated in those coordinates by composing it with the affine
map ``z -> mu + sigma * z``, which sklip folds into the first layer: bounds,
attacks and certificates are then all in standard deviations.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..robustness import default_eps

UNITS = ("std", "raw")
UNIT_LABELS = {
    "std": "L2, standard deviations of each feature",
    "raw": "L2, raw input units",
}


class Units:
    """Coordinates ``eps`` is measured in, fitted on reference data."""

    def __init__(self, kind, X_reference):
        self.kind = kind
        X_reference = np.asarray(X_reference, dtype=float)
        self.mean_ = X_reference.mean(axis=0)
        # StandardScaler's convention for constant features (scale 1) keeps
        # the map invertible; such features carry no spread to compare with.
        self.scale_ = StandardScaler().fit(X_reference).scale_

    @property
    def label(self):
        return UNIT_LABELS[self.kind]

    def transform(self, X):
        """Inputs in these units."""
        X = np.asarray(X, dtype=float)
        if self.kind == "raw":
            return X
        return (X - self.mean_) / self.scale_

    def wrap(self, model):
        """``model`` as a function of inputs in these units."""
        if self.kind == "raw":
            return model
        # A fitted StandardScaler computing z -> mu + sigma * z: an affine
        # step sklip folds into the network, unlike a FunctionTransformer.
        from_std = StandardScaler()
        from_std.mean_ = -self.mean_ / self.scale_
        from_std.scale_ = 1.0 / self.scale_
        from_std.var_ = from_std.scale_**2
        from_std.n_features_in_ = self.mean_.shape[0]
        from_std.n_samples_seen_ = 1
        return Pipeline([("from_std_units", from_std), ("model", model)])

    def default_eps(self, X_reference):
        """The shared default radius (:func:`sklip.robustness.default_eps`)."""
        return default_eps(self.transform(X_reference))
