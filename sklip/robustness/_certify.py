"""Certified robustness from Lipschitz constants (L2).

For raw outputs ``f`` and predicted class ``c``, if ``K[c, i]`` bounds the
Lipschitz constant of ``f_c - f_i``, then for ``||delta||_2 <= r``
``f_c(x + delta) - f_i(x + delta) >= (f_c(x) - f_i(x)) - K[c, i] r``, so no
class can overtake ``c`` while ``r < min_i (f_c - f_i) / K[c, i]``: the
certified radius (Tsuzuku et al., 2018).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..lipschitz import as_network, lipschitz_bound, pairwise_lipschitz_bounds
from ._common import (
    check_classifier,
    check_eps,
    check_norm,
    check_regressor,
    check_sample_weight_length,
    check_target_length,
    check_X,
    encode_labels,
)
from ._objectives import _output_link


def _predicted_and_radius(estimator, X):
    """Predicted class indices and L2 certified radii from the network view.

    ``X`` has been through ``check_X`` (feature count included). The pairwise
    constants are already capped at ``sqrt(2) L`` (``||e_c - e_i||_2 =
    sqrt(2)``) and equal ``L`` for a single logit.
    """
    network = as_network(estimator)
    F = network.forward(X).astype(np.float64, copy=False)
    n, k = F.shape
    K = np.asarray(pairwise_lipschitz_bounds(estimator), dtype=np.float64)
    if k == 1:
        K = K[0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if k == 1:
            z = F[:, 0]
            # Class 1 exactly when z > 0; z == 0 predicts class 0 with no margin.
            pred = (z > 0).astype(np.intp)
            radius = np.abs(z) / K
        else:
            pred = F.argmax(axis=1)
            margins = F[np.arange(n), pred][:, None] - F  # f_c - f_i >= 0
            ratios = margins / K[pred]
            ratios[np.arange(n), pred] = np.inf
            radius = ratios.min(axis=1)
    # A zero constant (a constant model) certifies every non-tied prediction
    # at any radius; a tie (margin 0) certifies nothing.
    radius = np.where(np.isnan(radius), 0.0, radius)
    return pred, radius


def certified_radius(estimator, X):
    """Per-sample L2 radius within which the prediction provably cannot change.

    Parameters
    ----------
    estimator : fitted classifier
        A model with a network view (:func:`sklip.lipschitz.as_network`).
    X : array-like of shape (n_samples, n_features)
        Inputs in raw units.

    Returns
    -------
    radius : ndarray of shape (n_samples,)
        For every ``delta`` with ``||delta||_2 < radius[i]`` the predicted
        class of ``X[i] + delta`` equals that of ``X[i]``. Binary single-logit
        models: ``|z| / L``; multiclass: ``min_{i != c} (f_c - f_i) / K[c, i]``
        with the pairwise constants of
        :func:`sklip.lipschitz.pairwise_lipschitz_bounds`, never smaller than
        ``margin / (sqrt(2) L)`` (Tsuzuku et al., 2018). Exact for binary
        linear models (the distance to the decision boundary).

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
    X = check_X(estimator, X)
    return _predicted_and_radius(estimator, X)[1]


def certified_accuracy(estimator, X, y, *, eps, norm=2, sample_weight=None):
    """Fraction of samples correctly classified and certified at radius ``eps``.

    A sample counts when its prediction is correct and
    ``certified_radius > eps`` (strictly): then every point of the *closed*
    ball ``||delta|| <= eps`` (the ball :func:`perturb` searches) keeps the
    prediction, so no attack at ``eps`` can break a counted sample.

    Parameters
    ----------
    estimator : fitted classifier
        A model with a network view.
    X : array-like of shape (n_samples, n_features)
        Inputs in raw units.
    y : array-like of shape (n_samples,)
        True labels.
    eps : float or array-like of shape (n_eps,)
        Radius (raw input units); an array gives one accuracy per radius.
    norm : {2, np.inf}, default=2
        For ``np.inf`` the Linf ball of radius ``eps`` is certified through
        the L2 ball of radius ``sqrt(n_features) * eps`` that contains it
        (sound, generally loose).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    accuracy : float or ndarray of shape (n_eps,)

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
    X = check_X(estimator, X)
    y_idx = encode_labels(estimator, check_target_length(y, X))
    sample_weight = check_sample_weight_length(sample_weight, X)
    pred, radius = _predicted_and_radius(estimator, X)
    scale = np.sqrt(X.shape[1]) if norm == np.inf else 1.0
    correct = pred == y_idx
    eps_1d = np.atleast_1d(eps_arr) * scale
    certified = correct[None, :] & (radius[None, :] > eps_1d[:, None])
    acc = np.average(certified, axis=1, weights=sample_weight)
    return acc if np.ndim(eps_arr) else float(acc[0])


def certified_max_output_deviation(estimator, *, eps, norm=2):
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

    Returns
    -------
    bound : float or ndarray of shape (n_eps,)

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
    L = float(lipschitz_bound(estimator))
    if norm == np.inf:
        L *= np.sqrt(as_network(estimator).n_features_in)
    return L * eps_arr
