"""Operator tooling that sits above the app: the demo clinic (demo, demo_data), the synthetic
clinic network (scale), the benchmark (bench), the soak test (soak), backup and restore (backup),
and their `flask` commands (cli, registered through the ``flask.commands`` entry point).

It imports the app; the app never imports it (tests/test_layout.py checks the import graph)."""
