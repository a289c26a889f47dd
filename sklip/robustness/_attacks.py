"""Adversarial and random perturbations of the inputs of a fitted model.

All attacks work in the *raw* input space: the network view of a Pipeline
folds its affine preprocessing into the first layer, so ``eps`` is measured in
the units of the data given to ``fit``/``predict``.
"""

import numpy as np
from sklearn.base import is_classifier

from .._validation import check_count
from ..lipschitz import as_network
from ._common import (
    check_attack,
    check_clip,
    check_eps,
    check_norm,
    check_step_size,
    check_target_length,
    check_X,
    make_rng,
)
from ._objectives import make_objective


def network_view(estimator, *, attack):
    """The :class:`~sklip._network.Network` of ``estimator`` for gradient
    attacks, or a ``TypeError`` suggesting the black-box ``attack="noise"``."""
    # sklip.lipschitz owns the one conversion from fitted objects to networks.
    try:
        return as_network(estimator)
    except TypeError as exc:
        raise TypeError(
            f"attack={attack!r} needs input gradients, but "
            f"{type(estimator).__name__} has no network view ({exc}). "
            "Use attack='noise' for a black-box perturbation."
        ) from exc


# --------------------------------------------------------------------------
# Geometry: directions, projections and random points for the L2/Linf balls.


def _row_norms(A, norm):
    if norm == np.inf:
        return np.abs(A).max(axis=1)
    return np.sqrt(np.einsum("ij,ij->i", A, A))


def _ascent_direction(g, norm):
    """Steepest-ascent unit direction for ``g`` in the given norm: sign for
    Linf, normalised gradient for L2 (zero where the gradient vanishes)."""
    if norm == np.inf:
        return np.sign(g)
    n = _row_norms(g, 2)[:, None]
    return np.divide(g, n, out=np.zeros_like(g), where=n > 0)


def _project(X, X_adv, eps, norm, clip):
    """Project ``X_adv`` (in place) onto the eps-ball around ``X``, then into
    the box ``clip``. Clipping to a box that contains ``X`` moves every
    coordinate towards ``X``, so it never leaves the ball again."""
    delta = X_adv - X
    # Only rows outside the ball are rewritten: rows inside stay bitwise
    # unchanged, so projecting a feasible point (e.g. a given start) is exact.
    outside = _row_norms(delta, norm) > eps
    if np.any(outside):
        d = delta[outside]
        if norm == np.inf:
            np.clip(d, -eps, eps, out=d)
        else:
            d *= eps / _row_norms(d, 2)[:, None]
        X_adv[outside] = X[outside] + d
    if clip is not None:
        np.clip(X_adv, clip[0], clip[1], out=X_adv)
    return X_adv


def _random_in_ball(rng, shape, eps, norm):
    """Uniform draw from the eps-ball (PGD's random start)."""
    if norm == np.inf:
        return rng.uniform(-eps, eps, size=shape)
    return _random_on_sphere(rng, shape, eps, 2) * rng.uniform(size=(shape[0], 1)) ** (
        1.0 / shape[1]
    )


def _random_on_sphere(rng, shape, eps, norm):
    """Uniform draw from the eps-sphere (the noise attack)."""
    n, d = shape
    if norm == np.inf:
        # The Linf sphere is the cube's surface: its 2d faces have equal area,
        # so pick a face uniformly, then a point uniformly on it.
        U = rng.uniform(-eps, eps, size=shape)
        U[np.arange(n), rng.integers(d, size=n)] = eps * rng.choice([-1.0, 1.0], n)
        return U
    G = rng.standard_normal(size=shape)
    nrm = _row_norms(G, 2)[:, None]
    return np.divide(G, nrm, out=np.zeros_like(G), where=nrm > 0) * eps


# --------------------------------------------------------------------------
# The attacks proper, on a network view and an objective.


class _Evaluator:
    """Forward/backward through a network with buffers allocated once."""

    def __init__(self, network, n_samples):
        self.network = network
        # float64 throughout: the attack's bookkeeping (projections, the
        # worst-point comparison) should not depend on the model's dtype.
        self.activations, self.deltas = network.allocate(n_samples, np.float64)
        self.grad = np.empty((n_samples, network.n_features_in))

    def loss(self, objective, X):
        return objective(self.network.forward(X, self.activations))

    def loss_and_grad(self, objective, X):
        F = self.network.forward(X, self.activations)
        loss = objective(F, self.deltas[-1])
        self.network.backward(X, self.activations, self.deltas, input_grad=self.grad)
        return loss, self.grad


def _fgsm_gradient(network, objective, X, evaluator):
    """Gradient for FGSM at the clean point. For a squared error against the
    model's own prediction that gradient is zero, so follow instead the input
    direction of largest first-order output change: ``J^T u`` with ``u`` the
    top left singular vector of the Jacobian ``J``."""
    if not objective.from_clean:
        return evaluator.loss_and_grad(objective, X)[1]
    J = network.jacobian(X)  # (n, n_outputs, n_features)
    if objective.link == "exp":
        J *= objective.target[:, :, None]  # Jacobian of exp(f): diag(exp f) J
    if J.shape[1] == 1:
        return J[:, 0, :]
    _, vecs = np.linalg.eigh(J @ J.transpose(0, 2, 1))
    return np.einsum("nk,nkd->nd", vecs[:, :, -1], J)


def fgsm(network, objective, X, *, eps, norm, clip):
    """One step of size ``eps`` along the ascent direction of the loss."""
    evaluator = _Evaluator(network, X.shape[0])
    g = _fgsm_gradient(network, objective, X, evaluator)
    X_adv = X + eps * _ascent_direction(g, norm)
    return _project(X, X_adv, eps, norm, clip)


def pgd(
    network,
    objective,
    X,
    *,
    eps,
    norm,
    n_iter,
    step_size,
    n_restarts,
    clip,
    rng,
    start=None,
):
    """Projected gradient ascent; the worst point over the clean point and all
    iterates of all restarts wins.

    ``start`` (private, for tests and composition) replaces the random start
    of the first restart, e.g. with the FGSM point: since every iterate,
    including the start, is a candidate, PGD then never finds less than it.
    """
    n, d = X.shape
    evaluator = _Evaluator(network, n)
    # The clean point is a candidate too (delta = 0 is in the ball): on a
    # non-convex loss every iterate of an unlucky random start can be better
    # for the model than not perturbing at all.
    best = X.copy()
    best_loss = evaluator.loss(objective, X)
    for restart in range(n_restarts):
        if restart == 0 and start is not None:
            X_adv = np.array(start, dtype=np.float64, copy=True)
        else:
            X_adv = X + _random_in_ball(rng, (n, d), eps, norm)
        _project(X, X_adv, eps, norm, clip)
        for it in range(n_iter + 1):
            if it == n_iter:
                loss = evaluator.loss(objective, X_adv)
            else:
                loss, g = evaluator.loss_and_grad(objective, X_adv)
            # Strictly greater: ties keep the earlier point, so results do not
            # depend on floating noise between equal losses.
            worse = loss > best_loss
            best[worse] = X_adv[worse]
            best_loss[worse] = loss[worse]
            if it < n_iter:
                X_adv += step_size * _ascent_direction(g, norm)
                _project(X, X_adv, eps, norm, clip)
    return best


def noise(estimator, X, y, *, eps, norm, n_restarts, clip, rng):
    """Random points on the eps-sphere (black box: only ``predict`` is used,
    and only to pick the worst of several restarts)."""

    def draw():
        return _project(
            X, X + _random_on_sphere(rng, X.shape, eps, norm), eps, norm, clip
        )

    X_adv = draw()
    if n_restarts == 1:
        return X_adv
    classifier = is_classifier(estimator)
    target = estimator.predict(X) if y is None else np.asarray(y)
    if not classifier:
        target = np.asarray(target, dtype=np.float64).reshape(X.shape[0], -1)

    def badness(P):
        if classifier:
            return (P != target).astype(np.float64)
        R = np.asarray(P, dtype=np.float64).reshape(X.shape[0], -1) - target
        return np.einsum("ij,ij->i", R, R)

    best, best_bad = X_adv, badness(estimator.predict(X_adv))
    for _ in range(n_restarts - 1):
        cand = draw()
        bad = badness(estimator.predict(cand))
        worse = bad > best_bad
        best[worse] = cand[worse]
        best_bad[worse] = bad[worse]
    return best


# --------------------------------------------------------------------------
# Public entry point.


def perturb(
    estimator,
    X,
    y=None,
    *,
    eps,
    attack="pgd",
    norm=2,
    n_iter=20,
    step_size=None,
    n_restarts=1,
    clip=None,
    random_state=None,
    _start=None,
):
    """Perturb inputs within an ``eps``-ball to change a model's output.

    Parameters
    ----------
    estimator : fitted estimator
        A classifier or regressor. Gradient attacks (``"fgsm"``, ``"pgd"``)
        need a network view (:func:`sklip.lipschitz.as_network`): sklip and
        scikit-learn MLPs, linear models and Pipelines of affine
        preprocessing ending in one. ``"noise"`` works for any estimator.
    X : array-like of shape (n_samples, n_features)
        Clean inputs, in the raw units given to ``predict``. Never modified.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Labels (classifiers, values in ``estimator.classes_``) or targets
        (regressors) to attack. ``None`` attacks the model's own predictions.
    eps : float
        Radius of the perturbation ball, ``>= 0``, in raw input units.
    attack : {"pgd", "fgsm", "noise"}, default="pgd"
        ``"noise"``: a uniformly random point on the eps-sphere.
        ``"fgsm"``: one step of length ``eps`` along the signed (Linf) or
        normalised (L2) input gradient of the loss (Goodfellow et al., 2015).
        ``"pgd"``: projected gradient ascent from a random start in the ball
        (Madry et al., 2018), keeping per sample the worst point over all
        iterates and restarts (and the clean point itself, so PGD never
        returns a point better for the model than ``X``).
    norm : {2, np.inf}, default=2
        Norm of the perturbation ball.
    n_iter : int, default=20
        PGD steps per restart.
    step_size : float, default=None
        PGD step length; ``None`` means ``2.5 * eps / n_iter`` (Madry et al.).
    n_restarts : int, default=1
        Independent starts (PGD) or random draws (noise); the worst is kept.
    clip : tuple (low, high), default=None
        Bounds (scalars or arrays of shape (n_features,)) the perturbed points
        must respect, e.g. ``(0, 16)`` for pixel intensities. ``X`` must lie
        within them.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the random starts and noise. An int gives identical draws on
        every call.

    Returns
    -------
    X_adv : ndarray of shape (n_samples, n_features), dtype float64
        Perturbed inputs with ``||X_adv[i] - X[i]|| <= eps`` in ``norm``.

    Notes
    -----
    The loss is the margin ``max_{i != y} f_i(x) - f_y(x)`` of the raw logits
    for multiclass models, the signed logit for binary single-logit models
    (positive once the label flips), and the squared error against ``y`` (or
    the clean prediction) for regressors. FGSM against the clean prediction of
    a regressor, whose gradient vanishes there, steps along the direction of
    largest first-order output change instead.

    References
    ----------
    .. [1] I. Goodfellow, J. Shlens, C. Szegedy. "Explaining and Harnessing
       Adversarial Examples". ICLR 2015.
    .. [2] A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. "Towards
       Deep Learning Models Resistant to Adversarial Attacks". ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import perturb
    >>> X = np.array([[-2.0, 0.0], [-1.0, 0.5], [1.0, -0.5], [2.0, 0.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> X_adv = perturb(clf, X, eps=0.5, attack="pgd", random_state=0)
    >>> bool(np.all(np.linalg.norm(X_adv - X, axis=1) <= 0.5 + 1e-12))
    True
    """
    eps = check_eps(eps)
    attack = check_attack(attack)
    norm = check_norm(norm)
    n_iter = check_count(n_iter, "n_iter")
    n_restarts = check_count(n_restarts, "n_restarts")
    step_size = check_step_size(step_size)
    X = check_X(estimator, X)
    if y is not None:
        y = check_target_length(y, X)
    clip = check_clip(clip, X)
    rng = make_rng(random_state)

    if attack == "noise":
        if eps == 0:
            return X
        return noise(
            estimator,
            X,
            y,
            eps=eps,
            norm=norm,
            n_restarts=n_restarts,
            clip=clip,
            rng=rng,
        )
    network = network_view(estimator, attack=attack)
    if network.n_features_in != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features; the model expects {network.n_features_in}."
        )
    objective = make_objective(estimator, network, X, y)
    if eps == 0:
        return X
    if _start is not None and np.shape(_start) != X.shape:
        raise ValueError(f"_start must have shape {X.shape}; got {np.shape(_start)}.")
    if attack == "fgsm":
        return fgsm(network, objective, X, eps=eps, norm=norm, clip=clip)
    if step_size is None:
        step_size = 2.5 * eps / n_iter
    return pgd(
        network,
        objective,
        X,
        eps=eps,
        norm=norm,
        n_iter=n_iter,
        step_size=step_size,
        n_restarts=n_restarts,
        clip=clip,
        rng=rng,
        start=_start,
    )
