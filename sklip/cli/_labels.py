"""Names and the plotting module shared by the report's text and its figures."""

from ._args import CLIError

METRIC_NAMES = {"accuracy": "accuracy", "r2": "R^2"}


def candidate_name(entry):
    """``spectral (alpha=1)``, with the margin when there is one."""
    margin = entry.get("lipschitz_margin", 0.0)
    if entry["penalty"] == "none":
        text = "none"
    else:
        text = f"{entry['penalty']} (alpha={entry['alpha']:g}"
        text += f", margin={margin:.3g})" if margin else ")"
    if entry["penalty"] == "none" and margin:
        text += f" (margin={margin:.3g})"
    return text


def pyplot():
    """matplotlib's pyplot on the Agg backend, or a clear error."""
    try:
        import matplotlib
    except ImportError:
        raise CLIError(
            "the report's figures need matplotlib: pip install 'sklip[cli]' "
            "(or --output '' for no report)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
