"""Write the intersphinx inventories of scikit-learn, NumPy and Numba into ``docs/_inventories/``.

The documentation builds without the internet (CI has none), so intersphinx
cannot download each project's ``objects.inv``. This script writes small
ones instead, from the public names of the installed packages and the URL
patterns of each project's documentation:

* scikit-learn: every name in the ``__all__`` of its public modules (or
  defined there, for a module without one), at
  ``modules/generated/<name>.html`` (public methods of classes too), and
  the modules at ``api/<module>.html``;
* NumPy: the top-level functions, classes and ufuncs at
  ``reference/generated/numpy.<name>.html``, scalar types, constants,
  ``ndarray`` methods and ``numpy.random``'s generator API;
* Numba: the few entry points that the sklstm docs mention (a curated list:
  its reference pages are not one page per name).

Run it after upgrading one of them (the inventories are committed)::

    python tools/make_inventories.py
"""

import importlib
import inspect
import os
import pkgutil
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs", "_inventories")


def write_inventory(path, project, version, entries):
    """Write ``entries`` (name, role, uri) as a version-2 Sphinx inventory."""
    lines = [f"{name} py:{role} 1 {uri} -" for name, role, uri in sorted(set(entries))]
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    with open(path, "wb") as f:
        f.write(header.encode())
        f.write(zlib.compress(("\n".join(lines) + "\n").encode()))
    print(f"{path}: {len(lines)} names")


def _methods(cls):
    return [m for m, v in vars(cls).items() if not m.startswith("_") and callable(v)]


def sklearn_entries():
    import sklearn

    entries = []
    skip = ("tests", "externals", "experimental")
    names = (m.name for m in pkgutil.walk_packages(sklearn.__path__, "sklearn.", onerror=lambda n: None))
    modules = sorted(n for n in names if not any(p.startswith("_") or p in skip for p in n.split(".")))
    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - an optional dependency missing
            continue
        public = getattr(mod, "__all__", None)
        if public is None:  # sklearn.base: the names defined there
            public = [n for n, v in vars(mod).items()
                      if not n.startswith("_") and getattr(v, "__module__", None) == modname]
        top = ".".join(modname.split(".")[:2])
        entries.append((modname, "module", f"api/{top}.html#module-{modname}"))
        for name in public:
            try:
                obj = getattr(mod, name)
            except ImportError:  # experimental names (HalvingGridSearchCV) need an enabling import
                continue
            full = f"{modname}.{name}"
            if inspect.isclass(obj):
                entries.append((full, "class", f"modules/generated/{full}.html#{full}"))
                entries += [(f"{full}.{m}", "method", f"modules/generated/{full}.html#{full}.{m}")
                            for m in _methods(obj)]
            elif callable(obj):
                entries.append((full, "function", f"modules/generated/{full}.html#{full}"))
    return entries


def numpy_entries():
    import numpy as np

    entries = [("numpy", "module", "reference/index.html#module-numpy")]
    for name in np.__all__ if hasattr(np, "__all__") else dir(np):
        if name.startswith("_"):
            continue
        obj = getattr(np, name, None)
        full = f"numpy.{name}"
        if isinstance(obj, float):
            entries.append((full, "data", f"reference/constants.html#{full}"))
        elif inspect.isclass(obj) and issubclass(obj, np.generic):
            entries.append((full, "class", f"reference/arrays.scalars.html#{full}"))
        elif inspect.isclass(obj):
            entries.append((full, "class", f"reference/generated/{full}.html#{full}"))
        elif callable(obj):
            entries.append((full, "function", f"reference/generated/{full}.html#{full}"))
    gen = "reference/generated"
    entries += [(f"numpy.ndarray.{m}", "method", f"{gen}/numpy.ndarray.{m}.html#numpy.ndarray.{m}")
                for m in _methods(np.ndarray)]
    rand = "reference/random"
    entries += [("numpy.random", "module", f"{rand}/index.html#module-numpy.random"),
                ("numpy.random.default_rng", "function", f"{rand}/generator.html#numpy.random.default_rng"),
                ("numpy.random.Generator", "class", f"{rand}/generator.html#numpy.random.Generator"),
                ("numpy.random.RandomState", "class",
                 f"{rand}/legacy.html#numpy.random.RandomState")]
    entries += [(f"numpy.random.Generator.{m}", "method",
                 f"{rand}/generated/numpy.random.Generator.{m}.html#numpy.random.Generator.{m}")
                for m in _methods(np.random.Generator)]
    entries += [(f"numpy.lib.format.{f}", "function", f"{gen}/numpy.lib.format.{f}.html"
                 f"#numpy.lib.format.{f}") for f in ("open_memmap",)]
    return entries


def numba_entries():
    jit = "reference/jit-compilation.html"
    threads = "user/threading-layer.html"
    entries = [("numba.jit", "function", f"{jit}#numba.jit"), ("numba.njit", "function", f"{jit}#numba.njit"),
               ("numba.set_num_threads", "function", f"{threads}#numba.set_num_threads"),
               ("numba.get_num_threads", "function", f"{threads}#numba.get_num_threads")]
    return entries


def main():
    import numba
    import numpy
    import sklearn

    os.makedirs(OUT, exist_ok=True)
    write_inventory(os.path.join(OUT, "sklearn.inv"), "scikit-learn", sklearn.__version__, sklearn_entries())
    write_inventory(os.path.join(OUT, "numpy.inv"), "NumPy", numpy.__version__, numpy_entries())
    write_inventory(os.path.join(OUT, "numba.inv"), "Numba", numba.__version__, numba_entries())


if __name__ == "__main__":
    main()
