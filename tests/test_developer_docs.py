"""The developer documentation in docs/ stays true to the code it describes."""

import inspect
import os
import re

import pytest

from sklstm import GRUClassifier, LSTMClassifier, LSTMRegressor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def _named_paths(text):
    return set(re.findall(r"`((?:sklstm|tests|benchmarks|examples|tools|docs)/[\w/.*-]+)`", text))


def _package_files():
    out = set()
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "sklstm")):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "data")]
        for f in filenames:
            if f.endswith(".py"):
                out.add(os.path.relpath(os.path.join(dirpath, f), ROOT).replace(os.sep, "/"))
    return out


def test_architecture_page_names_every_file_of_the_package():
    named = _named_paths(_read("docs", "ARCHITECTURE.md"))
    missing = sorted(_package_files() - named)
    assert not missing, f"docs/ARCHITECTURE.md does not say what these files hold: {missing}"


@pytest.mark.parametrize("page", ["ARCHITECTURE.md", "CONTRACT.md", "STYLE.md"])
def test_every_path_named_in_the_docs_exists(page):
    text = _read("docs", page)
    if page == "STYLE.md":  # its first table names the other projects' files we learn from
        text = text.split("## The examples", 1)[1]
    named = _named_paths(text)
    gone = sorted(p for p in named if "*" not in p and not os.path.exists(os.path.join(ROOT, p)))
    assert not gone, f"docs/{page} names files that do not exist: {gone}"


def test_files_listed_as_not_built_do_not_exist_yet():
    """When one of them is built, the architecture page must be updated with it."""
    text = _read("docs", "ARCHITECTURE.md")
    line = next((ln for ln in text.splitlines() if "Not built yet" in ln), None)
    if line is None:
        pytest.skip("docs/ARCHITECTURE.md lists nothing as not built yet")
    planned = re.findall(r"`(\w+\.py)`", line + text.split(line, 1)[1].split("\n\n", 1)[0])
    assert planned
    built = [p for p in planned if any(os.path.exists(os.path.join(ROOT, d, p)) for d in ("sklstm", "docs"))]
    assert not built, f"{built} exist now: describe them in docs/ARCHITECTURE.md's file tables"


def _contract_defaults():
    text = _read("docs", "CONTRACT.md")
    table = text.split("## Parameters and defaults", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        names, default = (c.strip() for c in line.strip("|").split("|")[:2])
        names, defaults = names.split(", "), default.split(", ")
        if len(defaults) != len(names):
            defaults = [default]
        rows.update(zip(names, defaults))
    return rows


def _literal(text):
    text = text.strip('"')
    return {"None": None, "True": True, "False": False}.get(text, text)


@pytest.mark.parametrize("cls", [LSTMClassifier, LSTMRegressor])
def test_contract_parameter_table_matches_the_estimators(cls):
    rows = _contract_defaults()
    params = {k: v.default for k, v in inspect.signature(cls).parameters.items()}
    table_only = set(rows) - set(params) - ({"class_weight"} if cls is LSTMRegressor else set())
    assert not table_only, f"docs/CONTRACT.md lists parameters {cls.__name__} lacks: {table_only}"
    assert not set(params) - set(rows), f"undocumented in docs/CONTRACT.md: {set(params) - set(rows)}"
    for name, doc in rows.items():
        if name not in params:
            continue
        want = params[name]
        got = _literal(doc)
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            got = float(got)
        elif isinstance(want, tuple):
            got = tuple(int(x) for x in re.findall(r"\d+", doc))
        assert got == want, f"docs/CONTRACT.md says {name}={doc}, {cls.__name__} has {want!r}"


def test_gru_estimators_default_to_the_gru_cell():
    assert inspect.signature(GRUClassifier).parameters["cell"].default == "gru"


def test_code_cites_the_repository_copy_of_the_contract():
    stale = []
    for top in ("sklstm", "tests", "benchmarks", "examples"):
        for dirpath, _, filenames in os.walk(os.path.join(ROOT, top)):
            for f in filenames:
                if f.endswith(".py") and f != os.path.basename(__file__):
                    path = os.path.join(dirpath, f)
                    with open(path, encoding="utf-8") as fh:
                        text = fh.read()
                    if re.search(r"(?<![/\w])(CONTRACT|ARCHITECTURE|STYLE)\.md", text):
                        stale.append(os.path.relpath(path, ROOT))
    assert not stale, f"cite docs/CONTRACT.md (the repository's copy), not a bare name: {stale}"


@pytest.mark.parametrize("module", ["_base", "_classifier", "_regressor", "_validation", "_training",
                                    "_objectives"])
def test_estimator_and_engine_modules_never_import_numba(module):
    text = _read("sklstm", module + ".py")
    assert not re.search(r"^\s*(import numba|from numba)", text, re.M)
