"""Subcommands of the `realtime-mask` CLI, one module each."""
