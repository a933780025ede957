"""``python -m sklstm``: the main job and the application demos, on bundled or generated data.

Commands
--------
``python -m sklstm``  (same as ``python -m sklstm demo vowels``)
    Speaker recognition on the bundled UCI Japanese Vowels data: an LSTM on
    variable-length sequences, test accuracy next to an MLP baseline.
``python -m sklstm demo {vowels,tagging,airline,adding,stream} [--seed S]``
    One application each; ``adding`` takes ``--lag`` and ``--epochs``.
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
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    kwargs = {"seed": args.seed}
    if args.epochs is not None and args.name != "stream":
        kwargs["epochs"] = args.epochs
    if args.name == "adding":
        kwargs["lag"] = args.lag
    DEMOS[args.name](**kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
