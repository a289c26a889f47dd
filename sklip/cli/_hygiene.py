"""Columns that are not features: row ids, free text, dates, decimal commas.

One-hot encoding a unique id gives one indicator per row; encoding free text
or dates gives a column per distinct string; numbers written with a decimal
comma would be read as text. :func:`screen` finds such columns so that
``sklip search`` drops them with a warning that names them (``--features``,
``--categorical`` and ``--decimal`` override).
"""

import re

import numpy as np

# A text column with more distinct values than this fraction of its rows
# (and at least MIN_LEVELS of them) is free text or an id, not a category.
MAX_LEVEL_FRACTION = 0.5
MIN_LEVELS = 20
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DATE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2})?)?$"
)

REASONS = {
    "id": "id-like (a distinct value on every row)",
    "text": "free text (too many distinct values to be a category)",
    "date": "date-like",
    "decimal": "numbers with a decimal comma (pass --decimal , to read them)",
}


def _share(values, pattern):
    return float(values.map(lambda v: bool(pattern.match(v))).mean())


def kind_of(column):
    """``"id"``, ``"text"``, ``"date"``, ``"decimal"`` or None (a feature)."""
    values = column.dropna()
    n = len(values)
    if n == 0:
        return None
    if column.dtype.kind in "iu":
        # Row numbers: every value distinct and consecutive.
        distinct = np.unique(values.to_numpy())
        if (
            n >= MIN_LEVELS
            and distinct.size == n
            and distinct[-1] - distinct[0] == n - 1
        ):
            return "id"
        return None
    if column.dtype.kind in "bf":
        return None
    text = values.astype(str).str.strip()
    if _share(text, _DECIMAL_COMMA) >= 0.9:
        return "decimal"
    if _share(text, _DATE) >= 0.9:
        return "date"
    levels = text.nunique()
    words = float(text.str.contains(r"\s").mean())
    if n >= MIN_LEVELS and levels == n and words < 0.5:
        return "id"
    if levels >= MIN_LEVELS and levels > MAX_LEVEL_FRACTION * n:
        return "text"
    return None


def screen(frame, names):
    """``{name: kind}`` of the columns of ``names`` that are not features."""
    found = {}
    for name in names:
        kind = kind_of(frame[name])
        if kind is not None:
            found[name] = kind
    return found


def describe(found):
    """``'id-like (...): a, b; date-like: d'`` for a warning."""
    parts = []
    for kind, reason in REASONS.items():
        names = [name for name, k in found.items() if k == kind]
        if names:
            parts.append(f"{reason}: {', '.join(names)}")
    return "; ".join(parts)
