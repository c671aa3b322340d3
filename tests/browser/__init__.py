"""Browser tests (a package, so that its conftest and modules never shadow the unit tests'
``conftest`` module, which those import names from)."""
