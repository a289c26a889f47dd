"""Run the command line as a user runs it and read what it prints.

Plain helpers shared by the CLI tests (fixtures live in ``conftest.py``).
"""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"


def sklip(*args, cwd, pythonpath=()):
    """Run ``python -m sklip ARGS`` in ``cwd`` on this checkout's sklip.

    ``pythonpath`` directories come first on the path (e.g. a shim that
    hides an installed package).
    """
    path = os.pathsep.join([*map(str, pythonpath), str(ROOT)])
    env = dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")
    env.pop("SKLIP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "sklip", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sklip_in_process(*args, cwd):
    """``sklip.cli.main(ARGS)`` run in this process from ``cwd``, its output
    captured: what ``python -m sklip ARGS`` does without the interpreter's
    start-up (seconds per run), for the many runs that stop at a bad input.
    Returns an object with ``returncode``, ``stdout`` and ``stderr`` like
    :func:`sklip`'s."""
    import contextlib
    import io
    import types
    import warnings

    from sklip.cli import main

    out, err = io.StringIO(), io.StringIO()

    def show(message, category, filename, lineno, file=None, line=None):
        err.write(warnings.formatwarning(message, category, filename, lineno, line))

    here = os.getcwd()
    debug = os.environ.pop("SKLIP_DEBUG", None)
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            with warnings.catch_warnings():
                # A warning reaches stderr as in a fresh interpreter (whose
                # default filters hide these categories), not pytest's record.
                warnings.simplefilter("always")
                for hidden in (DeprecationWarning, PendingDeprecationWarning):
                    warnings.simplefilter("ignore", hidden)
                warnings.simplefilter("ignore", ImportWarning)
                warnings.simplefilter("ignore", ResourceWarning)
                warnings.showwarning = show
                try:
                    code = main([str(a) for a in args])
                except SystemExit as exc:  # argparse's own errors and --help
                    code = exc.code
    finally:
        os.chdir(here)
        if debug is not None:
            os.environ["SKLIP_DEBUG"] = debug
    return types.SimpleNamespace(
        returncode=code, stdout=out.getvalue(), stderr=err.getvalue()
    )


def one_line_error(run):
    """The single stderr line of a run that failed with exit status 2."""
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def evaluated(stdout):
    """``{label: number}`` of the ``label   number`` lines ``sklip evaluate``
    prints (accuracy, bounds, robust and certified scores)."""
    values = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}(-?[\d.]+(?:e[+-]?\d+)?)\b", line)
        if match:
            values[match.group(1).strip()] = float(match.group(2))
    return values


def robust_score(values):
    """The robust accuracy (or robust R^2) among :func:`evaluated` values."""
    return next(v for k, v in values.items() if k.startswith("robust"))


def eps_of(stdout):
    """The radius a run printed as ``eps = <number> (...)``."""
    return float(stdout.split("eps = ")[1].split()[0])


def held_out_row(stdout, label):
    """Numbers of the held-out table row of ``sklip search`` that starts with
    ``label``."""
    table = stdout.split("held-out test set")[1]
    for line in table.splitlines():
        if line.startswith(label):
            return [
                float(v) for v in re.findall(r"-?\d+\.\d+|-?\d+(?=\s|$)", line[33:])
            ]
    raise AssertionError(f"no row {label!r} in {table}")


def selected_candidate(stdout):
    """The candidate ``sklip search`` selected."""
    return stdout.split("selected: ")[1].splitlines()[0]


def check_png(path):
    """``path`` is a PNG image of a real figure, not a blank canvas."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    # Not a blank canvas: something was drawn.
    assert image[..., :3].std() > 0.01
