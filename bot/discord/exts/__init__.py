"""Discord extensions, one package per feature; each `__init__.py` holds only `setup(bot)`."""
