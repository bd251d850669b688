"""The command line: parse input, call the core, render output."""
