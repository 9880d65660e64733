"""Operations: metrics (Prometheus), alerts (webhooks), structured logs, systemd supervision,
the encrypted keystore, backups and the preflight doctor (architecture §7).

``ops`` uses ``core`` (and ``protocol`` types) only; the headless run wires it to the engine.
"""
