"""Network views of fitted models, Lipschitz bounds and the Lipschitz scorer.

- :func:`as_network`: the raw-input -> raw-output network of a fitted model;
- :func:`lipschitz_bound`, :func:`pairwise_lipschitz_bounds`: certified upper
  bounds (Frobenius, spectral, Combettes-Pesquet);
- :func:`lipschitz_lower_bound`: an empirical lower bound the model attains;
- :func:`make_lipschitz_scorer`, :data:`lipschitz_scorer`: ``-bound`` as a
  scorer for ``GridSearchCV`` and ``cross_validate``.
"""

from .._core.view import as_network
from ._bounds import lipschitz_bound, pairwise_lipschitz_bounds
from ._lower import lipschitz_lower_bound
from ._scorer import lipschitz_scorer, make_lipschitz_scorer

__all__ = [
    "as_network",
    "lipschitz_bound",
    "lipschitz_lower_bound",
    "make_lipschitz_scorer",
    "lipschitz_scorer",
    "pairwise_lipschitz_bounds",
]
