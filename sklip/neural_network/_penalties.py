"""Weight penalties: value and in-place gradient of the regularisation term.

Each penalty adds ``scale * R(W)`` to the objective and ``scale * dR/dW`` to the
coefficient gradients, with ``scale = alpha / s`` where ``s`` is the sample
weight sum of the current mini-batch (scikit-learn's convention, so ``alpha``
means the same thing in sklip and scikit-learn).  Intercepts are never
penalised.

When the estimator knows the affine map ``z = x @ A + c`` of the preprocessing
in front of it (an :class:`~sklip._core.input_map.InputMap`, handed over by
:class:`sklip.pipeline.Pipeline`), the first layer is penalised *as seen from
the raw inputs*, ``A W_1``: then the penalty controls the same function that
certified bounds and attacks measure. Without a map, ``A`` is the identity.

Every penalty derives from :class:`Penalty`; the ``penalty`` parameter's
choices are the registry :data:`sklip.neural_network._objective.PENALTIES`.
"""

import math
from abc import ABC, abstractmethod

import numpy as np
from scipy.sparse.linalg import svds

# Above this smaller side the exact top singular pair comes from a Lanczos
# solver (scipy's svds, 1-2 ms for a warm-started 256 x 256 layer) instead of
# a dense eigendecomposition of the Gram matrix, whose cost grows cubically
# (0.8 ms for 100 x 256, 2.7 ms at 200 x 200, against 1.1 and 1.4 ms for
# svds; measured with one BLAS thread).
_DENSE_SVD_MAX_DIM = 100

# Norms outside (sqrt(tiny), sqrt(max)) of their dtype may have lost digits
# to underflow or overflowed in the squares: _normalise rescales those.
_SAFE_NORMS = {
    np.dtype(t): (np.sqrt(np.finfo(t).tiny) * 1e3, np.sqrt(np.finfo(t).max) * 1e-3)
    for t in (np.float32, np.float64)
}


def _mapped(W, input_map):
    """The layer ``W`` as seen from the raw inputs (``A W``)."""
    return W if input_map is None else input_map.matmul(W)


def power_iteration(W, u, v, n_iter, input_map=None):
    """Refine the top singular pair of ``A W`` in place and return sigma.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out)
    u : ndarray of shape (n_raw,)
        Left vector, unit norm; overwritten. ``n_raw`` is ``n_in`` without a
        map, the number of raw inputs with one.
    v : ndarray of shape (n_out,)
        Right vector; overwritten.
    n_iter : int
        Number of iterations (each costs two matrix-vector products).
    input_map : InputMap or None
        The preprocessing map ``A`` in front of ``W``; None is the identity.

    Returns
    -------
    sigma : float
        ``u^T A W v`` after the last iteration, i.e. the estimate of
        ``||A W||_2`` that matches the returned vectors exactly.
    """
    sigma = 0.0
    for _ in range(n_iter):
        _right_step(W, u, v, input_map)
        sigma = _left_step(W, v, u, input_map)
    return sigma


def _raw_left(u, input_map):
    """``A^T u``: a left vector over the raw inputs seen by ``W``'s rows."""
    return u if input_map is None else input_map.rmatmul(u)


def _right_step(W, u, v, input_map=None):
    """Half a power step, ``v <- (A W)^T u`` normalised; returns the norm."""
    np.dot(W.T, _raw_left(u, input_map), out=v)
    return _normalise(v)


def _left_step(W, v, u, input_map=None):
    """The other half, ``u <- A W v`` normalised; returns the norm."""
    if input_map is None:
        np.dot(W, v, out=u)
    else:
        u[...] = input_map.matmul(W @ v)
    return _normalise(u)


def _normalise(x, out=None):
    """``x`` scaled to unit norm, into ``out`` (default: in place; a zero
    vector stays zero); returns the norm it had."""
    norm = math.sqrt(np.dot(x, x))
    low, high = _SAFE_NORMS.get(x.dtype, (0.0, np.inf))
    if not low < norm < high:
        # Tiny or huge entries: rescale by the largest first, as
        # np.linalg.norm does not.
        largest = float(np.max(np.abs(x))) if x.size else 0.0
        if largest == 0.0 or not math.isfinite(largest):
            np.copyto(x if out is None else out, x)
            return largest
        scaled = x / largest
        norm = largest * math.sqrt(np.dot(scaled, scaled))
        np.divide(scaled, norm / largest, out=x if out is None else out)
        return norm
    np.multiply(x, 1.0 / norm, out=x if out is None else out)
    return norm


def _dense_top_singular(M, u, v):
    """Top singular pair of a small ``M`` from the eigenvectors of its
    smaller Gram matrix, in float64 and scaled to a largest entry of 1 (so
    the squares neither underflow nor overflow): exact to rounding for the
    top pair, and 30-40% faster than a full SVD at 64 x 64 (measured), which
    counts when it runs at every epoch start of a small fit."""
    M = np.asarray(M, dtype=np.float64)
    scale = float(np.max(np.abs(M))) if M.size else 0.0
    if scale == 0.0 or not math.isfinite(scale):
        # Zero or non-finite weights: the SVD's answer (or its LinAlgError).
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        u[...], v[...] = U[:, 0], Vt[0]
        return float(s[0])
    Ms = M / scale
    if Ms.shape[0] >= Ms.shape[1]:
        right = np.linalg.eigh(Ms.T @ Ms)[1][:, -1]
        left = Ms @ right
        sigma = _normalise(left)
    else:
        left = np.linalg.eigh(Ms @ Ms.T)[1][:, -1]
        right = Ms.T @ left
        sigma = _normalise(right)
    u[...], v[...] = left, right
    return sigma * scale


def exact_top_singular(W, u, v, input_map=None):
    """Top singular pair of ``A W``, written into ``u`` and ``v``; returns sigma.

    Used where the objective must be a deterministic function of the weights
    (lbfgs line searches) and to keep power iteration converged. Power
    iteration is no substitute there: the spectral penalty clusters the top
    singular values, and with a small gap power iteration converges too
    slowly to be told apart from convergence; from a cold start one step
    underestimates sigma badly (about 0.78 sigma on a random 50x30 matrix).

    Small matrices take a dense SVD; larger ones a Lanczos solver (scipy's
    ``svds``) started from the current ``u`` or ``v`` when they hold a
    previous estimate, which then converges in a few products.
    """
    M = _mapped(W, input_map)
    small = min(M.shape)
    if small <= _DENSE_SVD_MAX_DIM:
        return _dense_top_singular(M, u, v)
    # svds iterates on the Gram matrix of the smaller side.
    start = v if M.shape[1] == small else u
    v0 = np.asarray(start, dtype=np.float64)
    if not np.all(np.isfinite(v0)) or not np.any(v0):
        v0 = np.ones(small)
    U, s, Vt = svds(M.astype(np.float64, copy=False), k=1, v0=v0)
    u[...], v[...] = U[:, 0], Vt[0]
    return float(s[0])


def converged_power_vectors(coefs, dtype, input_map=None):
    """Exact top singular pairs ``[(u, v), ...]`` of every layer (the first
    one seen through ``input_map``), the start of power iteration."""
    vectors = []
    for layer, W in enumerate(coefs):
        m = input_map if layer == 0 else None
        n_raw = W.shape[0] if m is None else m.n_in
        u = np.zeros(n_raw, dtype=dtype)
        v = np.zeros(W.shape[1], dtype=dtype)
        v[...] = 0.0  # no previous estimate: a deterministic Lanczos start
        exact_top_singular(W, u, v, m)
        vectors.append((u, v))
    return vectors


class Penalty(ABC):
    """A weight penalty ``R``: the contract of every entry of ``PENALTIES``.

    Each evaluation adds ``scale * dR/dW`` to the coefficient gradients and
    returns ``scale * R(W)``, with ``scale = alpha / s`` (``s`` the
    sample-weight sum of the mini-batch). A penalty that reads the tracked
    top singular pairs says so with ``needs_tracker``; one that rides in the
    training GEMMs returns itself from :attr:`rider` (see
    :class:`SpectralPenalty`).

    Attributes
    ----------
    description : str
        One line for the ``penalty`` parameter's documentation.
    penalises : bool
        False when ``alpha`` has no effect (``"none"``).
    needs_tracker : bool
        Whether :meth:`build` needs a :class:`SpectralTracker`.
    """

    description = ""
    penalises = True
    needs_tracker = False

    @classmethod
    @abstractmethod
    def build(cls, flat, tracker, input_map):
        """The penalty of the parameters ``flat`` (a ``FlatParameters``).

        ``tracker`` is the shared :class:`SpectralTracker` (None unless some
        training term needs one), ``input_map`` the map in front of the first
        layer (None: model units).
        """

    @abstractmethod
    def __call__(self, coefs, coef_grads, scale, exact=False):
        """Add ``scale * dR/dW`` to ``coef_grads``; return ``scale * R``.

        ``exact`` asks for a deterministic value (lbfgs line searches).
        """

    @property
    def rider(self):
        """The object riding in the training GEMMs, or None (the default)."""
        return None


class NoPenalty(Penalty):
    """No regularisation; ``alpha`` is ignored."""

    description = "no penalty (``alpha`` is ignored)"
    penalises = False

    @classmethod
    def build(cls, flat, tracker, input_map):
        """No penalty: nothing to build from."""
        return cls()

    def __call__(self, coefs, coef_grads, scale, exact=False):
        """Nothing to add: returns 0."""
        return 0.0


class FrobeniusPenalty(Penalty):
    """``0.5 * alpha * sum_l ||W_l||_F^2 / s``: scikit-learn's L2 term.

    Works on the flat view of all coefficients, which precede the intercepts
    in the parameter vector, so value and gradient are one pass each. With an
    input map, the first layer's term is ``||A W_1||_F^2`` instead, whose
    gradient is ``A^T A W_1``.

    Parameters
    ----------
    flat_coefs, flat_coef_grads : ndarray
        Views of all coefficients and their gradients.
    n_first : int
        Number of entries of the first layer (the head of ``flat_coefs``).
    input_map : InputMap or None
    """

    description = "scikit-learn's squared Frobenius norm (L2) of each layer"

    def __init__(self, flat_coefs, flat_coef_grads, n_first=0, input_map=None):
        self.input_map = input_map
        # The first layer is handled apart when it is seen through a map.
        head = 0 if input_map is None else n_first
        self.flat_coefs = flat_coefs[head:]
        self.flat_coef_grads = flat_coef_grads[head:]
        self._buf = np.empty_like(self.flat_coefs)
        self._gram = None if input_map is None else input_map.gram()

    @classmethod
    def build(cls, flat, tracker, input_map):
        """The L2 term over the flat coefficients of ``flat``."""
        return cls(flat.flat_coefs, flat.flat_coef_grads, flat.coefs[0].size, input_map)

    def __call__(self, coefs, coef_grads, scale, exact=False):
        """Add ``scale * W`` (``scale * A^T A W_1``) to the gradients; return
        ``0.5 * scale * sum_l ||W_l||_F^2``."""
        w = self.flat_coefs
        self.flat_coef_grads += np.multiply(w, scale, out=self._buf)
        value = float(w @ w)
        if self._gram is not None:
            W, G = coefs[0], coef_grads[0]
            gram = self._gram
            GW = gram[:, None] * W if gram.ndim == 1 else gram @ W
            value += float(np.vdot(W, GW))
            GW *= scale
            G += GW
        return 0.5 * scale * value


class SpectralTracker:
    """Top singular pairs of every layer, tracked between updates.

    The one holder of the power-iteration state (persisted by the estimator
    as ``_power_vectors``): the spectral penalty, the Lipschitz margin and the
    Lipschitz budget all read the same ``sigmas`` and differentiate them the
    same way, ``dsigma/dW = u v^T`` (``(A^T u) v^T`` for a first layer seen
    through an input map ``A``). The pairs start converged (see
    :func:`converged_power_vectors`) and advance ``n_power_iterations``
    steps per :meth:`update`, or are computed exactly when ``exact`` is set so
    that lbfgs sees a deterministic objective.

    Parameters
    ----------
    coefs : list of ndarray
        The layers (for the shapes of the update buffers).
    vectors : list of (ndarray, ndarray)
        Per layer ``(u, v)``, updated in place and persisted by the estimator.
    n_power_iterations : int
    input_map : InputMap or None
        Map in front of the first layer.

    Attributes
    ----------
    sigmas : list of float
        The per-layer estimates of the last :meth:`update` (or
        :meth:`converge`): ``u^T A W v`` for the stored pair.
    """

    def __init__(self, coefs, vectors, n_power_iterations, input_map=None):
        self.vectors = vectors
        self.n_power_iterations = n_power_iterations
        self.input_map = input_map
        self._outer = [np.empty_like(W) for W in coefs]
        self.sigmas = [0.0] * len(vectors)

    def layer_map(self, layer):
        """The input map in front of ``layer`` (None past the first)."""
        return self.input_map if layer == 0 else None

    def update(self, coefs, exact=False):
        """Advance the pairs to the current weights; returns ``sigmas``."""
        for layer, (W, (u, v)) in enumerate(zip(coefs, self.vectors)):
            m = self.layer_map(layer)
            if exact:
                self.sigmas[layer] = exact_top_singular(W, u, v, m)
            else:
                self.sigmas[layer] = power_iteration(
                    W, u, v, self.n_power_iterations, m
                )
        return self.sigmas

    def refine(self, coefs, layer):
        """One power step on ``layer`` (after an update moved it); returns
        its new sigma."""
        u, v = self.vectors[layer]
        sigma = power_iteration(coefs[layer], u, v, 1, self.layer_map(layer))
        self.sigmas[layer] = sigma
        return sigma

    def converge(self, coefs):
        """Reset the tracked pairs to the exact ones of the current weights.

        Called once per epoch: within an epoch the weights move little and
        ``n_power_iterations`` steps per update track them, but when the
        penalty clusters the top singular values the tracked pair can lag
        behind a switch of the top direction for many updates, and the
        recorded loss would then drift with the estimate.
        """
        self.update(coefs, exact=True)

    def add_sigma_gradient(self, layer, G, coef):
        """``G += coef * dsigma_layer/dW``, i.e. ``coef * (A^T u) v^T``."""
        if coef == 0.0:
            return
        u, v = self.vectors[layer]
        m = self.layer_map(layer)
        left = _raw_left(u, m)
        buf = self._outer[layer]
        np.multiply(left[:, None], coef * v, out=buf)
        G += buf


class SpectralPenalty(Penalty):
    """``0.5 * alpha * sum_l sigma_max(W_l)^2 / s`` (Yoshida & Miyato, 2017).

    The gradient of ``0.5 * sigma^2`` is ``sigma * u v^T`` for the top singular
    pair ``(u, v)`` (``sigma * (A^T u) v^T`` for a first layer seen through an
    input map ``A``). The pairs and sigmas are those of a
    :class:`SpectralTracker`, which the caller updates once per objective
    evaluation before calling the penalty (the margin reads the same ones).

    In stochastic training the penalty rides in the training GEMMs instead
    (:meth:`begin` ... :meth:`descend`); otherwise the rank-one update uses
    numpy only: mixing in scipy's BLAS (``ger``) makes two OpenBLAS thread
    pools fight over the cores between GEMMs, which was measured 50x slower
    than the update itself.

    **Riding in the GEMMs.** Every training buffer gets one spare last row
    that takes part in the matrix products but not in the intercepts or the
    activations. The forward product ``Z_l = A_{l-1} W_l`` turns ``u_l^T``
    in the spare row into ``(W_l^T u_l)^T``: half a power step, whose norm
    is the estimate ``sigma_l = u_l^T W_l v_l`` (:meth:`ascend`). With
    ``u_l`` held, the gradient of that estimate is exactly ``u_l v_l^T``.
    Backpropagation's ``G_l = A_{l-1}^T delta_l`` with ``c_l u_l^T`` and
    ``v_l^T`` in the spare rows (:meth:`load`) adds ``c_l u_l v_l^T``, the
    penalty's gradient for ``c_l = scale * sigma_l``, and ``delta_{l-1} =
    delta_l W_l^T`` yields ``W_l v_l``, the rest of the power step
    (:meth:`descend`). One more row costs 0.5% of the GEMMs at batch 200,
    against three matrix-vector products and two passes over every weight
    matrix per step. The first layer seen through an input map ``A`` rides
    with ``A^T u`` in place of ``u``; a batch without a spare row (sparse
    ``X``) has its first layer done apart, and the first layer's ``W v``
    (no product yields it) is one matrix-vector product in :meth:`__call__`.

    Parameters
    ----------
    tracker : SpectralTracker
    """

    description = "the squared spectral norm of each layer"
    needs_tracker = True

    def __init__(self, tracker):
        self.tracker = tracker
        self._x_row = False
        self._riding = False

    @classmethod
    def build(cls, flat, tracker, input_map):
        """The spectral penalty of the pairs ``tracker`` holds."""
        return cls(tracker)

    @property
    def rider(self):
        """The object whose hooks :class:`~sklip._core.network.Network` calls."""
        return self

    def begin(self, coefs, X, n_rows):
        """Start a riding step on a batch of ``n_rows`` rows:
        ``n_power_iterations - 1`` full power steps, then the first layer's
        ``u`` (``A^T u``) into ``X``'s spare row, or its half step apart when
        ``X`` has none."""
        tracker = self.tracker
        if tracker.n_power_iterations > 1:
            for layer, (W, (u, v)) in enumerate(zip(coefs, tracker.vectors)):
                power_iteration(
                    W, u, v, tracker.n_power_iterations - 1, tracker.layer_map(layer)
                )
        u, v = tracker.vectors[0]
        self._x_row = X.shape[0] > n_rows
        self._riding = True
        if self._x_row:
            X[-1] = _raw_left(u, tracker.layer_map(0))
        else:
            tracker.sigmas[0] = _right_step(coefs[0], u, v, tracker.layer_map(0))

    def ascend(self, layer, row):
        """Forward hook: ``row`` holds ``(W_layer^T u_layer)^T``; it becomes
        ``v_layer`` and ``sigma_layer``, and ``u_{layer+1}^T`` takes its place."""
        tracker = self.tracker
        if layer > 0 or self._x_row:
            tracker.sigmas[layer] = _normalise(row, out=tracker.vectors[layer][1])
        if layer + 1 < len(tracker.vectors):
            row[...] = tracker.vectors[layer + 1][0]

    def load(self, X, activations, deltas, scale):
        """Before backpropagation: ``c_l u_l^T`` into each layer's input's
        spare row, ``v_L^T`` into the output delta's."""
        tracker = self.tracker
        for layer, (u, _) in enumerate(tracker.vectors):
            coef = scale * tracker.sigmas[layer]
            if layer > 0:
                np.multiply(u, coef, out=activations[layer - 1][-1])
            elif self._x_row:
                np.multiply(_raw_left(u, tracker.layer_map(0)), coef, out=X[-1])
        deltas[-1][-1] = tracker.vectors[-1][1]

    def descend(self, layer, row):
        """Backward hook: ``row`` holds ``(W_layer v_layer)^T``; it becomes
        ``u_layer``, and ``v_{layer-1}^T`` takes its place."""
        _normalise(row, out=self.tracker.vectors[layer][0])
        row[...] = self.tracker.vectors[layer - 1][1]

    def __call__(self, coefs, coef_grads, scale, exact=False):
        """Add ``scale * sigma_l u_l v_l^T`` to each layer's gradient (the
        riding ones have it already); return ``0.5 * scale * sum sigma_l^2``."""
        tracker = self.tracker
        riding, self._riding = self._riding and not exact, False
        value = 0.0
        for layer, G in enumerate(coef_grads):
            sigma = tracker.sigmas[layer]
            if not riding or (layer == 0 and not self._x_row):
                tracker.add_sigma_gradient(layer, G, scale * sigma)
            value += sigma * sigma
        if riding:
            # The first layer's power step ends here: no product yields W v.
            u, v = tracker.vectors[0]
            _left_step(coefs[0], v, u, tracker.layer_map(0))
        return 0.5 * scale * value
