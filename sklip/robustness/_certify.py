"""Certified robustness: radii, certified accuracy and output deviations.

The certificates themselves live in :mod:`sklip.verification` (one method
per entry of :data:`sklip.verification._methods.METHODS`: the Lipschitz
margin, CROWN, alpha-CROWN, complete verification and their union
``"auto"``); this module reads the user's ``X`` (:class:`Inputs`: the input
map, ``features=`` and the clip box, all in raw units) and hands the attack
space to them.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._core.inputs import Inputs, check_clip
from .._core.view import ModelView
from .._validation import (
    EPS_OR_ARRAY,
    SAMPLES,
    SHARED,
    Choices,
    check_sample_weight,
    public,
)
from ..lipschitz import lipschitz_bound, pairwise_lipschitz_bounds
from ..verification._certifier import Certifier
from ..verification._margin import deviation_bound
from ..verification._methods import METHODS, check_method
from ._common import (
    check_classifier,
    check_eps,
    check_labels,
    check_norm,
    check_regressor,
    encode_labels,
)
from ._falsify import attack_falsifier
from ._objectives import _output_link

#: The certification ``method`` constraint, from the registry.
METHOD = [Choices(str, tuple(METHODS))]

_METHOD_DOC = """\
    method : {"auto", "lipschitz", "crown", "alpha-crown", "complete"}, \
default="auto"
        The certificate (see :ref:`certificates`): ``"lipschitz"``, the
        global Lipschitz margin (Linf through the containing L2 ball);
        ``"crown"``, per-sample linear bounds; ``"alpha-crown"``, CROWN with
        optimised slopes; ``"complete"``, branch and bound with the attack as
        falsifier (2 s per sample at most); ``"auto"``, the per-sample union
        of the Lipschitz margin and CROWN, adding alpha-CROWN on the
        samples CROWN narrowly misses (ReLU networks)."""


#: Beyond this many distinct patterns of missing entries, the Lipschitz
#: constants are those over every ``features`` column for all rows (sound:
#: a row's ball over its observed columns lies in the ball over all of them,
#: but looser), not one bound computation per pattern.
MAX_PATTERNS = 256


def per_row_constant(estimator, inputs, bound):
    """``bound(model, features)`` (a Lipschitz constant over raw columns)
    over each row's observed ``features`` columns, stacked along a first
    axis of length n_samples; over all of them (one value) when nothing is
    missing. A row with nothing observed gets 0 (nothing of it moves). The
    model view is read once: a pattern's constant is that of the network
    seen from its columns, as ``features=`` would give it."""
    full = np.asarray(bound(estimator, inputs.columns), dtype=np.float64)
    if inputs.missing is None:
        return full
    patterns, which = inputs.patterns()
    if patterns.shape[0] > MAX_PATTERNS:
        return np.broadcast_to(full, (inputs.n_samples,) + full.shape)
    view = inputs.view
    values = np.stack(
        [
            np.asarray(bound(view.restricted(inputs.columns[p]), None), np.float64)
            if p.any()
            else np.zeros_like(full)
            for p in patterns
        ]
    )
    return values[which]


def _space(inputs, clip):
    """The attack space and its box (the placeholders of missing entries
    are moved into the box first)."""
    box = inputs.clip_bounds(clip)
    network, Z, mask = inputs.attack_space()
    return network, Z, mask, inputs.attack_box(box, mask)


def classifier_certifier(estimator, inputs, norm, clip):
    """The :class:`Certifier` of a classifier's predictions on ``inputs``
    (and the predicted class indices)."""
    network, Z, mask, box = _space(inputs, clip)
    pred = encode_labels(estimator, estimator.predict(inputs.X))
    K = per_row_constant(
        estimator,
        inputs,
        lambda model, cols: pairwise_lipschitz_bounds(model, features=cols),
    )
    return Certifier(
        network, Z, norm=norm, mask=mask, box=box, pred=pred, K=K,
        logits=inputs.logits(),
    ), pred  # fmt: skip


def regressor_certifier(estimator, inputs, norm, clip):
    """The :class:`Certifier` of a regressor's outputs on ``inputs``."""
    network, Z, mask, box = _space(inputs, clip)
    link = _output_link(estimator)
    L = None
    if link == "identity":
        L = per_row_constant(
            estimator,
            inputs,
            lambda model, cols: float(lipschitz_bound(model, features=cols)),
        )
    return Certifier(
        network, Z, norm=norm, mask=mask, box=box, L=L, link=link,
        logits=inputs.logits(),
    )  # fmt: skip


def _falsifier(estimator, cert, labels, random_state):
    """The attack as the complete method's falsifier."""
    return attack_falsifier(
        estimator, cert.network, cert.Z, cert.mask, cert.box, cert.norm, labels,
        random_state,
    )  # fmt: skip


@public({**SHARED, "method": METHOD, "clip": "no_validation"})
def certified_radius(estimator, X, *, norm=2, method="auto", clip=None, features=None):
    """Per-sample radius within which the prediction provably cannot change.

    Parameters
    ----------
    estimator : fitted classifier
        A model with a network view (:func:`sklip.lipschitz.as_network`).
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Inputs in raw units. A NaN behind a ``SimpleImputer`` is held at its
        imputed value: the radius of a row is over its observed columns (and
        infinite when none is observed).
    norm : {2, np.inf}, default=2
        Norm of the ball.
    {method_doc}
        Bound methods give the largest certified radius by bisection to a
        relative precision of 1e-3 (1e-2 for ``"complete"``, which costs up
        to 2 s per sample and bisection step), from the Lipschitz radius.
        The radius returned is always certified; CROWN's adaptive slopes
        make its bound nearly but not exactly monotone in the radius, so
        rarely a larger radius is certified too.
    clip : tuple (low, high), default=None
        A box the inputs are known to lie in (scalars or arrays of shape
        (n_features,), raw units), e.g. ``(0, 1)`` for pixels: bound methods
        certify the ball intersected with it. ``X`` must lie inside.
    features : str, int, array-like of str, int or bool, default=None
        Columns the radius is over (names, indices or a boolean mask); the
        others are held fixed, and the certificate holds whatever their
        values. None: every column but categorical ones (non-numeric, or an
        encoder's input). See :func:`perturb`.

    Returns
    -------
    radius : ndarray of shape (n_samples,)
        In raw input units: every ``delta`` with ``||delta|| < radius[i]``
        (in ``norm``; within ``clip``) keeps the predicted class of
        ``X[i] + delta`` equal to that of ``X[i]``. ``"lipschitz"``: binary
        single-logit models ``|z| / L``; multiclass ``min_{i != c} (f_c -
        f_i) / K[c, i]`` with the pairwise constants of
        :func:`sklip.lipschitz.pairwise_lipschitz_bounds`, never smaller than
        ``margin / (sqrt(2) L)`` (Tsuzuku et al., 2018). Exact for binary
        linear models (the distance to the decision boundary), by every
        method. The class ``c`` is the one ``predict`` returns; when it is
        not the strict winner of the logits (a tie, or a probability rounding
        to one), the radius is 0.

    References
    ----------
    .. [1] Y. Tsuzuku, I. Sato, M. Sugiyama. "Lipschitz-Margin Training:
       Scalable Certification of Perturbation Invariance for Deep Neural
       Networks". NeurIPS 2018.
    .. [2] H. Zhang, T.-W. Weng, P.-Y. Chen, C.-J. Hsieh, L. Daniel.
       "Efficient Neural Network Robustness Certification with General
       Activation Functions". NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import certified_radius
    >>> X = np.array([[-2.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> r = certified_radius(clf, X)
    >>> w, b = clf.coef_[0], clf.intercept_[0]
    >>> bool(np.allclose(r, np.abs(X @ w + b) / np.linalg.norm(w), rtol=1e-3))
    True
    """
    check_classifier(estimator, "certified_radius")
    norm = check_norm(norm)
    method = check_method(method)
    inputs = Inputs(estimator, X, features)
    cert, _ = classifier_certifier(estimator, inputs, norm, clip)
    return cert.radius(method)


@public(
    {
        **SHARED,
        "y": ["array-like"],
        "eps": EPS_OR_ARRAY,
        "method": METHOD,
        "clip": "no_validation",
    }
)
def certified_accuracy(
    estimator,
    X,
    y,
    *,
    eps,
    norm=2,
    method="auto",
    clip=None,
    sample_weight=None,
    features=None,
    random_state=0,
):
    """Fraction of samples correctly classified and certified at radius ``eps``.

    A sample counts when its prediction is correct and certified on the
    *closed* ball ``||delta|| <= eps`` (the ball :func:`perturb` searches;
    for ``"lipschitz"``: ``certified_radius > eps``), so no attack at
    ``eps`` can break a counted sample.

    Parameters
    ----------
    estimator : fitted classifier
        A model with a network view.
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Inputs in raw units.
    y : array-like of shape (n_samples,)
        True labels.
    eps : float or array-like of shape (n_eps,)
        Radius (raw input units); an array gives one accuracy per radius.
    norm : {2, np.inf}, default=2
        For ``"lipschitz"`` the Linf ball of radius ``eps`` is certified
        through the L2 ball of radius ``sqrt(n_features) * eps`` that contains
        it (sound, generally loose); ``n_features`` counts the ``features``.
        The bound methods bound the Linf ball itself.
    {method_doc}
    clip : tuple (low, high), default=None
        A box the inputs are known to lie in (see :func:`certified_radius`).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: finite, non-negative, with a positive sum.
    features : str, int, array-like of str, int or bool, default=None
        Columns perturbed and certified; see :func:`certified_radius`.
    random_state : int, RandomState, Generator or None, default=0
        Seed of the attack ``"complete"`` uses as falsifier.

    Returns
    -------
    accuracy : float or ndarray of shape (n_eps,)
        Weighted fraction of samples correct and certified, per radius.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import certified_accuracy
    >>> X = np.array([[-2.0, 0.0], [-0.1, 0.0], [0.1, 0.0], [2.0, 0.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> float(certified_accuracy(clf, X, [0, 0, 1, 1], eps=0.0))
    1.0
    >>> float(certified_accuracy(clf, X, [0, 0, 1, 1], eps=1.0))
    0.5
    """
    check_classifier(estimator, "certified_accuracy")
    eps_arr = check_eps(eps, allow_array=True)
    norm = check_norm(norm)
    method = check_method(method)
    inputs = Inputs(estimator, X, features)
    y_idx = check_labels(estimator, y, inputs.X)
    sample_weight = check_sample_weight(sample_weight, inputs.n_samples)
    cert, pred = classifier_certifier(estimator, inputs, norm, clip)
    rows = np.flatnonzero(pred == y_idx)
    if sample_weight is not None:
        rows = rows[sample_weight[rows] > 0]
    kwargs = {}
    if method == "complete":
        classes = np.asarray(estimator.classes_)
        kwargs["falsifier"] = _falsifier(estimator, cert, classes[pred], random_state)
    eps_1d = np.atleast_1d(eps_arr)
    certified = np.zeros((eps_1d.size, inputs.n_samples), bool)
    # Descending radii: a sample certified at a larger radius is certified at
    # every smaller one (the balls are nested), so it is not bounded again.
    for i in np.argsort(-eps_1d, kind="stable"):
        done = certified.any(axis=0)[rows]
        todo = rows[~done]
        certified[i, rows[done]] = True
        if todo.size:
            certified[i, todo] = cert.certified(eps_1d[i], method, todo, **kwargs)
    acc = np.average(certified, axis=1, weights=sample_weight)
    return acc if np.ndim(eps_arr) else float(acc[0])


@public(
    {
        **SHARED,
        "X": [*SAMPLES, None],
        "eps": EPS_OR_ARRAY,
        "method": METHOD,
        "clip": "no_validation",
    }
)
def certified_max_output_deviation(
    estimator, X=None, *, eps, norm=2, method="lipschitz", clip=None, features=None
):
    """Certified bound on the output change of a regressor.

    ``method="lipschitz"`` (the default): the global ``L * eps``: for every
    ``x`` and ``||delta|| <= eps``, ``||f(x + delta) - f(x)||_2 <= L * eps``
    with ``L`` the certified L2 Lipschitz bound of
    :func:`sklip.lipschitz.lipschitz_bound`. Other methods: a bound per
    sample of ``X``, from the certified output intervals of :func:`certify`
    (the L2 norm of the per-output worst deviations; ``"auto"`` also takes
    the smaller of that and ``L * eps``). The counterpart of
    :func:`max_output_deviation`, which finds deviations by attack (a lower
    estimate of the same quantity).

    Parameters
    ----------
    estimator : fitted regressor
        A model with a network view.
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features), \
default=None
        The centres of the balls (raw units); needed by every method but
        ``"lipschitz"``, which ignores it.
    eps : float or array-like of shape (n_eps,)
        Radius in raw input units.
    norm : {2, np.inf}, default=2
        For ``"lipschitz"`` and ``np.inf`` the bound is
        ``L * sqrt(n_features) * eps``.
    method : {"auto", "lipschitz", "crown", "alpha-crown", "complete"}, \
default="lipschitz"
        See :func:`certified_accuracy`; ``"complete"`` is the exact MILP on
        Linf balls of ReLU networks, alpha-CROWN elsewhere and where the
        solver does not finish.
    clip : tuple (low, high), default=None
        A box the inputs are known to lie in (bound methods).
    features : str, int, array-like of str, int or bool, default=None
        Columns perturbed; ``L`` is then the bound over them (see
        :func:`sklip.lipschitz.lipschitz_bound`) and ``n_features`` counts
        them.

    Returns
    -------
    bound : float or ndarray
        ``"lipschitz"``: a float, or shape (n_eps,) for an array ``eps``.
        Other methods: shape (n_samples,), or (n_eps, n_samples).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklip.robustness import certified_max_output_deviation
    >>> reg = LinearRegression().fit([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0, 3, 4])
    >>> round(certified_max_output_deviation(reg, eps=0.1), 6)
    0.5
    >>> certified_max_output_deviation(reg, [[0.0, 0.0]], eps=0.1, method="crown")
    array([0.5])
    """
    check_regressor(estimator, "certified_max_output_deviation")
    check_is_fitted(estimator)
    eps_arr = check_eps(eps, allow_array=True)
    norm = check_norm(norm)
    method = check_method(method)
    if method != "lipschitz":
        if X is None:
            raise ValueError(
                f"certified_max_output_deviation with method={method!r} bounds "
                "the deviation per sample and needs X; got X=None."
            )
        inputs = Inputs(estimator, X, features)
        cert = regressor_certifier(estimator, inputs, norm, clip)
        out = np.array(
            [cert.output_bounds(e, method)[2] for e in np.atleast_1d(eps_arr)]
        )
        return out if np.ndim(eps_arr) else out[0]
    if _output_link(estimator) != "identity":
        # L bounds the raw output (log-mean); exp of it has no global constant.
        raise ValueError(
            "certified_max_output_deviation needs predictions equal to the raw "
            "outputs; the Poisson (exp) output link has no finite Lipschitz "
            "constant. Use a bound method (method='crown') with X."
        )
    view = ModelView(estimator)
    columns = view.columns_for(features)
    # The global bound holds on any box; a malformed one is still an error.
    check_clip(clip, np.zeros((0, columns.size)), columns, view.n_raw)
    L = float(lipschitz_bound(estimator, features=columns))
    bound = deviation_bound(L, eps_arr, norm, columns.size)
    return bound if np.ndim(eps_arr) else float(bound)


for _f in (certified_radius, certified_accuracy):
    _f.__doc__ = _f.__doc__.replace("    {method_doc}", _METHOD_DOC)
