"""The ``cmltrack`` command. Sub-commands live in sibling modules and register on ``app``."""

from __future__ import annotations

import sys

import typer

from cmltrack import DISCLAIMER, __version__
from cmltrack.errors import CmltrackError, InputError

app = typer.Typer(
    name="cmltrack",
    help="Decision support and cohort statistics for CML on TKIs. " + DISCLAIMER,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """cmltrack: decision support and cohort statistics for CML on TKIs."""


@app.command()
def version() -> None:
    """Print the cmltrack version."""
    typer.echo(__version__)


def _register() -> None:
    # Sub-command modules import the heavy parts lazily inside their commands.
    from cmltrack.cli import commands  # noqa: F401


def main() -> None:
    """Entry point: every bad input becomes one line on standard error and exit status 2."""
    sys.exit(run(sys.argv[1:]))


def run(argv: list[str]) -> int:
    """Run the CLI on ``argv`` and return the exit status (used by ``main`` and the tests)."""
    _register()
    try:
        rc = app(args=argv, standalone_mode=False, prog_name="cmltrack")
    except (InputError, CmltrackError) as exc:
        sys.stderr.write(f"cmltrack: error: {exc}\n")
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("cmltrack: aborted\n")
        return 130
    except Exception as exc:
        # Usage errors of the (vendored) click parser: one line, their own exit status (2).
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            sys.stderr.write(f"cmltrack: error: {exc.format_message()}\n")
            return int(exc.exit_code)
        raise
    return int(rc) if isinstance(rc, int) else 0
