"""CLI subcommands, one module each; every module defines `register(subparsers)`.

`register` adds a subparser and sets `func` to a callable taking the parsed args and returning an exit code.
"""
