"""``python -m cmltrack``: the command line."""

from cmltrack.cli.app import main

main()
