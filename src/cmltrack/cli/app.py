"""The ``cmltrack`` command. Sub-commands live in sibling modules and register on ``app``."""

from __future__ import annotations

import sys
import warnings

import typer

from cmltrack import DISCLAIMER, __version__
from cmltrack.errors import CmltrackError, InputError, InputWarning
from cmltrack.textsafe import terminal_safe

app = typer.Typer(
    name="cmltrack",
    help="Decision support and cohort statistics for CML on TKIs. " + DISCLAIMER,
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell.
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cmltrack {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", is_eager=True, callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
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


def _show_warning(message: Warning | str, category: type[Warning], *args: object,
                  **kwargs: object) -> None:
    if issubclass(category, InputWarning):
        sys.stderr.write(terminal_safe(f"warning: {message}", keep_newlines=False) + "\n")
    else:
        _default_showwarning(message, category, *args, **kwargs)  # type: ignore[arg-type]


_default_showwarning = warnings.showwarning


def run(argv: list[str]) -> int:
    """Run the CLI on ``argv`` and return the exit status (used by ``main`` and the tests).

    Input warnings (ignored FHIR codes, ...) are printed as ``warning: ...`` lines on standard
    error, every one, and never change the exit status.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)
        warnings.showwarning = _show_warning
        return _run(argv)


def _run(argv: list[str]) -> int:
    _register()
    try:
        rc = app(args=argv, standalone_mode=False, prog_name="cmltrack")
    except (InputError, CmltrackError) as exc:
        sys.stderr.write(terminal_safe(f"cmltrack: error: {exc}", keep_newlines=False) + "\n")
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("cmltrack: aborted\n")
        return 130
    except Exception as exc:
        # Usage errors of the (vendored) click parser: one line, their own exit status (2).
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            message = exc.format_message().strip()
            # click's "no arguments: here is the help" carries no message: no empty error line.
            if message:
                sys.stderr.write(terminal_safe(f"cmltrack: error: {message}") + "\n")
            return int(exc.exit_code)
        raise
    return int(rc) if isinstance(rc, int) else 0
