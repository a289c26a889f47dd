"""Attacks, robustness metrics, certified accuracy, scorers and displays.

- :func:`perturb`: noise, FGSM and PGD perturbations within an L2/Linf ball;
- :func:`robust_accuracy`, :func:`prediction_stability`, :func:`robust_r2`,
  :func:`max_output_deviation`: scores under attack;
- :func:`certified_radius`, :func:`certified_accuracy`,
  :func:`certified_max_output_deviation`: guarantees (Lipschitz margin,
  CROWN, alpha-CROWN, complete verification; ``method=``);
- :func:`certify`: per-sample verdicts, the method that decided each and
  counterexamples; certified output intervals of regressors;
- :func:`make_robustness_scorer`: any of the above for model selection;
- :class:`RobustnessCurveDisplay`: score against perturbation size;
- :func:`default_eps`: the default radius every consumer shares.

All radii ``eps`` are in raw input units (before any Pipeline preprocessing).
``X`` is handed to the model in the type and column order given (DataFrames
included); ``features=`` selects the columns perturbed and certified, and
categorical columns are held fixed.
"""

from ._attacks import perturb
from ._certify import (
    certified_accuracy,
    certified_max_output_deviation,
    certified_radius,
)
from ._display import RobustnessCurveDisplay
from ._metrics import (
    max_output_deviation,
    prediction_stability,
    robust_accuracy,
    robust_r2,
)
from ._scorer import make_robustness_scorer
from ._units import default_eps
from ._verify import CertifyResult, certify

__all__ = [
    "CertifyResult",
    "RobustnessCurveDisplay",
    "certify",
    "certified_accuracy",
    "certified_max_output_deviation",
    "certified_radius",
    "default_eps",
    "make_robustness_scorer",
    "max_output_deviation",
    "perturb",
    "prediction_stability",
    "robust_accuracy",
    "robust_r2",
]
