"""End-to-end encryption for the Matrix platform (python-olm through mautrix's OlmMachine).

Importing this package loads nothing heavy: `errors`, `store_files` and `setup` work without python-olm,
so a gateway without it can still say why encryption is off. The map of the modules is in the docstring
of `hermes.platforms.matrix`.
"""
