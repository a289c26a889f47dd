"""Reading a user's CSV: columns typed, problems named, never a traceback.

Numeric columns are imputed with their median, categorical ones with their
most frequent value and one-hot encoded; the encoded numeric columns come
first, so the model's first ``n_numeric`` inputs are the numeric features in
their raw units.
"""

import pathlib

import numpy as np

from ._args import CLIError

MAX_CLASSES_FOR_INTEGER_TARGET = 20


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise CLIError(
            "reading CSV files needs pandas: pip install 'sklip[cli]'"
        ) from None
    return pd


def _looks_numeric(text):
    try:
        float(str(text).strip())
    except ValueError:
        return False
    return True


def _check_row_lengths(path, sep):
    """Every row has as many fields as the header; else name the first
    line that does not (pandas pads short rows with missing values)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=sep)
        header = next(reader, None)
        if header is None:
            return
        for row in reader:
            if row and len(row) != len(header):
                raise CLIError(
                    f"--data: line {reader.line_num} of {str(path)!r} has "
                    f"{len(row)} field(s), the header has {len(header)}; fix the "
                    f"row (is the separator {sep!r} right? --sep)"
                )


def read_csv(path, *, sep=",", decimal="."):
    """A DataFrame from ``path``; a missing, empty or headerless file, or a
    row with the wrong number of fields, is an error."""
    pd = _pandas()
    path = pathlib.Path(path)
    if not path.is_file():
        raise CLIError(f"--data: no such file: {str(path)!r}")
    if decimal == sep:
        raise CLIError(f"--decimal: {decimal!r} is also the separator (--sep)")
    _check_row_lengths(path, sep)
    try:
        frame = pd.read_csv(path, sep=sep, decimal=decimal, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise CLIError(f"--data: {str(path)!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        raise CLIError(f"--data: cannot parse {str(path)!r}: {message}") from None
    if frame.shape[1] < 2:
        hint = (
            f"; is the separator {sep!r} right? (--sep)" if frame.shape[1] == 1 else ""
        )
        raise CLIError(
            f"--data: {str(path)!r} has {frame.shape[1]} column(s), need a "
            f"target and at least one feature{hint}"
        )
    if all(_looks_numeric(name) for name in frame.columns):
        raise CLIError(
            f"--data: the first row of {str(path)!r} is all numbers "
            f"({', '.join(map(str, frame.columns[:4]))}, ...): the file seems to "
            "have no header row; add one naming the columns"
        )
    if frame.shape[0] == 0:
        raise CLIError(f"--data: {str(path)!r} has a header but no rows")
    return frame


def _malformed_numbers(column):
    """The first non-numeric value of a mostly numeric text column, else None."""
    values = column.dropna().astype(str).str.strip()
    if values.empty:
        return None
    numeric = values.map(_looks_numeric)
    if numeric.mean() >= 0.5 and not numeric.all():
        bad = values[~numeric]
        return bad.index[0], bad.iloc[0]
    return None


def split_columns(
    frame, *, target, features=None, path="--data", categorical=(), warn=None
):
    """``(X, y, numeric, categorical)``: the feature frame, target, and column kinds.

    Without ``features``, columns that are not features (ids, free text,
    dates, decimal commas; :mod:`._hygiene`) are dropped and ``warn`` is
    called with a sentence naming them. ``categorical`` columns are
    categorical whatever their values (e.g. integer-coded answers).
    """
    from ._hygiene import describe, screen

    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if target not in columns:
        raise CLIError(
            f"--target: no column {target!r} in {path}; columns are: "
            f"{', '.join(columns)}"
        )
    forced = list(dict.fromkeys(categorical))
    unknown = [c for c in forced if c not in columns or c == target]
    if unknown:
        raise CLIError(
            f"--categorical: no feature column {unknown[0]!r} in {path}; columns "
            f"are: {', '.join(columns)}"
        )
    if features is None:
        features = [c for c in columns if c != target]
        dropped = screen(frame, [c for c in features if c not in forced])
        if dropped:
            features = [c for c in features if c not in dropped]
            if warn is not None:
                warn(
                    f"dropped column(s) that are not features: {describe(dropped)} "
                    "(--features to choose the columns yourself)"
                )
            if not features:
                raise CLIError(
                    f"--data: no feature column left in {path} after dropping "
                    f"{describe(dropped)}; pass --features"
                )
    else:
        unknown = [c for c in features if c not in columns]
        if unknown:
            raise CLIError(
                f"--features: no column {unknown[0]!r} in {path}; columns are: "
                f"{', '.join(columns)}"
            )
        if target in features:
            raise CLIError(f"--features: the target {target!r} cannot be a feature")
        features = list(dict.fromkeys(features))
    X = frame[features]
    y = frame[target]
    if y.dtype.kind == "O":
        from ._hygiene import kind_of

        if kind_of(y) == "decimal":
            raise CLIError(
                f"--target: column {target!r} holds numbers with a decimal comma "
                f"(e.g. {y.dropna().iloc[0]!r}); pass --decimal ,"
            )
    if y.isna().any():
        rows = np.flatnonzero(y.isna().to_numpy())
        raise CLIError(
            f"--target: column {target!r} has {rows.size} missing value(s) "
            f"(first at data row {rows[0] + 1}); drop those rows"
        )
    numeric, categorical = [], []
    for name in features:
        column = X[name]
        if column.isna().all():
            raise CLIError(f"--data: column {name!r} has no values")
        if name in forced:
            categorical.append(name)
            continue
        if column.dtype.kind in "biuf":
            numeric.append(name)
            continue
        bad = _malformed_numbers(column)
        if bad is not None:
            row, value = bad
            raise CLIError(
                f"--data: column {name!r} holds numbers but also {value!r} "
                f"(data row {row + 1}); fix the value or leave the cell empty"
            )
        categorical.append(name)
    if not numeric:
        raise CLIError(
            "--features: no numeric feature column: robustness is measured by "
            "perturbing numeric features"
        )
    return X, y, numeric, categorical


def infer_task(y, task):
    """``"classification"`` or ``"regression"`` for target ``y``."""
    numeric = y.dtype.kind in "biuf"
    if task == "auto":
        if not numeric or y.dtype.kind == "b":
            task = "classification"
        else:
            values = y.to_numpy(dtype=float)
            integral = np.all(values == np.round(values))
            few = np.unique(values).size <= MAX_CLASSES_FOR_INTEGER_TARGET
            task = "classification" if integral and few else "regression"
    if task == "regression":
        if not numeric:
            bad = y[~y.astype(str).map(_looks_numeric)]
            raise CLIError(
                f"--task regression: target {y.name!r} is not numeric "
                f"(e.g. {bad.iloc[0]!r})"
            )
        y = y.astype(float)
    else:
        counts = y.value_counts()
        if counts.size < 2:
            raise CLIError(
                f"--target: column {y.name!r} has a single class "
                f"({counts.index[0]!r}); classification needs at least two"
            )
        y = y.astype(str) if not numeric else y
    return y, task


def check_class_counts(y, n_needed):
    """Every class needs ``n_needed`` rows for stratified splits."""
    counts = y.value_counts()
    rare = counts[counts < n_needed]
    if rare.size:
        raise CLIError(
            f"--target: class {rare.index[0]!r} of {y.name!r} has "
            f"{int(rare.iloc[0])} row(s); the test split and --cv folds need at "
            f"least {n_needed} per class"
        )


def make_encoder(X, numeric, categorical):
    """ColumnTransformer: median-imputed numeric columns, then one-hot categoricals.

    The categories are read from the whole file, so that every fold encodes
    to the same columns.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    transformers = [("numeric", SimpleImputer(strategy="median"), numeric)]
    if categorical:
        categories = [
            sorted(X[name].dropna().astype(str).unique()) for name in categorical
        ]
        transformers.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(
                        categories=categories,
                        handle_unknown="ignore",
                        sparse_output=False,
                    ),
                ),
                categorical,
            )
        )
    return ColumnTransformer(transformers, remainder="drop")


def as_text(X, categorical):
    """Categorical columns as strings (missing stays missing)."""
    if not categorical:
        return X
    X = X.copy()
    for name in categorical:
        X[name] = X[name].map(lambda v: v if v != v or v is None else str(v))
    return X
