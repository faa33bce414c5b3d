"""Problems found in a writer's files, and the exceptions that carry them.

Every stage reports bad input as `Problem`s (file, line, message, hint) and goes on with what it
could make where the next stages can: a page that cannot be read stands in for itself, a name that
refers to nothing is left out, so one run shows the problems of every stage. What leaves the next
stages nothing sound (settings, a data file, a template) raises one `BuildError` holding all of them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, printed as `source:line: message (hint)`."""

    source: str
    line: int
    message: str
    hint: str | None = None
    is_warning: bool = False

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        kind = "warning: " if self.is_warning else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: {kind}{self.message}{hint}"


def named_from(problem: Problem, root: Path, here: Path) -> Problem:
    """The problem with its file named from the folder the command runs in (`here`) rather than the project's
    (`root`): with --config ../other/site_config.yaml, content/index.md is ../other/content/index.md. A
    source that is no path, such as 'build', stays as it is; a folder far away is named in full."""
    root, here = root.resolve(), here.resolve()
    if root == here or not ("/" in problem.source or (root / problem.source).exists()):
        return problem
    relative = os.path.relpath(root / problem.source, here)
    return replace(problem, source=relative if not relative.startswith(f"..{os.sep}..") else str(root / problem.source))


class BuildError(Exception):
    """Bad input: carries every problem of the run; the CLI exits 1."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems), key=_problem_order)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[BuildError], tuple[list[Problem]]]:
        return BuildError, (self.problems,)  # raised in a worker process, it reaches the main process whole


class UsageError(Exception):
    """Bad command line or unusable paths: the CLI exits 2."""


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.source, problem.line, problem.message)


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name nearest to a misspelt one, or None when nothing is as close as `cutoff` (difflib's ratio)."""
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=cutoff)
    return matches[0] if matches else None


# Where a page is named by its slug and none has it: the page may be a draft, which a build leaves out.
DRAFT_HINT = "a page marked draft: true is left out of a build without --drafts"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint such as "did you mean 'title'?" for an unknown name, if one is close."""
    match = closest(word, choices)
    return f"did you mean '{match}'?" if match else None


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(not problem.is_warning for problem in problems)


def raise_if_errors(problems: Iterable[Problem]) -> list[Problem]:
    """Raise BuildError when any problem is an error; return the warnings otherwise."""
    problems = list(problems)
    if has_errors(problems):
        raise BuildError(problems)
    return problems
