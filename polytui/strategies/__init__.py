"""Built-in strategies, one package each. A strategy uses ``polytui.core`` (and ``protocol``
types) only; its I/O, if any, goes through a narrow port the engine hands it."""
