"""Every public name has a numpydoc docstring, and the docstring examples run."""

import doctest
import importlib
import importlib.util
import inspect
import warnings

import pytest

import sklstm

#: modules whose docstrings hold examples, and how many examples at least (a count of 0 would let a
#: module whose examples were lost pass unnoticed)
MODULES = {"sklstm._classifier": 9, "sklstm._regressor": 9, "sklstm._features": 9, "sklstm._streaming": 7,
           "sklstm.preprocessing": 5, "sklstm.persistence": 7, "sklstm.datasets": 15,
           "sklstm.forecasting": 11, "sklstm.inspection": 5, "sklstm._importance": 16,
           "sklstm._precompile": 1, "sklstm.text": 5,
           "sklstm.language_model": 5, "sklstm._ngram": 6, "sklstm._generated_text": 8,
           "sklstm.seq2seq": 4, "sklstm._forecaster": 5, "sklstm.onnx": 2,
           "sklstm._chunks": 12, "sklstm._show_versions": 2}
#: modules whose examples need an optional extra: skipped without it
OPTIONAL = {"sklstm.onnx": ("skl2onnx", "onnxruntime"), "sklstm._onnx_converters": ("skl2onnx",)}
PUBLIC = ["sklstm", "sklstm.preprocessing", "sklstm.datasets", "sklstm.forecasting", "sklstm.inspection",
          "sklstm.persistence", "sklstm.exceptions", "sklstm.text", "sklstm.language_model",
          "sklstm.seq2seq", "sklstm.onnx"]


def _public_objects():
    for modname in PUBLIC:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            if name.startswith("__"):
                continue
            yield f"{modname}.{name}", getattr(mod, name)


@pytest.mark.parametrize("qualname,obj", list(_public_objects()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_public_objects_have_numpydoc(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc.splitlines()[0]) > 10, qualname
    if inspect.isfunction(obj) and inspect.signature(obj).parameters:
        assert "Parameters\n----------" in doc, qualname
    if inspect.isclass(obj) and not issubclass(obj, Warning):
        for name, member in vars(obj).items():
            if callable(member) and not name.startswith("_"):
                assert inspect.getdoc(member), f"{qualname}.{name}"


@pytest.mark.parametrize("modname", sorted(MODULES))
def test_docstring_examples_run(modname):
    for extra in OPTIONAL.get(modname, ()):
        pytest.importorskip(extra)
    mod = importlib.import_module(modname)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
    assert res.attempted >= MODULES[modname], f"{modname}: {res.attempted} examples ran"


def test_every_public_module_with_examples_is_doctested():
    """A public module (or estimator module) with examples in its docstrings is in MODULES."""
    import pkgutil

    for info in pkgutil.iter_modules(sklstm.__path__):
        if any(importlib.util.find_spec(m) is None for m in OPTIONAL.get(f"sklstm.{info.name}", ())):
            continue
        mod = importlib.import_module(f"sklstm.{info.name}")
        finder = doctest.DocTestFinder()
        n = sum(len(t.examples) for t in finder.find(mod) if t.examples)
        if n:
            assert f"sklstm.{info.name}" in MODULES, f"sklstm.{info.name}: {n} examples that no test runs"


def test_version():
    assert isinstance(sklstm.__version__, str) and sklstm.__version__
