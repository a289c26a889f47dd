"""sklip: scikit-learn compatible neural networks with certified Lipschitz control."""

from .lipschitz import *  # noqa: F403
from .lipschitz import __all__ as _lipschitz_all
from .neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor

__version__ = "0.1.0"

__all__ = ["LipschitzMLPClassifier", "LipschitzMLPRegressor", *_lipschitz_all]
