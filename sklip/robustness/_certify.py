"""Certified robustness from Lipschitz constants (L2).

For raw outputs ``f`` and predicted class ``c``, if ``K[c, i]`` bounds the
Lipschitz constant of ``f_c - f_i``, then for ``||delta||_2 <= r``
``f_c(x + delta) - f_i(x + delta) >= (f_c(x) - f_i(x)) - K[c, i] r``, so no
class can overtake ``c`` while ``r < min_i (f_c - f_i) / K[c, i]``: the
certified radius (Tsuzuku et al., 2018).

Ties. The class is the one ``predict`` returns (it may decide by
probabilities, which round: a sigmoid of a tiny logit is exactly 0.5, a
softmax can tie), and a margin counts only beyond the floating-point
resolution of the logits, ``_TIE_ULPS`` units in the last place of the
largest one. A sample whose predicted class is not the strict winner of the
logits by more than that has radius 0: certificates never disagree with
``predict``.

Features. Over a subset ``S`` of the raw columns (``features=``) the
constants are those of the network seen from ``S`` (first layer
``A_S W_1``): the other columns only shift the first layer's input, so the
certificate holds whatever their values.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._core.inputs import Inputs
from .._core.view import ModelView
from .._validation import check_sample_weight
from ..lipschitz import lipschitz_bound, pairwise_lipschitz_bounds
from ._common import (
    check_classifier,
    check_eps,
    check_labels,
    check_norm,
    check_regressor,
    encode_labels,
)
from ._objectives import _output_link

_TIE_ULPS = 64


def _predicted_and_radius(estimator, inputs):
    """Predicted class indices (as ``predict`` decides) and L2 certified radii
    over ``inputs.columns``.

    The pairwise constants are already capped at ``sqrt(2) L``
    (``||e_c - e_i||_2 = sqrt(2)``) and equal ``L`` for a single logit.
    """
    F = inputs.logits()
    n, k = F.shape
    K = np.asarray(
        pairwise_lipschitz_bounds(estimator, features=inputs.columns),
        dtype=np.float64,
    )
    pred = encode_labels(estimator, estimator.predict(inputs.X))
    ulp = np.finfo(inputs.view.network.dtype).eps
    slack = _TIE_ULPS * ulp * (1.0 + np.abs(F).max(axis=1))
    rows = np.arange(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if k == 1:
            # Class 1 is predicted when the logit is positive.
            margin = np.where(pred == 1, F[:, 0], -F[:, 0]) - slack
            radius = margin / K[0, 1]
        else:
            margins = F[rows, pred][:, None] - F - slack[:, None]
            ratios = margins / K[pred]
            ratios[rows, pred] = np.inf
            radius = ratios.min(axis=1)
    # A zero constant (the model is constant in the features) certifies every
    # untied prediction at any radius (+inf); a tie or a class predict does
    # not rank first certifies nothing (NaN from 0/0, or negative).
    radius = np.where(np.isnan(radius) | (radius < 0), 0.0, radius)
    return pred, radius


def certified_radius(estimator, X, *, features=None):
    """Per-sample L2 radius within which the prediction provably cannot change.

    Parameters
    ----------
    estimator : fitted classifier
        A model with a network view (:func:`sklip.lipschitz.as_network`).
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Inputs in raw units.
    features : str, int, array-like of str, int or bool, default=None
        Columns the radius is over (names, indices or a boolean mask); the
        others are held fixed, and the certificate holds whatever their
        values. None: every column but categorical ones (non-numeric, or an
        encoder's input). See :func:`perturb`.

    Returns
    -------
    radius : ndarray of shape (n_samples,)
        For every ``delta`` with ``||delta||_2 < radius[i]`` the predicted
        class of ``X[i] + delta`` equals that of ``X[i]``. Binary single-logit
        models: ``|z| / L``; multiclass: ``min_{i != c} (f_c - f_i) / K[c, i]``
        with the pairwise constants of
        :func:`sklip.lipschitz.pairwise_lipschitz_bounds`, never smaller than
        ``margin / (sqrt(2) L)`` (Tsuzuku et al., 2018). Exact for binary
        linear models (the distance to the decision boundary). The class
        ``c`` is the one ``predict`` returns; when it is not the strict
        winner of the logits (a tie, or a probability rounding to one), the
        radius is 0.

    References
    ----------
    .. [1] Y. Tsuzuku, I. Sato, M. Sugiyama. "Lipschitz-Margin Training:
       Scalable Certification of Perturbation Invariance for Deep Neural
       Networks". NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import certified_radius
    >>> X = np.array([[-2.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> r = certified_radius(clf, X)
    >>> w, b = clf.coef_[0], clf.intercept_[0]
    >>> bool(np.allclose(r, np.abs(X @ w + b) / np.linalg.norm(w)))
    True
    """
    check_classifier(estimator, "certified_radius")
    inputs = Inputs(estimator, X, features)
    return _predicted_and_radius(estimator, inputs)[1]


def certified_accuracy(
    estimator, X, y, *, eps, norm=2, sample_weight=None, features=None
):
    """Fraction of samples correctly classified and certified at radius ``eps``.

    A sample counts when its prediction is correct and
    ``certified_radius > eps`` (strictly): then every point of the *closed*
    ball ``||delta|| <= eps`` (the ball :func:`perturb` searches) keeps the
    prediction, so no attack at ``eps`` can break a counted sample.

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
        For ``np.inf`` the Linf ball of radius ``eps`` is certified through
        the L2 ball of radius ``sqrt(n_features) * eps`` that contains it
        (sound, generally loose); ``n_features`` counts the ``features``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: finite, non-negative, with a positive sum.
    features : str, int, array-like of str, int or bool, default=None
        Columns perturbed and certified; see :func:`certified_radius`.

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
    inputs = Inputs(estimator, X, features)
    y_idx = check_labels(estimator, y, inputs.X)
    sample_weight = check_sample_weight(sample_weight, inputs.n_samples)
    pred, radius = _predicted_and_radius(estimator, inputs)
    scale = np.sqrt(inputs.columns.size) if norm == np.inf else 1.0
    correct = pred == y_idx
    eps_1d = np.atleast_1d(eps_arr) * scale
    certified = correct[None, :] & (radius[None, :] > eps_1d[:, None])
    acc = np.average(certified, axis=1, weights=sample_weight)
    return acc if np.ndim(eps_arr) else float(acc[0])


def certified_max_output_deviation(estimator, *, eps, norm=2, features=None):
    """Certified bound on the output change of a regressor: ``L * eps``.

    For every ``x`` and ``||delta|| <= eps``,
    ``||f(x + delta) - f(x)||_2 <= L * eps`` with ``L`` the certified L2
    Lipschitz bound of :func:`sklip.lipschitz.lipschitz_bound`; the
    counterpart of :func:`max_output_deviation`, which finds deviations by
    attack (a lower estimate of the same quantity).

    Parameters
    ----------
    estimator : fitted regressor
        A model with a network view.
    eps : float or array-like of shape (n_eps,)
        Radius in raw input units.
    norm : {2, np.inf}, default=2
        For ``np.inf`` the bound is ``L * sqrt(n_features) * eps``.
    features : str, int, array-like of str, int or bool, default=None
        Columns perturbed; ``L`` is then the bound over them (see
        :func:`sklip.lipschitz.lipschitz_bound`) and ``n_features`` counts
        them.

    Returns
    -------
    bound : float or ndarray of shape (n_eps,)
        Certified bound on the L2 output change, in output units, per radius.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklip.robustness import certified_max_output_deviation
    >>> reg = LinearRegression().fit([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0, 3, 4])
    >>> round(certified_max_output_deviation(reg, eps=0.1), 6)
    0.5
    """
    check_regressor(estimator, "certified_max_output_deviation")
    check_is_fitted(estimator)
    eps_arr = check_eps(eps, allow_array=True)
    norm = check_norm(norm)
    if _output_link(estimator) != "identity":
        # L bounds the raw output (log-mean); exp of it has no global constant.
        raise ValueError(
            "certified_max_output_deviation needs predictions equal to the raw "
            "outputs; the Poisson (exp) output link has no finite Lipschitz "
            "constant."
        )
    view = ModelView(estimator)
    columns = view.columns_for(features)
    L = float(lipschitz_bound(estimator, features=columns))
    if norm == np.inf:
        L *= np.sqrt(columns.size)
    return L * eps_arr
