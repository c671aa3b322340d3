"""Clinical and access rules as pure functions.

Nothing in this package imports Flask, the database session or the models: every rule takes
plain values and returns plain values, so it can be read on its own and tested by tables.
"""
