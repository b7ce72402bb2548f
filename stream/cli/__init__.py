"""The ``costream`` command line: one module per command family."""
