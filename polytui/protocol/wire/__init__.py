"""Typed wire formats of the venue: msgspec structs and decoders, one module per surface.

``clob`` (REST responses), ``market_ws`` and ``user_ws`` (WebSocket channels), ``gamma``,
``data_api``; ``codec`` holds the shared decoding machinery and ``errors`` the one error type.
Decoded values are frozen structs with exact ``Decimal`` prices and sizes and string ids; every
failure is a ``WireError`` carrying the raw text. This package imports only msgspec and the
standard library (never the simulator, textual or sqlmodel).
"""
