"""CLI commands of the dev tools, registered through the `posebake.commands` entry-point group."""
