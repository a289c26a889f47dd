"""sklip: scikit-learn compatible neural networks with certified Lipschitz control.

The public API is re-exported here; each concept lives in its own subpackage:

- :mod:`sklip.neural_network`: ``LipschitzMLPClassifier`` and
  ``LipschitzMLPRegressor``, trained through the numeric core;
- :mod:`sklip.lipschitz`: network views of fitted models, certified upper and
  empirical lower Lipschitz bounds, and the Lipschitz scorer;
- :mod:`sklip.robustness`: attacks, robustness metrics, certified accuracy,
  scorers and the robustness curve display;
- :mod:`sklip.pipeline`: a scikit-learn Pipeline that hands its affine
  preprocessing to a sklip estimator, so the penalty acts in raw input units;
- :func:`limit_blas_threads` and the worker cap (``set_worker_blas_threads``):
  BLAS thread control, applied by default inside parallel workers;
- :mod:`sklip.distributed`: grid searches on a dask cluster;
- :func:`save` / :func:`load` (:mod:`sklip.persistence`): model files that
  run no code when loaded (skops).
"""

from . import pipeline as pipeline  # the submodule, not its names
from ._threads import (
    get_worker_blas_threads,
    limit_blas_threads,
    set_worker_blas_threads,
)
from .lipschitz import *  # noqa: F403
from .lipschitz import __all__ as _lipschitz_all
from .neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor
from .persistence import load, save
from .robustness import *  # noqa: F403
from .robustness import __all__ as _robustness_all

__version__ = "0.1.0"

__all__ = [
    "LipschitzMLPClassifier",
    "LipschitzMLPRegressor",
    *_lipschitz_all,
    *_robustness_all,
    "save",
    "load",
    "get_worker_blas_threads",
    "limit_blas_threads",
    "set_worker_blas_threads",
]
