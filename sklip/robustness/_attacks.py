"""Adversarial and random perturbations of the inputs of a fitted model.

All attacks work in the *raw* input space: the network view of a Pipeline
folds its affine preprocessing into the first layer, so ``eps`` is measured in
the units of the data given to ``fit``/``predict``. The engines live in their
own modules (:mod:`._apgd`, :mod:`._pgd`, :mod:`._square`, :mod:`._linear`,
:mod:`._geometry`); this one holds noise, the ensemble and the public entry
point.
"""

import numpy as np
from sklearn.base import is_classifier

from .._validation import SHARED, public
from ._apgd import Evaluator, apgd, apgd_targeted
from ._blackbox import attack_inputs, score_function
from ._common import attack_targets, check_eps, scaled_row_norms
from ._geometry import project, random_on_sphere
from ._linear import linear_attack
from ._objectives import make_objective, make_score_objective
from ._params import (
    AUTO_STAGES,
    DEFAULT_N_QUERIES,
    DEFAULT_N_TARGETS,
    PARAMS_DOC,
    AttackParams,
    make_rng,
)
from ._pgd import default_step, fgsm, pgd
from ._square import square

# --------------------------------------------------------------------------
# White-box attacks on a network view and an objective.


def ensemble(
    network,
    objective,
    X,
    *,
    eps,
    norm,
    n_iter,
    n_restarts,
    n_targets,
    n_queries,
    clip,
    rng,
    score=None,
    start=None,
    mask=None,
    stages=AUTO_STAGES,
    exact=True,
):
    """Run ``stages`` in turn, each on the samples still unbroken, keeping
    the worst point per sample. With ``exact``, a network of one affine
    layer gets the closed-form worst point instead. Without a network only
    the black-box stage (``"square"``, querying ``score``) runs."""
    if exact and network is not None and network.n_layers == 1:
        found = linear_attack(
            network, objective, X, eps=eps, norm=norm, clip=clip, mask=mask
        )
        if found is not None:
            return found
    best = X.copy()
    box = dict(eps=eps, norm=norm, clip=clip, rng=rng, mask=mask)
    if network is None:
        best_val = objective(score(X, np.arange(X.shape[0])))
        if "square" in stages:
            square(score, objective, X, best, best_val, n_queries=n_queries, **box)
        return best
    evaluator = Evaluator(network, X.shape[0])
    best_val = evaluator.loss(objective, X)
    if start is None and objective.from_clean:
        # The squared deviation from the clean prediction has no gradient at
        # the clean point: start from the first-order worst direction.
        start = fgsm(network, objective, X, eps=eps, norm=norm, clip=clip, mask=mask)
    for stage in stages:
        if stage in ("apgd-ce", "apgd-dlr"):
            apgd(
                evaluator, objective, X, best, best_val, loss=stage[5:],
                n_iter=n_iter, n_restarts=n_restarts, start=start, **box,
            )  # fmt: skip
        elif stage == "apgd-t":
            apgd_targeted(
                evaluator, objective, X, best, best_val, n_targets=n_targets,
                n_iter=n_iter, n_restarts=1, **box,
            )  # fmt: skip
        elif stage == "square" and (objective.classifies or len(stages) == 1):
            # Gradient-free: catches what gradient masking hides from APGD.
            square(
                lambda P, rows: evaluator.outputs(P), objective, X, best, best_val,
                n_queries=n_queries, **box,
            )  # fmt: skip
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
    mask=None,
):
    """Random points on the eps-sphere (black box: only ``predict`` is used,
    and only to pick the worst of several restarts). ``predict`` maps points
    like ``X`` to predictions (default ``estimator.predict``), e.g. through
    the columns held fixed around them; ``clean_prediction`` is its value at
    ``X`` when already known. ``mask`` (bool over the columns of ``X``):
    only those move."""
    predict = estimator.predict if predict is None else predict

    def draw():
        return project(
            X, X + random_on_sphere(rng, X.shape, eps, norm, mask), eps, norm, clip
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


@public(
    {
        **SHARED,
        **AttackParams.CONSTRAINTS,
        "y": ["array-like", None],
        "_start": "no_validation",
    }
)
def perturb(
    estimator,
    X,
    y=None,
    *,
    eps,
    attack="auto",
    norm=2,
    n_iter=None,
    step_size=None,
    n_restarts=1,
    n_targets=DEFAULT_N_TARGETS,
    n_queries=DEFAULT_N_QUERIES,
    clip=None,
    random_state=None,
    features=None,
    _start=None,
):
    """Perturb inputs within an ``eps``-ball to change a model's output.

    Parameters
    ----------
    estimator : fitted estimator
        A classifier or regressor. Gradient attacks (``"apgd-ce"``,
        ``"apgd-dlr"``, ``"apgd-t"``, ``"pgd"``, ``"fgsm"``) need a network
        view (:func:`sklip.lipschitz.as_network`): sklip and scikit-learn
        MLPs, linear models and Pipelines of affine preprocessing ending in
        one. ``"auto"``, ``"square"`` and ``"noise"`` work for any estimator.
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Clean inputs, in the raw units given to ``predict``. Never modified.
        Handed to the model in the type and column order given (a DataFrame
        keeps its columns). A sparse matrix is densified (an error beyond
        256 MiB). A NaN in a perturbed column is allowed when
        the model imputes it by a per-column constant (a ``SimpleImputer``,
        alone or in a ``ColumnTransformer``): it stays NaN in ``X_adv`` and
        the row moves over its observed columns only; without an imputer
        it is an error.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Labels (classifiers, values in ``estimator.classes_``) or finite
        targets (regressors) to attack. ``None`` attacks the model's own
        predictions (as ``predict`` returns them, ties included).
    eps : float
        Radius of the perturbation ball, ``>= 0``, in raw input units.
    {attack_params}

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
    Every attack except ``"fgsm"`` and ``"noise"`` keeps, per sample, the
    worst point found over the clean point, all iterates, restarts, targets
    and stages, "worst" meaning the largest margin ``max_{i != y} f_i(x) -
    f_y(x)`` of the raw logits (multiclass), the signed logit (binary single
    logit; positive once the label flips) or the squared error against ``y``
    or the clean prediction (regressors). APGD, Square Attack and the
    ensemble stop attacking a sample once its label has flipped.

    References
    ----------
    .. [1] F. Croce, M. Hein. "Reliable evaluation of adversarial robustness
       with an ensemble of diverse parameter-free attacks". ICML 2020.
    .. [2] M. Andriushchenko, F. Croce, N. Flammarion, M. Hein. "Square
       Attack: a query-efficient black-box adversarial attack via random
       search". ECCV 2020.
    .. [3] A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. "Towards
       Deep Learning Models Resistant to Adversarial Attacks". ICLR 2018.
    .. [4] I. Goodfellow, J. Shlens, C. Szegedy. "Explaining and Harnessing
       Adversarial Examples". ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import perturb
    >>> X = np.array([[-2.0, 0.0], [-1.0, 0.5], [1.0, -0.5], [2.0, 0.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> X_adv = perturb(clf, X, eps=1.5, random_state=0)
    >>> bool(np.all(np.linalg.norm(X_adv - X, axis=1) <= 1.5 + 1e-12))
    True
    >>> w, b = clf.coef_[0], clf.intercept_[0]
    >>> dist = np.abs(X @ w + b) / np.linalg.norm(w)  # to the decision boundary
    >>> flipped = clf.predict(X_adv) != clf.predict(X)
    >>> bool(np.all(flipped == (dist < 1.5)))  # linear models: exact attack
    True
    """
    params = AttackParams.from_arguments(locals())
    return run_attack(estimator, X, y, eps=check_eps(eps), params=params, start=_start)


def run_attack(estimator, X, y, *, eps, params, start=None):
    """:func:`perturb` with validated parameters (``params``, an
    :class:`AttackParams`); ``start`` is its private ``_start``."""
    attack, norm, n_restarts = params.attack, params.norm, params.n_restarts
    rng = make_rng(params.random_state)
    _start, features = start, params.features
    inputs = attack_inputs(estimator, X, features, attack=attack)
    classifier = is_classifier(estimator)
    y, own = attack_targets(estimator, inputs.X, y)
    clip = inputs.clip_bounds(params.clip)
    Xs = inputs.Xs
    # Black-box attacks move the raw columns: each row its observed ones.
    observed = None if inputs.missing is None else ~inputs.missing

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
            mask=observed,
        )
        if not np.all(np.isfinite(Xs_adv)):
            raise _overflow_error(eps)
        return inputs.assemble(Xs_adv)
    stages = params.spec.stages
    if inputs.view is None:
        # No network view: Square Attack on the model's scores alone.
        if eps == 0:
            return inputs.assemble(Xs)
        score = score_function(estimator, inputs)
        objective = make_score_objective(
            estimator,
            score(Xs, np.arange(Xs.shape[0])),
            Xs,
            own if classifier and y is None else y,
        )
        with np.errstate(over="ignore", invalid="ignore"):
            Xs_adv = ensemble(
                None, objective, Xs, eps=eps, norm=norm, n_iter=1, n_restarts=1,
                n_targets=1, clip=clip, rng=rng, score=score, stages=stages,
                n_queries=params.queries(black_box=True), mask=observed,
            )  # fmt: skip
        if not np.all(np.isfinite(Xs_adv)):
            raise _overflow_error(eps)
        return inputs.assemble(Xs_adv)
    network, Z, mask = inputs.attack_space()
    if y is None and classifier:
        y = own
    objective = make_objective(estimator, network, Z, y)
    if attack == "apgd-t" and objective.kind == "squared":
        raise ValueError(
            "attack='apgd-t' targets classes; use 'apgd-ce' or 'auto' for the "
            f"regressor {type(estimator).__name__}."
        )
    if eps == 0:
        return inputs.assemble(Xs)
    n_queries = params.queries(black_box=attack == "square")
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
        if attack == "fgsm":
            Z_adv = fgsm(
                network, objective, Z, eps=eps, norm=norm, clip=clip, mask=mask
            )
        elif attack == "pgd":
            Z_adv = pgd(
                network,
                objective,
                Z,
                eps=eps,
                norm=norm,
                n_iter=params.steps,
                step_size=(
                    default_step(eps, params.steps)
                    if params.step_size is None
                    else params.step_size
                ),
                n_restarts=n_restarts,
                clip=clip,
                rng=rng,
                start=start,
                mask=mask,
            )
        else:
            Z_adv = ensemble(
                network,
                objective,
                Z,
                eps=eps,
                norm=norm,
                n_iter=params.steps,
                n_restarts=n_restarts,
                n_targets=params.n_targets,
                n_queries=n_queries,
                clip=clip,
                rng=rng,
                start=start,
                mask=mask,
                stages=stages,
                exact=attack == "auto",
            )
        finite = np.all(np.isfinite(network.forward(Z_adv)))
    if not finite:
        raise _overflow_error(eps)
    return inputs.assemble(Z_adv[:, :k])


perturb.__doc__ = perturb.__doc__.replace("    {attack_params}", PARAMS_DOC)


def _overflow_error(eps):
    return ValueError(
        f"eps={eps!r} is too large: the perturbed inputs or the model's "
        "outputs there overflow to infinity, so no score would mean anything. "
        "Use a radius on the scale of the data."
    )
