"""The examples in the public API's docstrings run as written (from the project root)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "cmltrack",
    "cmltrack.display",
    "cmltrack.stats.design",
    "cmltrack.stats.table1",
    "cmltrack.stats.survival",
    "cmltrack.stats.competing",
    "cmltrack.stats.cox",
    "cmltrack.stats.current",
    "cmltrack.stats.rates",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    tests = finder.find(module, name, extraglobs={"__name__": name})
    if name == "cmltrack":  # the lazy attributes' example lives on __getattr__
        tests = finder.find(module.__getattr__, "cmltrack.__getattr__", globs={})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = 0
    for test in tests:
        examples += len(test.examples)
        runner.run(test)
    assert examples > 0
    assert runner.failures == 0
