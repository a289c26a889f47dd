"""The command line: ``sklip`` (or ``python -m sklip``).

- ``sklip demo`` (also bare ``sklip``): the main job on built-in data;
- ``sklip search``: the same on a CSV file;
- ``sklip evaluate``: a saved model's scores, bounds and robustness.

Bad input ends with one line on stderr and exit status 2.
"""

import os
import sys

from .._validation import plain_message
from ._args import CLIError, Formatter, Parser

SUBCOMMANDS = ("demo", "search", "evaluate")


def build_parser():
    """The parser of ``sklip`` and its subcommands."""
    from .. import __version__
    from . import demo, evaluate, search

    parser = Parser(
        prog="sklip",
        description="Train, measure and certify Lipschitz-controlled MLPs. "
        "Without a subcommand, runs 'demo'.",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"sklip {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="{demo,search,evaluate}")
    for module in (demo, search, evaluate):
        sub = module.add_parser(subparsers)
        sub.formatter_class = Formatter
    return parser


def main(argv=None):
    """Entry point of ``python -m sklip`` and ``sklip``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (
        argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")
    ):
        argv = ["demo", *argv]
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except CLIError as exc:
        print(
            f"sklip {args.command}: error: {plain_message(str(exc))}", file=sys.stderr
        )
        return 2
    except (ValueError, TypeError) as exc:
        if os.environ.get("SKLIP_DEBUG"):
            raise
        message = " ".join(plain_message(str(exc)).split())
        print(f"sklip {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sklip: interrupted", file=sys.stderr)
        return 130
    return 0
