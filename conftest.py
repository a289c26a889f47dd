"""Test-session setup shared by tests/ and the doctests in sklip/."""

import os

# scikit-learn's estimator checks include one that enables array API dispatch
# with NumPy inputs and checks that results do not change. It is skipped
# unless SciPy's array API support is switched on, which must happen before
# SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
