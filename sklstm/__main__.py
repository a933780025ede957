"""``python -m sklstm``: the main job and the application demos, on bundled or generated data.

Commands
--------
``python -m sklstm``  (same as ``python -m sklstm demo vowels``)
    Speaker recognition on the bundled UCI Japanese Vowels data: an LSTM on
    variable-length sequences, test accuracy next to an MLP baseline.
``python -m sklstm demo {vowels,tagging,airline,adding,stream,text,generate,translate,caption} [--seed S]``
    One application each; ``adding`` takes ``--lag``, and every demo but
    ``stream`` takes ``--epochs``. ``generate`` trains character language
    models on Jane Austen and on the standard library's source, next to
    n-gram baselines, and writes samples (about six minutes). ``translate``
    trains encoder-decoders that turn dates written in words (English,
    French, German) into ISO dates, with and without attention, greedy and
    beam search; ``caption`` writes captions from feature vectors.
``python -m sklstm versions``
    Print :func:`sklstm.show_versions` (for bug reports).
``python -m sklstm compile [--dtype float32 [float64]] [--jobs N]``
    Compile every kernel now, on all cores, into numba's on-disk cache (the
    first fit on a new machine otherwise compiles them one by one).
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    """Entry point of ``python -m sklstm``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (defaults to ``sys.argv[1:]``).

    Returns
    -------
    status : int
        Process exit status.
    """
    from ._demos import DEMOS

    parser = argparse.ArgumentParser(prog="python -m sklstm", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run one application on bundled or generated data")
    demo.add_argument("name", nargs="?", default="vowels", choices=sorted(DEMOS))
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--epochs", type=int, default=None, help="override the demo's epoch budget")
    demo.add_argument("--lag", type=int, default=100, help="adding problem: sequence length")
    comp = sub.add_parser("compile", help="compile every kernel now into numba's on-disk cache")
    comp.add_argument("--dtype", nargs="+", default=["float32"], choices=["float32", "float64"],
                      help="the estimators' dtype(s) (default: float32)")
    comp.add_argument("--jobs", type=int, default=-1, help="processes to use (default: -1, every CPU)")
    sub.add_parser("versions", help="print versions, CPU, kernels and threads (for bug reports)")
    args = parser.parse_args(argv)
    if args.command == "versions":
        from ._show_versions import show_versions

        show_versions()
        return 0
    if args.command is None:
        args = parser.parse_args(["demo"])
    if args.command == "compile":
        if args.jobs == 0:
            comp.error("--jobs must be a positive count, or -1 for every CPU")
        return _compile(dict.fromkeys(args.dtype), args.jobs)
    kwargs = {"seed": args.seed}
    if args.epochs is not None and args.name != "stream":
        kwargs["epochs"] = args.epochs
    if args.name == "adding":
        kwargs["lag"] = args.lag
    DEMOS[args.name](**kwargs)
    return 0


def _compile(dtypes, jobs) -> int:
    import time

    from ._precompile import precompile

    for dtype in dtypes:
        t0 = time.perf_counter()
        precompile(dtype, n_jobs=jobs)
        print(f"{dtype} kernels compiled and cached in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
