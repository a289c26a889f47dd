"""Certified training: the Lipschitz margin and the Lipschitz budget.

Both read the Lipschitz bound of the network *as the certificates see it*:
the map from the raw inputs (through the estimator's ``input_map_``) to the
raw outputs, bounded by the spectral product

    L_hat = c^(m-1) * prod_l sigma_l

with ``sigma_l`` the tracked top singular values of a
:class:`~sklip.neural_network._penalties.SpectralTracker` (the first one of
``A W_1`` under an input map) and ``c`` the activation's Lipschitz constant
(1 for relu, tanh and identity, 1/4 for logistic). The gradient of ``L_hat``
goes through ``dsigma_l/dW_l = u_l v_l^T``, as for the spectral penalty.

Lipschitz margin (Tsuzuku, Sato & Sugiyama, 2018). A logit ``f_y`` beats
``f_i`` on the whole ball ``||delta|| <= eps`` when
``f_y - f_i > eps * Lip(f_y - f_i)``, and ``Lip(f_y - f_i) <= sqrt(2) L``.
Training on logits where every non-target one is raised by
``sqrt(2) * eps * L_hat`` therefore asks the cross-entropy for exactly the
margin that certifies the sample, and the gradient through ``L_hat`` trades
margin against smoothness. Two forms:

- ``"global"``: the shift ``sqrt(2) eps L_hat`` above (``eps L_hat`` for a
  single logistic output, whose certified radius is ``|z| / L``);
- ``"pairwise"`` (GloRo, Leino, Wang & Fredrikson, 2021): per-pair constants
  ``K_yi = c^(m-1) prod_{l<m} sigma_l ||w_y - w_i||`` (the spectral form of
  :func:`sklip.lipschitz.pairwise_lipschitz_bounds`) and one extra "bottom"
  logit ``max_{i != y} (f_i + eps K_yi)`` that the target must beat.

For a regressor, the analogue bounds the worst loss on the ball: each output
moves by at most ``eps * L_hat``, and for a loss convex in the raw output the
worst value on that interval sits at an end, so training uses the output
shifted by ``+-eps * L_hat`` towards the larger loss.

Lipschitz budget. Each layer gets the equal share
``tau = (max_lipschitz / c^(m-1)) ** (1/m)`` of the budget and its weights are
``W = V min(1, tau / sigma(V))``: the optimiser steps in ``V`` with the
gradient chained through the rescaling (lbfgs with exact norms, the
stochastic solvers with the tracked ones), so the weights the network uses
stay within the budget up to the tracking error. Rescaling the weights
themselves after each step (a plain projected step) shrinks every direction
of a layer, not only the top one, pushing it towards rank one; measured, it
learns much worse (0.65 instead of 0.90 test accuracy on digits at
``max_lipschitz=1``). For relu
networks the equal split costs no expressiveness (a positive rescaling of
one layer and its bias can be undone by the next layer). At the end of
training :meth:`LipschitzBudget.enforce` uses exact norms and checks the
result with :func:`sklip.lipschitz.lipschitz_bound` itself.
"""

import numpy as np

from .._activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, logsumexp_rows
from .._core.certified_norms import certified_bound
from .._core.network import Network
from .._validation import show
from ._losses import LOSSES, _average

MARGIN_KINDS = ("pairwise", "global")

# The output links whose worst case on the ball the margin knows.
MARGIN_LINKS = ("softmax", "logistic", "identity", "exp")


def _unknown_link(out_activation):
    """The error for an output link the Lipschitz margin does not know."""
    return ValueError(
        f"lipschitz_margin does not know the output link {out_activation!r}: "
        f"the worst case of the loss on the ball is defined for "
        f"{list(MARGIN_LINKS)} only."
    )


def _activation_constant(activation):
    return float(HIDDEN_ACTIVATIONS[activation].lipschitz)


def _product_except(values, skip):
    """``prod_{j != skip} values[j]`` (exact even when ``values[skip]`` is 0)."""
    out = 1.0
    for j, value in enumerate(values):
        if j != skip:
            out *= value
    return out


def lipschitz_estimate(sigmas, c):
    """``c^(m-1) prod sigmas``: the spectral bound from tracked sigmas."""
    return c ** (len(sigmas) - 1) * float(np.prod(sigmas))


def add_product_gradient(tracker, coef_grads, g, c, layers):
    """``coef_grads += g * d(c^(m-1) prod_{l in layers} sigma_l) / dW``."""
    sigmas = [tracker.sigmas[j] for j in layers]
    scale = g * c ** (len(tracker.sigmas) - 1)
    for k, layer in enumerate(layers):
        tracker.add_sigma_gradient(
            layer, coef_grads[layer], scale * _product_except(sigmas, k)
        )


class LipschitzMargin:
    """Loss on logits shifted by the certified margin at radius ``eps``.

    Parameters
    ----------
    eps : float
        The radius (raw input units) to certify during training.
    kind : {"pairwise", "global"}
        Per-pair constants with a bottom logit (GloRo) or the global
        ``sqrt(2) L_hat`` (Tsuzuku et al.); only multiclass (softmax) outputs
        have pairs, the others always use the global form.
    out_activation : str
        The output link (its canonical loss is the training loss).
    activation : str
        Hidden activation (for its Lipschitz constant).
    input_map : InputMap or None
        The map in front of the first layer (for a network without hidden
        layers, whose last layer is the first).
    """

    def __init__(self, eps, kind, out_activation, activation, input_map=None):
        if out_activation not in MARGIN_LINKS:
            raise _unknown_link(out_activation)
        self.eps = float(eps)
        self.out_activation = out_activation
        self.kind = kind if out_activation == "softmax" else "global"
        self.c = _activation_constant(activation)
        self.input_map = input_map
        self._pending = None

    # -- the data loss ------------------------------------------------
    def loss_and_delta(self, Z, Y, sw, s, P, delta, coefs, tracker):
        """Loss on the shifted logits; ``delta`` receives dloss/dZ.

        ``Z`` are the raw outputs, ``P`` a buffer of their shape, ``s`` the
        sample-weight sum. The gradient with respect to the weights through
        the Lipschitz constants is kept for :meth:`add_weight_gradients`.
        """
        if self.kind == "pairwise":
            return self._pairwise(Z, Y, sw, s, delta, coefs, tracker)
        L = lipschitz_estimate(tracker.sigmas, self.c)
        self._check_shift(L, Z.dtype)
        H = self._shift_pattern(Z, Y, self.eps * L)
        np.multiply(H, self.eps * L, out=P)
        P += Z
        loss = self._link_loss(Y, P, sw)
        np.subtract(P, Y, out=delta)
        if sw is not None:
            delta *= sw[:, None]
        delta *= 1.0 / s
        gL = self.eps * float(np.vdot(delta, H))
        self._pending = ("global", gL)
        return loss

    def _check_shift(self, L, dtype):
        """Refuse a margin whose output shift ``eps * L`` leaves the range in
        which ``dtype`` training stays finite: the squared error squares it
        and lbfgs's curvature pairs square the gradient again, so its fourth
        power must be representable."""
        limit = float(np.finfo(dtype).max ** 0.25)
        shift = self.eps * L
        if not shift <= limit:
            raise ValueError(
                f"lipschitz_margin={show(self.eps)} is too large for "
                f"{np.dtype(dtype).name} training: it shifts the outputs by "
                f"lipschitz_margin * L = {shift:.3g} (L = {L:.3g}, the "
                f"network's Lipschitz bound now), beyond {limit:.3g}, the "
                "largest shift whose fourth power the dtype holds. Use a margin on "
                "the scale of the distances in the data (a radius in raw input "
                "units)."
            )

    def _link_loss(self, Y, Z, sw):
        """Loss of the raw outputs ``Z``, which become the link's output.

        Cross-entropies are computed from the logits (log-sum-exp), not from
        clipped probabilities: shifted logits of an uncertified sample put
        the target probability below the clip, where the clipped loss is flat
        and the stopping rule would read no progress while the gradient
        (``P - Y``, exact either way) still trains.
        """
        out = self.out_activation
        if out == "softmax":
            lse = logsumexp_rows(Z)
            values = -(Y * (Z - lse))
        elif out == "logistic":
            values = np.logaddexp(0.0, Z) - Y * Z
        else:
            values = None
        OUTPUT_ACTIVATIONS[out](Z)
        if values is None:
            return LOSSES[out](Y, Z, sw)
        return _average(values, sw)

    def _shift_pattern(self, Z, Y, radius):
        """Direction of the worst case of each raw output, per unit of
        ``eps * L_hat``."""
        out = self.out_activation
        if out == "softmax":
            return np.sqrt(2.0) * (1.0 - Y)
        if out == "logistic":
            return 1.0 - 2.0 * Y
        if out == "identity":
            return np.where(Z >= Y, 1.0, -1.0).astype(Z.dtype)
        if out == "exp":
            # Poisson with log link: loss(z + a) - loss(z - a) =
            # 2 (exp(z) sinh(a) - y a); the larger end is the worst case.
            up = np.exp(Z) * np.sinh(radius) >= Y * radius
            return np.where(up, 1.0, -1.0).astype(Z.dtype)
        raise _unknown_link(out)

    def _pairwise(self, Z, Y, sw, s, delta, coefs, tracker):
        """GloRo's loss: the logits plus the bottom logit
        ``max_{i != y} (f_i + eps K_yi)``; ``delta`` receives dloss/dZ (the
        bottom logit's share added to its rival's column)."""
        n, k = Z.shape
        m = len(coefs)
        W = coefs[-1]
        if m == 1 and self.input_map is not None:
            W = self.input_map.matmul(W)
        head = self.c ** (m - 1) * float(np.prod(tracker.sigmas[:-1]))
        diff = W[:, :, None] - W[:, None, :]
        N = np.sqrt(np.einsum("hab,hab->ab", diff, diff))
        self._check_shift(head * float(N.max(initial=0.0)), Z.dtype)
        y = Y.argmax(axis=1)
        # Bottom logit: the strongest competitor once raised by eps K_yi.
        cand = Z + (self.eps * head) * N[y]
        cand[np.arange(n), y] = -np.inf
        rival = cand.argmax(axis=1)
        Za = np.empty((n, k + 1), dtype=Z.dtype)
        Za[:, :k] = Z
        Za[:, k] = cand[np.arange(n), rival]
        Ya = np.zeros_like(Za)
        Ya[:, :k] = Y
        loss = self._link_loss(Ya, Za, sw)
        Da = Za - Ya
        if sw is not None:
            Da *= sw[:, None]
        Da *= 1.0 / s
        delta[...] = Da[:, :k]
        bottom = Da[:, k]
        np.add.at(delta, (np.arange(n), rival), bottom)
        GK = np.zeros((k, k))
        np.add.at(GK, (y, rival), self.eps * bottom)
        self._pending = ("pairwise", GK, N, head)
        return loss

    # -- gradients through the Lipschitz constants ----------------------
    def add_weight_gradients(self, coefs, coef_grads, tracker):
        """Add the gradient of the last loss through the Lipschitz constants."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        m = len(coef_grads)
        if pending[0] == "global":
            add_product_gradient(tracker, coef_grads, pending[1], self.c, range(m))
            return
        _, GK, N, head = pending
        gH = float(np.sum(GK * N))
        if m > 1:
            # d(head)/dW_l for the layers before the last.
            add_product_gradient(tracker, coef_grads, gH, self.c, range(m - 1))
        # d||w_a - w_b|| / dw_a = (w_a - w_b) / ||w_a - w_b||.
        S = GK + GK.T
        with np.errstate(divide="ignore", invalid="ignore"):
            R = np.where(N > 0, S / N, 0.0)
        W = coefs[-1]
        if m == 1 and self.input_map is not None:
            Wm = self.input_map.matmul(W)
            G = head * (Wm * R.sum(axis=0) - Wm @ R)
            coef_grads[-1] += self.input_map.rmatmul(G).astype(W.dtype)
        else:
            coef_grads[-1] += (head * (W * R.sum(axis=0) - W @ R)).astype(W.dtype)


def _smallest_share(dtype):
    """Smallest per-layer norm ``tau``: the power iteration squares it
    (``||W v||^2``), which must stay a normal number."""
    return float(np.sqrt(np.finfo(dtype).tiny))


def smallest_budget(activation, n_layers, dtype):
    """Smallest ``max_lipschitz`` that ``n_layers`` layers of ``dtype``
    weights can hold: ``c^(m-1) tau_min^m`` (0 when it underflows)."""
    c = _activation_constant(activation)
    log = n_layers * np.log(_smallest_share(dtype)) + (n_layers - 1) * np.log(c)
    return float(np.exp(log))


class LipschitzBudget:
    """Keep ``c^(m-1) prod_l ||W_l||_2 <= max_lipschitz`` (raw-input map).

    Parameters
    ----------
    max_lipschitz : float
    activation : str
    n_layers : int
        Number of weight matrices ``m``.
    input_map : InputMap or None

    Raises
    ------
    ValueError
        On the first projection, if ``max_lipschitz`` is so small that a
        layer's share of it cannot be represented in the weights' dtype (see
        :func:`smallest_budget`).
    """

    def __init__(self, max_lipschitz, activation, n_layers, input_map=None):
        self.max_lipschitz = float(max_lipschitz)
        self.activation = activation
        self.c = _activation_constant(activation)
        self.m = n_layers
        self.input_map = input_map
        # Equal split of the budget over the layers, in logs: the ratio
        # itself under- or overflows for extreme budgets and deep networks.
        log_tau = (
            np.log(self.max_lipschitz) - (n_layers - 1) * np.log(self.c)
        ) / n_layers
        self.tau = float(np.exp(log_tau))
        self._log_tau = log_tau
        self._scales = None

    def _check_share(self, dtype):
        """Refuse a share ``tau`` that ``dtype`` weights cannot resolve
        (underflow, then 0/0 in the chained gradient)."""
        low = _smallest_share(dtype)
        if not self._log_tau >= np.log(low):
            least = smallest_budget(self.activation, self.m, dtype)
            raise ValueError(
                f"max_lipschitz={show(self.max_lipschitz)} is too small for "
                f"{np.dtype(dtype).name} weights: each of the {self.m} layers "
                f"would get the norm {self.tau:.3g}, below {low:.3g}, the "
                "smallest whose power iteration the dtype resolves. Use "
                f"max_lipschitz >= {least:.3g} for this network, or float64 data."
            )

    def project(self, coefs, tracker):
        """Map the optimiser's ``V`` (in ``coefs``) to ``W = s V`` in place,
        with ``s = min(1, tau / sigma(V))`` from one refining power step."""
        self._check_share(coefs[0].dtype)
        self._scales = []
        for layer, W in enumerate(coefs):
            sigma = tracker.refine(coefs, layer)
            self._rescale(W, sigma, tracker, layer)

    def reparametrise(self, coefs, tracker):
        """As :meth:`project`, with exact norms (lbfgs)."""
        self._check_share(coefs[0].dtype)
        self._scales = []
        # Each layer's norm is its own: all of them first, then the rescaling.
        sigmas = list(tracker.update(coefs, exact=True))
        for layer, (W, sigma) in enumerate(zip(coefs, sigmas)):
            self._rescale(W, sigma, tracker, layer)

    def _rescale(self, W, sigma, tracker, layer):
        scale = self.tau / sigma if sigma > self.tau else 1.0
        if scale < 1.0:
            W *= scale
        tracker.sigmas[layer] = sigma * scale
        self._scales.append(scale)

    def unscale(self, coefs):
        """Back from the weights ``W`` to the optimiser's ``V = W / s``."""
        for W, scale in zip(coefs, self._scales):
            if scale < 1.0:
                W *= 1.0 / scale

    def chain_gradient(self, coefs, coef_grads, tracker):
        """Turn ``dloss/dW`` into ``dloss/dV`` for ``W = s V``.

        Where ``s = tau / sigma(V) < 1``:
        ``dloss/dV = s g - (<g, W> / sigma(V)) dsigma/dV``, with the top pair
        of ``V`` (the same as that of ``W``) and ``sigma(V) = sigma(W) / s``
        from the tracker, which has just been updated on ``W``.
        """
        for layer, (W, G) in enumerate(zip(coefs, coef_grads)):
            scale = self._scales[layer]
            if scale < 1.0:
                sigma_v = tracker.sigmas[layer] / scale
                gw = float(np.vdot(G, W))
                G *= scale
                tracker.add_sigma_gradient(layer, G, -gw / sigma_v)

    # -- the exact final check -----------------------------------------
    def enforce(self, coefs, tracker=None):
        """Make ``lipschitz_bound(..., method="spectral") <= max_lipschitz``.

        Each layer is brought under its share with exact norms (less a
        relative slack covering rounding in the weights' dtype), then the
        certified bound of the raw-input network, computed by
        :func:`sklip.lipschitz.lipschitz_bound` itself, is checked; in the
        unlikely case that rounding still exceeds the budget, all layers are
        shrunk a little more.
        """
        dtype = coefs[0].dtype
        slack = 64 * float(np.finfo(dtype).eps)
        target = self.tau * (1.0 - slack)
        for layer, W in enumerate(coefs):
            m = self.input_map if layer == 0 else None
            M = W if m is None else m.matmul(W.astype(np.float64))
            sigma = float(np.linalg.norm(np.asarray(M, dtype=np.float64), 2))
            if sigma > target:
                W *= target / sigma
        for _ in range(10):
            bound = certified_bound(self._raw_network(coefs), "spectral")
            if bound <= self.max_lipschitz:
                break
            shrink = (self.max_lipschitz / bound) ** (1.0 / self.m) * (1.0 - slack)
            for W in coefs:
                W *= shrink
        else:  # pragma: no cover - rounding cannot need ten rounds
            raise RuntimeError("Could not enforce max_lipschitz.")
        if tracker is not None:
            tracker.converge(coefs)

    def _raw_network(self, coefs):
        coefs = [np.asarray(W, dtype=np.float64) for W in coefs]
        if self.input_map is not None:
            coefs[0] = self.input_map.matmul(coefs[0])
        intercepts = [np.zeros(W.shape[1]) for W in coefs]
        return Network(coefs, intercepts, self.activation)
