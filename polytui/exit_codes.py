"""Process exit codes, the same for every command (documented in cli.py and the README)."""

OK = 0  # success, including an orderly stop on --duration, SIGINT, SIGTERM or SIGHUP
FAILURE = 1  # runtime failure: the simulator did not start, the venue did not answer, ...
USAGE = 2  # usage or configuration error: bad flag or setting, unusable key file, no terminal
INTERRUPTED = 130  # Ctrl+C before polytui could stop in order
