"""The numeric core: a chain of affine layers and elementwise activations.

A :class:`Network` computes ``f(x) = W_m^T phi(... phi(W_1^T x + b_1) ...) + b_m``
(row-vector convention ``x @ W + b`` as in scikit-learn's ``coefs_``), i.e. the
*raw* outputs: logits for classifiers, the linear predictor for regressors.
The output link (softmax, logistic, exp) is not part of the chain; it is
applied by the consumer that needs probabilities or predictions.

The same object serves training (the estimators hold their parameters as views
of one flat vector and pass preallocated buffers), Lipschitz bounds (they read
``coefs`` and the activation record) and attacks (input gradients through
:meth:`Network.input_gradient`), so a bound or an attack can never disagree
with the network that was trained.
"""

import numpy as np

from .._activations import HIDDEN_ACTIVATIONS


def _dot_into(A, W, out):
    """``out[...] = A @ W`` without allocating when ``A`` is an ndarray."""
    # An exact type test: scipy's issparse costs ~1.5 us, paid per layer
    # and mini-batch; hidden activations are always plain ndarrays.
    if type(A) is np.ndarray:
        np.dot(A, W, out=out)
    else:
        out[...] = A @ W
    return out


class Network:
    """A feed-forward chain of affine layers with one hidden activation.

    Parameters
    ----------
    coefs : list of ndarray of shape (n_in_l, n_out_l)
        Weight matrices, applied as ``A @ W``.
    intercepts : list of ndarray of shape (n_out_l,)
        Bias vectors.
    activation : {"identity", "relu", "tanh", "logistic"}, default="relu"
        Elementwise activation between affine layers (not after the last).

    Examples
    --------
    >>> import numpy as np
    >>> from sklip._core.network import Network
    >>> net = Network([np.eye(2), np.ones((2, 1))], [np.zeros(2), np.zeros(1)])
    >>> net.forward(np.array([[1.0, -2.0]]))
    array([[1.]])
    """

    def __init__(self, coefs, intercepts, activation="relu"):
        if len(coefs) != len(intercepts) or len(coefs) == 0:
            raise ValueError(
                "coefs and intercepts must be non-empty lists of equal length; "
                f"got {len(coefs)} and {len(intercepts)}."
            )
        if activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(HIDDEN_ACTIVATIONS)}; "
                f"got {activation!r}."
            )
        self.coefs = list(coefs)
        self.intercepts = list(intercepts)
        self.activation = activation

    @property
    def act(self):
        """The :class:`~sklip._activations.Activation` record."""
        return HIDDEN_ACTIVATIONS[self.activation]

    @property
    def n_layers(self):
        """Number of affine layers."""
        return len(self.coefs)

    @property
    def layer_units(self):
        """Widths ``[n_features, hidden..., n_outputs]``."""
        return [self.coefs[0].shape[0]] + [W.shape[1] for W in self.coefs]

    @property
    def n_features_in(self):
        """Input dimension."""
        return self.coefs[0].shape[0]

    @property
    def n_outputs(self):
        """Output dimension."""
        return self.coefs[-1].shape[1]

    @property
    def dtype(self):
        """Floating dtype of the parameters."""
        return self.coefs[0].dtype

    def allocate(self, n_samples, dtype=None):
        """Allocate activation and delta buffers for ``n_samples`` rows.

        Returns
        -------
        activations : list of ndarray
            ``activations[l]`` has shape ``(n_samples, layer_units[l + 1])``.
        deltas : list of ndarray
            Same shapes, for backpropagated gradients.
        """
        dtype = self.dtype if dtype is None else dtype
        units = self.layer_units[1:]
        activations = [np.empty((n_samples, u), dtype=dtype) for u in units]
        deltas = [np.empty((n_samples, u), dtype=dtype) for u in units]
        return activations, deltas

    def forward(self, X, activations=None, rider=None):
        """Raw outputs of the network.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input.
        activations : list of ndarray, default=None
            Buffers from :meth:`allocate` (sliced to ``n_samples`` rows). When
            given, hidden activations are kept there for :meth:`backward`.
        rider : object, default=None
            Extra work carried by one spare last row of ``activations`` (and
            of ``X`` when it has one): the row takes part in the matrix
            products but not in the intercepts or activations, and
            ``rider.ascend(layer, row)`` is called with the spare row of
            ``activations[layer]`` right after its product (see
            :class:`sklip.neural_network._penalties.SpectralPenalty`).

        Returns
        -------
        output : ndarray of shape (n_samples, n_outputs)
            Raw outputs; when ``activations`` is given this is
            ``activations[-1]`` (without a rider's row).
        """
        if activations is None:
            activations = [None] * self.n_layers
        data = slice(None, -1) if rider is not None else slice(None)
        phi = self.act.forward
        A = X
        last = self.n_layers - 1
        for layer, (W, b) in enumerate(zip(self.coefs, self.intercepts)):
            Z = activations[layer]
            if Z is None:
                Z = np.asarray(A @ W)
                activations[layer] = Z
            elif A.shape[0] == Z.shape[0]:
                _dot_into(A, W, Z)
            else:  # an input without the rider's row
                _dot_into(A, W, Z[data])
            if rider is not None:
                rider.ascend(layer, Z[-1])
            out = Z[data]
            out += b
            if layer < last:
                phi(out)
            A = Z
        return A[data]

    def backward(
        self,
        X,
        activations,
        deltas,
        coef_grads=None,
        intercept_grads=None,
        input_grad=None,
        rider=None,
    ):
        """Backpropagate ``deltas[-1]``, the gradient w.r.t. the raw outputs.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The input given to :meth:`forward`.
        activations : list of ndarray
            As filled by :meth:`forward`. The hidden ones
            (``activations[:-1]``) are overwritten with the activation slopes
            once read; the raw outputs ``activations[-1]`` are kept.
        deltas : list of ndarray
            Buffers; ``deltas[-1]`` must hold the output gradient on entry.
            The others are overwritten.
        coef_grads, intercept_grads : list of ndarray, default=None
            When given, overwritten with the parameter gradients
            ``A_{l-1}^T delta_l`` and ``sum_rows(delta_l)``.
        input_grad : ndarray of shape (n_samples, n_features), default=None
            When given, overwritten with the gradient w.r.t. ``X`` (the
            vector-Jacobian product).
        rider : object, default=None
            Extra work carried by one spare last row of ``activations``,
            ``deltas`` and (when it has one) ``X``: the row takes part in the
            matrix products but not in the intercepts or activation slopes,
            and ``rider.descend(layer, row)`` is called with the row of
            ``deltas[layer - 1]`` right after it is computed (see
            :class:`sklip.neural_network._penalties.SpectralPenalty`).

        Returns
        -------
        input_grad : ndarray or None
        """
        derivative = self.act.derivative
        # A rider's row is the last of every buffer: it takes part in the
        # products, not in the intercepts or the activation slopes.
        data = slice(None, -1) if rider is not None else slice(None)
        for layer in range(self.n_layers - 1, -1, -1):
            delta = deltas[layer]
            if coef_grads is not None:
                A_prev = X if layer == 0 else activations[layer - 1]
                # A batch without the spare row (sparse) meets the rows it has.
                d = delta if A_prev.shape[0] == delta.shape[0] else delta[data]
                if type(A_prev) is np.ndarray:
                    np.dot(A_prev.T, d, out=coef_grads[layer])
                else:  # sparse X
                    coef_grads[layer][...] = A_prev.T @ d
                # A GEMV with a ones vector sums the rows 2-4x faster than
                # np.sum(axis=0) at mini-batch sizes (measured, OpenBLAS).
                rows = delta[data]
                np.dot(self._ones(rows), rows, out=intercept_grads[layer])
            W = self.coefs[layer]
            if layer > 0:
                below = deltas[layer - 1]
                np.dot(delta, W.T, out=below)
                if rider is not None:
                    rider.descend(layer, below[-1])
                derivative(activations[layer - 1][data], below[data])
            elif input_grad is not None:
                np.dot(delta, W.T, out=input_grad)
        return input_grad

    def _ones(self, like):
        """A cached ones vector matching ``like``'s rows and dtype."""
        n, dtype = like.shape[0], like.dtype
        ones = getattr(self, "_ones_cache", None)
        if ones is None or ones.size < n or ones.dtype != dtype:
            ones = self._ones_cache = np.ones(n, dtype=dtype)
        return ones[:n]

    def input_gradient(self, X, grad_output):
        """Vector-Jacobian product ``grad_output @ J(x)`` for every row.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Points at which the Jacobian is taken.
        grad_output : ndarray of shape (n_samples, n_outputs)
            Cotangent per row.

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
        """
        X = np.asarray(X, dtype=self.dtype)
        activations, deltas = self.allocate(X.shape[0])
        self.forward(X, activations)
        deltas[-1][...] = grad_output
        grad = np.empty_like(X)
        return self.backward(X, activations, deltas, input_grad=grad)

    def jacobian(self, X):
        """Input-output Jacobians of the raw outputs.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        J : ndarray of shape (n_samples, n_outputs, n_features)
        """
        X = np.asarray(X, dtype=self.dtype)
        n = X.shape[0]
        activations, _ = self.allocate(n)
        self.forward(X, activations)
        # Propagate the identity through the chain, one output at a time,
        # batched over samples: J_l = J_{l+1} diag(phi') W_l^T.
        J = np.broadcast_to(
            np.eye(self.n_outputs, dtype=self.dtype),
            (n,) + (self.n_outputs, self.n_outputs),
        ).copy()
        k = self.n_outputs
        for layer in range(self.n_layers - 1, -1, -1):
            W = self.coefs[layer]
            # One (n * k, units) GEMM: a stacked (n, k, units) @ W.T matmul
            # runs one small product per sample and is ~6x slower.
            J = (J.reshape(n * k, -1) @ W.T).reshape(n, k, W.shape[0])
            if layer > 0:
                A = activations[layer - 1]
                slope = np.ones_like(A)
                self.act.derivative(A, slope)
                J *= slope[:, None, :]
        return J
