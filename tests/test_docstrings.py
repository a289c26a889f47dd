"""numpydoc validation of the public API, and docstrings on long functions.

As scikit-learn's ``sklearn/tests/test_docstrings.py``: every public function,
class and public method (defined in sklip) reachable from ``sklip.__all__`` or
a public subpackage's ``__all__`` passes numpydoc's checks, except the codes of
``IGNORED`` (see there why). A second check walks the source with ``ast``:
every function over 10 lines has a docstring.
"""

import ast
import importlib
import inspect
import pathlib
import pkgutil
import re
import textwrap

import pytest

import sklip

numpydoc_validation = pytest.importorskip(
    "numpydoc.validate", reason="numpydoc (in the test extra) validates docstrings"
)

ROOT = pathlib.Path(sklip.__file__).parent

# Codes ignored everywhere or for some kinds of objects (scikit-learn's list,
# minus what sklip already satisfies, e.g. every public function has Examples):
# - RT02 wants the Returns line to be the type alone; we name the returned
#   object (``score : float``), as scikit-learn does.
# - GL01/GL02: where the summary starts and blank lines around it; style only,
#   ignored by scikit-learn too.
# - SA01 (See Also) and ES01 (extended summary) are required of classes only:
#   many functions are one sentence long by nature (``default_eps``).
# - EX01 (Examples) is required of classes and functions, not of methods: the
#   class's example shows them.
IGNORED_EVERYWHERE = {"RT02", "GL01", "GL02"}
IGNORED_FOR_FUNCTIONS = {"SA01", "ES01"}
IGNORED_FOR_METHODS = {"SA01", "ES01", "EX01"}


def _public_modules():
    """``sklip`` and every public subpackage or module that declares ``__all__``.

    Found by walking the package, so a new public subpackage (say
    ``sklip.verification``) is checked as soon as it exists.
    """
    modules = [sklip]
    for info in pkgutil.iter_modules(sklip.__path__, "sklip."):
        if info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            modules.append(module)
    return modules


def _defined_in_sklip(obj):
    func = obj.fget if isinstance(obj, property) else obj
    return getattr(func, "__module__", "").split(".")[0] == "sklip"


def _api_objects():
    """``(import path, kind, object)`` of every public object to validate.

    Each object once, under its first public path. Instances in ``__all__``
    (the ready-made ``lipschitz_scorer``) are data, documented in the API
    reference; their private class is not validated. Methods inherited from
    scikit-learn (``get_params``, ``set_fit_request``...) are scikit-learn's.
    """
    seen, items = set(), []
    for module in _public_modules():
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            path = f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                items.append((path, "class", obj))
                for attr in sorted(dir(obj)):
                    if attr.startswith("_"):
                        continue
                    member = inspect.getattr_static(obj, attr)
                    if not isinstance(member, property):
                        # Resolves classmethods and scikit-learn's available_if
                        # (``partial_fit``), which wraps the function it guards.
                        member = getattr(obj, attr)
                    if (
                        inspect.isroutine(member) or isinstance(member, property)
                    ) and _defined_in_sklip(member):
                        items.append((f"{path}.{attr}", "method", member))
            elif inspect.isfunction(obj):
                items.append((path, "function", obj))
    return items


API = _api_objects()


def _errors(path, kind):
    """numpydoc's errors for ``path`` not excused by the lists above."""
    ignored = set(IGNORED_EVERYWHERE)
    ignored |= {"function": IGNORED_FOR_FUNCTIONS, "method": IGNORED_FOR_METHODS}.get(
        kind, set()
    )
    out = []
    for code, message in numpydoc_validation.validate(path)["errors"]:
        if code in ignored:
            continue
        if code == "PR01":
            # Private keyword parameters (``perturb(_start=...)``, an internal
            # warm start) are not part of the API and stay undocumented.
            missing = re.findall(r"'([^']+)'", message)
            if missing and all(name.startswith("_") for name in missing):
                continue
        out.append(f"{code}: {message}")
    return out


def test_api_is_found():
    # Guards the walk itself: an empty or partial list would pass vacuously.
    paths = {path for path, _, _ in API}
    for expected in (
        "sklip.LipschitzMLPClassifier",
        "sklip.LipschitzMLPClassifier.fit",
        "sklip.LipschitzMLPClassifier.partial_fit",
        "sklip.lipschitz_bound",
        "sklip.perturb",
        "sklip.RobustnessCurveDisplay.from_estimator",
        "sklip.pipeline.Pipeline",
        "sklip.pipeline.make_pipeline",
        "sklip.distributed.connect",
    ):
        assert expected in paths
    assert "sklip.LipschitzMLPClassifier.get_params" not in paths


@pytest.mark.parametrize(
    ("path", "kind"),
    [pytest.param(path, kind, id=f"{path}-{kind}") for path, kind, _ in API],
)
def test_numpydoc(path, kind):
    errors = _errors(path, kind)
    assert not errors, f"{path}:\n  " + "\n  ".join(errors)


def _check_source(func):
    """``_errors`` of a function defined in this test module."""
    name = f"_probe_{func.__name__}"
    globals()[name] = func
    try:
        return _errors(f"{__name__}.{name}", "function")
    finally:
        del globals()[name]


def test_filter_keeps_real_errors():
    # The filter must not swallow what it is there to catch.
    def wrong(a, b):
        """Do something.

        Parameters
        ----------
        a : int
            The a.
        c : int
            Not a parameter.
        """
        return a

    codes = {e.split(":")[0] for e in _check_source(wrong)}
    assert {"PR01", "PR02", "RT01", "EX01"} <= codes, codes

    def private(a, _start=None):
        """Do something.

        Parameters
        ----------
        a : int
            The a.

        Returns
        -------
        a : int
            The a.

        Examples
        --------
        >>> 1
        1
        """
        return a

    assert _check_source(private) == []


# -- every function over 10 lines has a docstring -----------------------------

MAX_UNDOCUMENTED_LINES = 10


def _has_doc(cls):
    """Whether a class has a docstring, literal or assembled (``__doc__ = f"..."``)."""
    if ast.get_docstring(cls) is not None:
        return True
    return any(
        isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__doc__" for t in stmt.targets)
        for stmt in cls.body
    )


def _long_undocumented(sources=None):
    """``"path::qualname"`` of every function over 10 lines without a docstring.

    ``__init__`` is documented by its class (numpydoc's convention: the
    constructor's parameters are in the class docstring), so it counts as
    documented when its class has a docstring. ``sources`` maps a path to
    its source text; None walks every module of sklip.
    """
    if sources is None:
        sources = {
            file.relative_to(ROOT.parent).as_posix(): file.read_text()
            for file in sorted(ROOT.rglob("*.py"))
        }
    found = set()

    def visit(node, prefix, path, cls):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", path, child)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n_lines = child.end_lineno - child.lineno + 1
                documented = ast.get_docstring(child) is not None or (
                    child.name == "__init__" and cls is not None and _has_doc(cls)
                )
                if n_lines > MAX_UNDOCUMENTED_LINES and not documented:
                    found.add(f"{path}::{prefix}{child.name}")
                visit(child, f"{prefix}{child.name}.", path, None)
            else:
                visit(child, prefix, path, cls)

    for path, source in sources.items():
        visit(ast.parse(source), "", path, None)
    return found


def test_long_functions_have_docstrings():
    missing = _long_undocumented()
    assert not missing, (
        f"functions over {MAX_UNDOCUMENTED_LINES} lines without a docstring:\n  "
        + "\n  ".join(sorted(missing))
    )


def test_long_function_walk_finds_them():
    # Guards the walk: long undocumented functions are reported, nested ones
    # under their qualified name; documented and short ones, and the
    # __init__ of a documented class, are not.
    lines = "x = 1\n" * 10
    source = textwrap.dedent(
        '''
        def top():
        {0}
        def documented():
            """Doc."""
        {0}
        def short():
            return 1

        class A:
            """Doc."""

            def __init__(self):
        {1}
            def method(self):
                def inner():
        {2}
                return inner
        '''
    ).format(
        textwrap.indent(lines, " " * 4),
        textwrap.indent(lines, " " * 8),
        textwrap.indent(lines, " " * 12),
    )
    found = _long_undocumented({"m.py": source})
    assert found == {"m.py::top", "m.py::A.method", "m.py::A.method.inner"}
