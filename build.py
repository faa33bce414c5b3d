#!/usr/bin/env python3
"""Command line for the explainer generator: parse arguments, call the engine, report.

Exit status: 0 built, 1 problems in the content or settings, 2 usage errors.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

try:
    import engine
    from engine.settings import Settings
except ModuleNotFoundError as missing:  # run by a Python without the pinned libraries
    print(f"build.py: error: {missing} in {sys.executable} (run make build once, then use the Python it "
          "installs the libraries into: .venv/bin/python build.py)", file=sys.stderr)
    sys.exit(2)


COMMANDS = ["build", "check", "serve", "new"]


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line with a hint, exit 2, like every other problem the build reports."""

    given: list[str] = []

    def parse_args(self, args: Sequence[str] | None = None, namespace: None = None) -> argparse.Namespace:  # type: ignore[override]
        self.given = list(sys.argv[1:] if args is None else args)
        return super().parse_args(self.given)

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = "run build.py --help for the options"
        options = [o for action in self._actions for o in action.option_strings if o.startswith("--")]
        # A mistyped option before its value (--prot 8000) leaves the value to be read as the command: name the option.
        mistyped = [arg for arg in self.given if arg.startswith("--") and arg.split("=")[0] not in options]
        if message.startswith("argument command: invalid choice") and mistyped:
            message = f"unrecognized arguments: {mistyped[0]}"
        unknown = re.match(r"unrecognized arguments: (-\S+)", message)
        command = re.match(r"argument command: invalid choice: '([^']*)'", message)
        if unknown:
            hint = engine.errors.did_you_mean(unknown.group(1).split("=")[0], options) or hint
        elif command:
            hint = engine.errors.did_you_mean(command.group(1), COMMANDS) or hint
        print(f"build.py: error: {message} ({hint})", file=sys.stderr)
        raise SystemExit(2)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="build.py", description="Build the explainer site from content/ and layouts/.")
    parser.add_argument("command", nargs="?", default="build", choices=COMMANDS,
                        help="build (default), check the links of the built output, serve with live reload, "
                             "or write a new explainer into FOLDER")
    parser.add_argument("folder", nargs="?", metavar="FOLDER", help="new: the folder of the new explainer")
    parser.add_argument("--config", default="site_config.yaml", metavar="FILE", help="settings file (default: site_config.yaml)")
    parser.add_argument("--output", metavar="DIR", help="output folder (default: the settings' output, else output/)")
    parser.add_argument("--base-url", metavar="URL", help="override base_url, e.g. for a preview deploy")
    parser.add_argument("--preview", action="store_true",
                        help="a preview deploy: noindex everywhere, robots.txt disallows all, canonical stays base_url")
    parser.add_argument("--drafts", action="store_true", help="include pages marked draft: true")
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not fill the .cache/ folder")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="processes that render pages (default: one per CPU, up to 4, on sites large enough to gain)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--quiet", action="store_true", help="print nothing but problems")
    parser.add_argument("--online", action="store_true", help="check: also ask every external link over the network")
    parser.add_argument("--debug", action="store_true", help="show a traceback for engine errors")
    parser.add_argument("--host", default="127.0.0.1", help="serve: address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="serve: port (default 8000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = make_parser().parse_args(argv)
    except SystemExit as exit:  # --help, or a usage error already printed: return its status
        return exit.code if isinstance(exit.code, int) else 2
    if (args.command == "new") != (args.folder is not None):
        print("build.py: error: " + ("new needs a FOLDER (build.py new ../my-explainer)" if args.folder is None
                                     else f"unexpected argument '{args.folder}' (only new takes a FOLDER)"),
              file=sys.stderr)
        return 2
    root = Path(args.config).parent  # the project folder, which problems name their files from
    try:
        if args.command == "new":
            return _new(Path(args.folder))
        settings = engine.load_settings(Path(args.config), base_url=args.base_url, output=args.output,
                                        include_drafts=args.drafts or args.command == "serve",
                                        preview=args.preview)
        if args.command == "check":
            report = engine.check(settings)
            _print_problems(report.problems, root, "found")
            if not args.quiet:
                print(f"checked {report.pages} pages: {len(report.problems)} problems, "
                      f"{sum(report.external.values())} external links to {len(report.external)} addresses")
                for address, count in sorted(report.external.items(), key=lambda item: (-item[1], item[0])):
                    print(f"{count:6d}  {address}")
            failures: list[tuple[str, str]] = []
            source_problems: list[engine.Problem] = []
            if args.online:
                failures, source_problems = _check_online(settings, list(report.external), args.quiet)
            for address, failure in failures:
                print(f"{address}: {failure}", file=sys.stderr)
            if failures:
                print(f"{len(failures)} external address{'es' if len(failures) != 1 else ''} did not answer",
                      file=sys.stderr)
            _print_problems(source_problems, root, "found among the sources")
            errors = [problem for problem in source_problems if not problem.is_warning]
            return 1 if report.problems or failures or errors else 0
        if args.command == "serve":
            from engine.serve import serve
            return int(serve(settings, host=args.host, port=args.port))
        if args.jobs is not None and args.jobs < 1:
            raise engine.UsageError(f"--jobs must be 1 or more, not {args.jobs}")
        result = engine.build(settings, use_cache=not args.no_cache, strict=args.strict, jobs=args.jobs)
    except engine.BuildError as error:
        _print_problems(error.problems, root)
        return 1
    except engine.UsageError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("build.py: interrupted; the previous output is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed by its reader: run() ends quietly
        raise
    except Exception as error:  # an engine bug, not bad input: say so plainly
        if args.debug:
            raise
        print(f"build.py: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        print("build.py: this is a bug in the generator; run again with --debug for the traceback "
              "and report it", file=sys.stderr)
        return 70
    _print_problems(result.warnings, root)
    if not args.quiet:
        print(f"built {result.pages} pages, {result.files} files in {result.seconds:.2f} s -> "
              f"{_display_path(result.output)}/")
    return 0


def _new(folder: Path) -> int:
    from engine.new import write_skeleton
    write_skeleton(folder, Path(__file__).resolve().parent / "layouts")
    config = _display_path(folder.resolve() / "site_config.yaml")
    command = f"{_display_path(Path(sys.executable))} {_display_path(Path(__file__).resolve())}"
    print(f"wrote a new explainer in {_display_path(folder.resolve())}/; next:\n"
          f"  {command} serve --config {config}   # preview it while you write\n"
          f"  {command} --config {config}         # build it into its output/ folder")
    return 0


def _check_online(settings: Settings, addresses: list[str],
                  quiet: bool) -> tuple[list[tuple[str, str]], list[engine.Problem]]:
    """Ask the external addresses and each source (with its archived copy when it is dead): the addresses
    that failed, less those of sources whose archived copy answers, and the sources' problems."""
    from engine.checks import check_online
    from engine.online import check_sources

    reports = check_sources(engine.load_data(settings)[0].sources.values())
    if not quiet:
        print(f"asked {len(reports)} sources online:")
        for source_report in reports:
            print(f"  {source_report.line()}")
    problems = [problem for source_report in reports if (problem := source_report.problem()) is not None]
    rescued = {source_report.source.url for source_report in reports
               if (problem := source_report.problem()) is not None and problem.is_warning}
    return [(address, failure) for address, failure in check_online(addresses) if address not in rescued], problems


def _print_problems(problems: list[engine.Problem], root: Path, outcome: str = "found; nothing was written") -> None:
    errors = [p for p in problems if not p.is_warning]
    for problem in problems:
        print(engine.errors.named_from(problem, root, Path.cwd()), file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} {outcome}", file=sys.stderr)


def _display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def run() -> int:
    """main(), ending quietly when whoever reads stdout stops reading (`build.py | head -1`)."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE
    return status


if __name__ == "__main__":
    sys.exit(run())
