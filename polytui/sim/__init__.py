"""The exchange simulator: a real loopback server speaking Polymarket's CLOB V2 protocol.

An independent implementation of the venue: nothing here imports ``polytui.protocol``,
``polytui.venue`` or ``polytui.engine`` (only ``polytui.core.clock``), so a bug in the client's
wire code cannot hide itself by being shared with the exchange it is tested against.
"""
