"""The documentation site's sources stay complete without building it (no Sphinx needed).

``tools/build_docs.py`` builds the site in ``.ci/run``; these checks are cheap
and run with the test suite: the API reference documents every public name,
the README sections that the user guide includes are still there, every
reference to scikit-learn, NumPy or Numba resolves in the committed
inventories, and the offline link checker finds broken links.
"""

import importlib
import os
import re
import sys
import zlib

import pytest

import sklstm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
sys.path.insert(0, os.path.join(ROOT, "tools"))

from check_links import broken_links  # noqa: E402


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def _public_modules():
    return ["sklstm"] + [f"sklstm.{name}" for name in sklstm._SUBMODULES]


def _documented():
    """Objects and data names that docs/api.rst documents: ``{qualified name: object or None}``."""
    text = _read("docs", "api.rst")
    out, module = {}, None
    for block in re.split(r"\n(?=\.\. )", text):
        m = re.match(r"\.\. currentmodule:: (\S+)", block)
        if m:
            module = m.group(1)
        elif block.startswith(".. autosummary::"):
            mod = importlib.import_module(module)
            for line in block.splitlines()[1:]:
                if line and not line.startswith("   "):
                    break  # the directive's indented body ends
                name = line.strip()
                if name and not name.startswith(":"):
                    out[f"{module}.{name}"] = getattr(mod, name)
        else:
            m = re.match(r"\.\. py:data:: (\S+)", block)
            if m:
                out[f"{module}.{m.group(1)}"] = None
    return out


def test_api_reference_documents_every_public_name():
    """A new public class or function must be added to docs/api.rst (once: re-exports count)."""
    documented = _documented()
    objects = [obj for obj in documented.values() if obj is not None]
    missing = []
    for modname in _public_modules():
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(mod, name)
            data = not (callable(obj) and hasattr(obj, "__qualname__"))
            if f"{modname}.{name}" not in documented and (data or not any(obj is o for o in objects)):
                missing.append(f"{modname}.{name}")
    assert not missing, f"docs/api.rst does not document: {missing}"


def test_api_reference_names_only_public_objects():
    for qualname, obj in _documented().items():
        modname, name = qualname.rsplit(".", 1)
        assert name in importlib.import_module(modname).__all__, f"{qualname} is not public"


def test_every_public_module_has_a_section():
    text = _read("docs", "api.rst")
    for modname in _public_modules():
        assert f".. automodule:: {modname}\n" in text, modname


INCLUDE = re.compile(r"```\{include\} (\S+)\n((?::[\w-]+: .*\n)*)```")


def _includes():
    for name in sorted(os.listdir(os.path.join(DOCS, "user_guide"))):
        if name.endswith(".md"):
            for target, options in INCLUDE.findall(_read("docs", "user_guide", name)):
                opts = dict(re.findall(r":([\w-]+): \"?(.*?)\"?\n", options))
                yield name, os.path.normpath(os.path.join(DOCS, "user_guide", target)), opts


def test_user_guide_includes_find_their_sections():
    """The user guide includes README sections between headings: a renamed heading breaks the site."""
    seen = 0
    for page, target, opts in _includes():
        assert os.path.isfile(target), f"{page} includes {target}, which does not exist"
        with open(target, encoding="utf-8") as f:
            text = f.read()
        start = 0
        if "start-after" in opts:
            start = text.find(opts["start-after"])
            assert start >= 0, f"{page}: {opts['start-after']!r} is not in {os.path.basename(target)}"
            seen += 1
        if "end-before" in opts:
            assert text.find(opts["end-before"], start) > start, \
                f"{page}: {opts['end-before']!r} does not follow in {os.path.basename(target)}"
    assert seen >= 8


def _inventory(name):
    with open(os.path.join(DOCS, "_inventories", f"{name}.inv"), "rb") as f:
        data = f.read()
    lines = zlib.decompress(data.split(b"\n", 4)[4]).decode().splitlines()  # after the 4 header lines
    return {line.split(" ", 1)[0] for line in lines}


def _doc_sources():
    for folder in (DOCS, os.path.join(DOCS, "user_guide")):
        for name in sorted(os.listdir(folder)):
            if name.endswith((".rst", ".md")):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    yield name, f.read()
    for dirpath, _, filenames in os.walk(os.path.join(ROOT, "sklstm")):
        for name in sorted(filenames):
            if name.endswith(".py"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    yield name, f.read()


@pytest.mark.parametrize("project", ["sklearn", "numpy", "numba"])
def test_references_to_other_projects_resolve_offline(project):
    """Every ``:role:`project.name``` written in the docs or the docstrings is in the committed inventory."""
    names = _inventory(project)
    assert len(names) > (3 if project == "numba" else 300)
    refs = set()
    for _, text in _doc_sources():
        refs |= set(re.findall(rf"[:}}]`~?({project}\.[\w.]+)`", text))
    assert refs, f"the docs link to {project} nowhere: is the pattern still right?"
    missing = sorted(refs - names)
    assert not missing, f"not in docs/_inventories/{project}.inv: {missing} (tools/make_inventories.py)"


def test_link_checker_finds_broken_files_and_anchors(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#there">ok</a> <a href="sub/page.html#nowhere">anchor</a> '
        '<img src="missing.png"> <a href="https://example.org/x.html">external</a> <a href="#top">self</a>'
        '<span id="top"></span>')
    (tmp_path / "sub" / "page.html").write_text('<h1 id="there">t</h1><a href="../index.html">up</a>'
                                                '<a href="../../outside.html">out</a>')
    broken, n_pages, n_links = broken_links(str(tmp_path))
    assert sorted((page, link) for page, link, _ in broken) == [
        ("index.html", "missing.png"), ("index.html", "sub/page.html#nowhere"),
        (os.path.join("sub", "page.html"), "../../outside.html")]
    assert (n_pages, n_links) == (2, 6)
