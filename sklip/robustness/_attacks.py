"""Adversarial and random perturbations of the inputs of a fitted model.

All attacks work in the *raw* input space: the network view of a Pipeline
folds its affine preprocessing into the first layer, so ``eps`` is measured in
the units of the data given to ``fit``/``predict``.
"""

import numpy as np
from sklearn.base import is_classifier

from .._validation import check_count
from ._common import (
    Inputs,
    check_attack,
    check_eps,
    check_labels,
    check_norm,
    check_step_size,
    check_target_length,
    check_targets,
    make_rng,
    scaled_row_norms,
)
from ._objectives import make_objective


def attack_inputs(estimator, X, features, *, attack):
    """:class:`Inputs` for ``attack``; for gradient attacks a ``TypeError``
    suggesting the black-box ``attack="noise"`` when there is no network view."""
    if attack == "noise":
        return Inputs(estimator, X, features, gradients=False)
    try:
        return Inputs(estimator, X, features, gradients=True)
    except TypeError as exc:
        raise TypeError(
            f"attack={attack!r} needs input gradients, but "
            f"{type(estimator).__name__} has no network view ({exc}). "
            "Use attack='noise' for a black-box perturbation."
        ) from exc


# --------------------------------------------------------------------------
# Geometry: directions, projections and random points for the L2/Linf balls.


def _row_norms(A, norm):
    # Scaled before squaring: the L2 norm of a huge perturbation overflows.
    return scaled_row_norms(A, norm)


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


def fgsm(network, objective, X, *, eps, norm, clip, mask=None):
    """One step of size ``eps`` along the ascent direction of the loss.
    ``mask`` (bool over the columns of ``X``): only those move."""
    evaluator = _Evaluator(network, X.shape[0])
    g = _fgsm_gradient(network, objective, X, evaluator)
    if mask is not None:
        g[:, ~mask] = 0.0
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
    mask=None,
):
    """Projected gradient ascent; the worst point over the clean point and all
    iterates of all restarts wins. ``mask`` (bool over the columns of ``X``):
    only those move (random starts and steps are zero elsewhere).

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
        elif mask is None:
            X_adv = X + _random_in_ball(rng, (n, d), eps, norm)
        else:
            X_adv = X.copy()
            X_adv[:, mask] += _random_in_ball(rng, (n, int(mask.sum())), eps, norm)
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
                if mask is not None:
                    g[:, ~mask] = 0.0
                X_adv += step_size * _ascent_direction(g, norm)
                _project(X, X_adv, eps, norm, clip)
    return best


def noise(
    estimator,
    X,
    y,
    *,
    eps,
    norm,
    n_restarts,
    clip,
    rng,
    predict=None,
    clean_prediction=None,
):
    """Random points on the eps-sphere (black box: only ``predict`` is used,
    and only to pick the worst of several restarts). ``predict`` maps points
    like ``X`` to predictions (default ``estimator.predict``), e.g. through
    the columns held fixed around them; ``clean_prediction`` is its value at
    ``X`` when already known."""
    predict = estimator.predict if predict is None else predict

    def draw():
        return _project(
            X, X + _random_on_sphere(rng, X.shape, eps, norm), eps, norm, clip
        )

    X_adv = draw()
    if n_restarts == 1:
        return X_adv
    classifier = is_classifier(estimator)
    if y is not None:
        target = np.asarray(y)
    else:
        target = predict(X) if clean_prediction is None else clean_prediction
    n = X.shape[0]
    if not classifier:
        target = np.asarray(target, dtype=np.float64).reshape(n, -1)

    def badness(P):
        if classifier:
            # Multilabel predictions are rows: any wrong label is wrong.
            return (np.asarray(P).reshape(n, -1) != target.reshape(n, -1)).any(1)
        return scaled_row_norms(np.asarray(P, dtype=np.float64).reshape(n, -1) - target)

    best, best_bad = X_adv, badness(predict(X_adv))
    for _ in range(n_restarts - 1):
        cand = draw()
        bad = badness(predict(cand))
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
    features=None,
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
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Clean inputs, in the raw units given to ``predict``. Never modified.
        Handed to the model in the type and column order given (a DataFrame
        keeps its columns). A sparse matrix is densified (an error beyond
        256 MiB).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Labels (classifiers, values in ``estimator.classes_``) or finite
        targets (regressors) to attack. ``None`` attacks the model's own
        predictions (as ``predict`` returns them, ties included).
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
        within them (in the perturbed columns). Use ``-np.inf``/``np.inf``
        for a missing bound.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the random starts and noise. An int gives identical draws on
        every call.
    features : str, int, array-like of str, int or bool, default=None
        Columns to perturb: names (of a DataFrame ``X`` or the model's
        ``feature_names_in_``), integer indices or a boolean mask. The other
        columns never change and ``eps`` is a radius over these columns only.
        None: every column except categorical ones (non-numeric columns and
        the inputs of encoders, which are held fixed). Naming a non-numeric
        or encoded column is an error.

    Returns
    -------
    X_adv : ndarray, DataFrame or sparse matrix of shape (n_samples, n_features)
        Perturbed inputs with ``||X_adv[i] - X[i]|| <= eps`` in ``norm``, of
        the type of ``X`` (float64 in the perturbed columns; an ndarray of
        ints becomes float64).

    Raises
    ------
    ValueError
        For invalid parameters, a non-finite target, or an ``eps`` so large
        that the model's outputs overflow at the perturbed points.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.

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
    rng = make_rng(random_state)
    inputs = attack_inputs(estimator, X, features, attack=attack)
    classifier = is_classifier(estimator)
    own = None
    if y is not None:
        y = check_target_length(y, inputs.X)
    if classifier:
        # The model's own predictions, decided as predict decides (ties);
        # their shape tells single-output models (1-D labels) from others.
        own = estimator.predict(inputs.X)
        if np.ndim(own) == 1 and y is not None:
            check_labels(estimator, y, inputs.X)
            y = y.reshape(-1)
    elif y is not None:
        y = check_targets(y, inputs.X)
    clip = inputs.clip_bounds(clip)
    Xs = inputs.Xs

    if attack == "noise":
        if eps == 0:
            return inputs.assemble(Xs)
        Xs_adv = noise(
            estimator,
            Xs,
            y,
            eps=eps,
            norm=norm,
            n_restarts=n_restarts,
            clip=clip,
            rng=rng,
            predict=lambda P: estimator.predict(inputs.assemble(P)),
            clean_prediction=own,
        )
        if not np.all(np.isfinite(Xs_adv)):
            raise _overflow_error(eps)
        return inputs.assemble(Xs_adv)
    network, Z, mask = inputs.attack_space()
    if y is None and classifier:
        y = own
    objective = make_objective(estimator, network, Z, y)
    if eps == 0:
        return inputs.assemble(Xs)
    k = inputs.columns.size
    if clip is not None and mask is not None:
        pad = np.full(Z.shape[1] - k, np.inf)
        clip = (
            np.concatenate([np.broadcast_to(clip[0], (k,)), -pad]),
            np.concatenate([np.broadcast_to(clip[1], (k,)), pad]),
        )
    start = None
    if _start is not None:
        if np.shape(_start) != inputs.X.shape:
            raise ValueError(
                f"_start must have shape {inputs.X.shape}; got {np.shape(_start)}."
            )
        start = Z.copy()
        start[:, :k] = np.asarray(_start, dtype=np.float64)[:, inputs.columns]
    with np.errstate(over="ignore", invalid="ignore"):
        # An eps near the float range overflows somewhere in the attack; the
        # result is checked below and rejected with a clear error.
        Z_adv = _run(
            attack,
            network,
            objective,
            Z,
            eps,
            norm,
            n_iter,
            step_size,
            n_restarts,
            clip,
            rng,
            start,
            mask,
        )
        finite = np.all(np.isfinite(network.forward(Z_adv)))
    if not finite:
        raise _overflow_error(eps)
    return inputs.assemble(Z_adv[:, :k])


def _run(
    attack,
    network,
    objective,
    Z,
    eps,
    norm,
    n_iter,
    step_size,
    n_restarts,
    clip,
    rng,
    start,
    mask,
):
    if attack == "fgsm":
        Z_adv = fgsm(network, objective, Z, eps=eps, norm=norm, clip=clip, mask=mask)
    else:
        if step_size is None:
            step_size = 2.5 * eps / n_iter
        Z_adv = pgd(
            network,
            objective,
            Z,
            eps=eps,
            norm=norm,
            n_iter=n_iter,
            step_size=step_size,
            n_restarts=n_restarts,
            clip=clip,
            rng=rng,
            start=start,
            mask=mask,
        )
    return Z_adv


def _overflow_error(eps):
    return ValueError(
        f"eps={eps!r} is too large: the perturbed inputs or the model's "
        "outputs there overflow to infinity, so no score would mean anything. "
        "Use a radius on the scale of the data."
    )
