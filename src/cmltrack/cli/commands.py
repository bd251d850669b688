"""Imports every sub-command module so that each registers itself on the app.

One module per line, so that each command's line is added with that command's commit.
"""

from cmltrack.cli import (
    assess,  # noqa: F401
    convert,  # noqa: F401
    demo,  # noqa: F401
    endpoints,  # noqa: F401
    plot,  # noqa: F401
    regimen,  # noqa: F401
    report,  # noqa: F401
    rules,  # noqa: F401
    serve,  # noqa: F401
    stats,  # noqa: F401
    summarize,  # noqa: F401
    synth,  # noqa: F401
    trial,  # noqa: F401
)
