"""Every public name has a numpydoc docstring, and the docstring examples run."""

import doctest
import importlib
import inspect
import warnings

import pytest

import sklstm

MODULES = ["sklstm", "sklstm._classifier", "sklstm._regressor", "sklstm._base", "sklstm._features",
           "sklstm.preprocessing", "sklstm.persistence", "sklstm.datasets", "sklstm.forecasting",
           "sklstm.inspection", "sklstm.exceptions"]
PUBLIC = ["sklstm", "sklstm.preprocessing", "sklstm.datasets", "sklstm.forecasting", "sklstm.inspection",
          "sklstm.persistence", "sklstm.exceptions"]


def _public_objects():
    for modname in PUBLIC:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            if name.startswith("__"):
                continue
            yield f"{modname}.{name}", getattr(mod, name)


@pytest.mark.parametrize("qualname,obj", list(_public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_objects_have_numpydoc(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc.splitlines()[0]) > 10, qualname
    if inspect.isfunction(obj) and inspect.signature(obj).parameters:
        assert "Parameters\n----------" in doc, qualname
    if inspect.isclass(obj) and not issubclass(obj, Warning):
        for name, member in vars(obj).items():
            if callable(member) and not name.startswith("_"):
                assert inspect.getdoc(member), f"{qualname}.{name}"


@pytest.mark.parametrize("modname", MODULES)
def test_docstring_examples_run(modname):
    mod = importlib.import_module(modname)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0


def test_version():
    assert isinstance(sklstm.__version__, str) and sklstm.__version__
