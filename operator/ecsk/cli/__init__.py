"""The `ecsk` command line."""
