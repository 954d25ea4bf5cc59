"""The ``memtwin`` command line: ``demo``, ``spec check|show|list``."""

from __future__ import annotations

import argparse
import sys
import time

import structlog

import twin
from memtwin.log_cli import add_log_commands
from memtwin.program_cli import add_program_command
from memtwin.nn_cli import add_nn_command
from memtwin.study_cli import add_study_command
from twin.logconfig import configure_logging
from twin.spec import catalog

log = structlog.get_logger(__name__)


def _cmd_demo(args: argparse.Namespace) -> int:
    from memtwin.demo import run_demo

    wall = time.perf_counter()
    result = run_demo(args.spec, args.seed, progress=not args.quiet, trace_path=args.trace)
    print(result.text)
    print(f"wall-clock: {time.perf_counter() - wall:.1f} s")
    return 0


def _cmd_spec_check(args: argparse.Namespace) -> int:
    try:
        spec = twin.load_spec(args.file)
    except twin.SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(spec.summary())
    return 0


def _cmd_spec_show(args: argparse.Namespace) -> int:
    try:
        print(catalog.path(args.name).read_text(), end="")
    except twin.SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _cmd_spec_list(args: argparse.Namespace) -> int:
    for name in catalog.names():
        spec = twin.load_spec(name)
        print(f"{name:<14} {spec.description}")
    return 0


def _cmd_spec_doc(args: argparse.Namespace) -> int:
    from twin.spec.doc import reference_markdown

    print(reference_markdown())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memtwin", description="Digital twin of a memristor compute-in-memory chip.")
    parser.add_argument("--log-level", default="warning", help="structlog level (debug, info, warning)")
    parser.add_argument("--log-json", action="store_true", help="log as JSON lines")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="program a pattern and run MVMs on several tiles")
    demo.add_argument("--spec", default="default", help="bundled spec name or YAML path")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--trace", metavar="OUT.json", help="write a Chrome/Perfetto trace")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_cmd_demo)

    spec = sub.add_parser("spec", help="check, show or list chip specs")
    spec_sub = spec.add_subparsers(dest="spec_command", required=True)
    check = spec_sub.add_parser("check", help="validate a spec file and print a summary (exit 2 on error)")
    check.add_argument("file")
    check.set_defaults(func=_cmd_spec_check)
    show = spec_sub.add_parser("show", help="print a bundled spec")
    show.add_argument("name")
    show.set_defaults(func=_cmd_spec_show)
    lst = spec_sub.add_parser("list", help="list the bundled specs")
    lst.set_defaults(func=_cmd_spec_list)
    doc = spec_sub.add_parser("doc", help="print the spec reference (docs/spec.md)")
    doc.set_defaults(func=_cmd_spec_doc)
    add_log_commands(sub)
    add_program_command(sub)
    add_nn_command(sub)
    add_study_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_json)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
