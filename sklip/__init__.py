"""sklip: scikit-learn compatible neural networks with certified Lipschitz control."""

from .neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor

__version__ = "0.1.0"

__all__ = ["LipschitzMLPClassifier", "LipschitzMLPRegressor"]
