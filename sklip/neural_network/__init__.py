"""Multi-layer perceptrons with a spectral or Frobenius Lipschitz penalty."""

from ._classifier import LipschitzMLPClassifier
from ._regressor import LipschitzMLPRegressor

__all__ = ["LipschitzMLPClassifier", "LipschitzMLPRegressor"]
