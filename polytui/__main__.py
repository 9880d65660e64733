"""`python -m polytui`: same as the `polytui` console script."""

from polytui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
