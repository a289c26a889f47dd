"""The default perturbation radius, one rule for every consumer.

The command line, :class:`RobustnessCurveDisplay` and the documentation all
derive their default ``eps`` from :func:`default_eps`, so a radius printed by
one can be compared with a curve drawn by another.
"""

import numpy as np

from .._validation import NORM, SAMPLES, check_samples, public, real, show
from ._common import check_norm

DEFAULT_EPS_FRACTION = 0.2


@public({"X": SAMPLES, "norm": NORM, "fraction": [real(0.0, closed="neither")]})
def default_eps(X, *, norm=2, fraction=DEFAULT_EPS_FRACTION):
    """Default perturbation radius: a fraction of the spread of ``X``.

    The radius is ``fraction`` times the root-mean-square distance (in
    ``norm``) of the rows of ``X`` to their mean, in the units of ``X``. On
    standardised data (every non-constant feature with unit standard
    deviation) and ``norm=2`` it is ``fraction * sqrt(n_features)``: an L2
    ball whose root-mean-square move per feature is ``fraction`` standard
    deviations, the same for every feature. On raw data it inherits the
    scale of the widest features, which is why the command line measures
    ``eps`` in standard deviations by default (``--eps-units std``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Reference inputs (e.g. the training data), in the units ``eps`` is to
        be measured in.
    norm : {2, np.inf}, default=2
        Norm of the perturbation ball.
    fraction : float, default=0.2
        Fraction of the root-mean-square distance to the mean.

    Returns
    -------
    eps : float
        The radius, in the units of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip.robustness import default_eps
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.standard_normal((1000, 16))
    >>> Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    >>> round(default_eps(Z), 6)  # 0.2 * sqrt(16)
    0.8
    """
    norm = check_norm(norm)
    if not (np.isfinite(fraction) and fraction > 0):
        raise ValueError(f"fraction must be a finite number > 0; got {show(fraction)}.")
    X = check_samples(X, None)
    D = X - X.mean(axis=0)
    if norm == np.inf:
        dist = np.abs(D).max(axis=1)
    else:
        # Scale before squaring: the norm of a huge row would overflow.
        top = np.abs(D).max(axis=1, keepdims=True)
        top[top == 0] = 1.0
        dist = top[:, 0] * np.linalg.norm(D / top, axis=1)
    top = dist.max()
    if top == 0:
        return 0.0
    return float(fraction * top * np.sqrt(np.mean((dist / top) ** 2)))
