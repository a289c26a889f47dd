"""One flat parameter vector with per-layer views, as the optimizers want it.

Layout follows scikit-learn's ``_pack``: all coefficient matrices first (so the
Frobenius penalty is one pass over a prefix), then all intercepts.
"""

import numpy as np

from .._core.network import Network


class FlatParameters:
    """Parameters, gradients and the network reading them, in one place.

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, hidden..., n_outputs]``.
    activation : str
        Hidden activation name.
    dtype : numpy dtype
    """

    def __init__(self, layer_units, activation, dtype):
        self.layer_units = list(layer_units)
        shapes = list(zip(self.layer_units[:-1], self.layer_units[1:]))
        self.n_coefs = sum(a * b for a, b in shapes)
        n_params = self.n_coefs + sum(self.layer_units[1:])
        self.params = np.zeros(n_params, dtype=dtype)
        self.grad = np.zeros(n_params, dtype=dtype)
        self.coefs, self.intercepts = self._views(self.params, shapes)
        self.coef_grads, self.intercept_grads = self._views(self.grad, shapes)
        self.network = Network(self.coefs, self.intercepts, activation)

    def _views(self, flat, shapes):
        """Per-layer views of ``flat``: coefficient matrices, then intercepts."""
        coefs, intercepts = [], []
        start = 0
        for shape in shapes:
            end = start + shape[0] * shape[1]
            coefs.append(flat[start:end].reshape(shape))
            start = end
        for _, n_out in shapes:
            intercepts.append(flat[start : start + n_out])
            start += n_out
        return coefs, intercepts

    @property
    def flat_coefs(self):
        """View of all coefficients (the penalised part)."""
        return self.params[: self.n_coefs]

    @property
    def flat_coef_grads(self):
        """View of the coefficient gradients."""
        return self.grad[: self.n_coefs]

    def load(self, coefs, intercepts):
        """Copy per-layer arrays into the flat vector."""
        for dst, src in zip(
            self.coefs + self.intercepts, list(coefs) + list(intercepts)
        ):
            dst[...] = src

    def copies(self):
        """Independent copies ``(coefs, intercepts)`` of the current values."""
        return [c.copy() for c in self.coefs], [b.copy() for b in self.intercepts]
