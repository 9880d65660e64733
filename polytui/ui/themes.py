"""Themes are files: `themes/*.toml`, parsed with tomllib, validated, registered by the App.

A checkout's `themes/` wins over the copy packaged in the wheel (`polytui/_themes`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

# polytui's own CSS variables; a theme may override them in [variables].
VARIABLE_DEFAULTS = {
    "bid": "#3fb950",
    "ask": "#f85149",
    "pnl-up": "#3fb950",
    "pnl-down": "#f85149",
    "stale": "#8b949e",
}
FALLBACK_THEME = "textual-dark"

_THEME_FIELDS = {f.name for f in dataclasses.fields(Theme)}
_COLOUR_FIELDS = {
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
}


def theme_dir() -> Path | None:
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "themes").is_dir():
        return checkout / "themes"
    packaged = package / "_themes"
    return packaged if packaged.is_dir() else None


def load_themes(directory: Path | None) -> tuple[list[Theme], list[str]]:
    """Every valid theme in `directory`, and one message per file that was skipped."""
    if directory is None:
        return [], ["no theme directory found"]
    themes, problems = [], []
    for path in sorted(directory.glob("*.toml")):
        try:
            themes.append(load_theme_file(path))
        except (OSError, ValueError) as exc:
            problems.append(f"theme {path.name} skipped: {exc}")
    return themes, problems


def load_theme_file(path: Path) -> Theme:
    with path.open("rb") as f:
        data = tomllib.load(f)  # TOMLDecodeError is a ValueError
    unknown = sorted(set(data) - _THEME_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ValueError("name and primary are required strings")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table")
    colours = {k: v for k, v in data.items() if k in _COLOUR_FIELDS}
    colours |= {f"variables.{k}": v for k, v in variables.items() if k in VARIABLE_DEFAULTS}
    for key, value in colours.items():
        if not _is_colour(value):
            raise ValueError(f"{key} = {value!r} is not a colour")
    return Theme(**data)


def _is_colour(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


def install_themes(app, wanted: str, directory: Path | None = None) -> list[str]:  # noqa: ANN001
    """Register every theme file with ``app`` and switch to ``wanted`` (or the fallback);
    the messages say what was skipped or replaced, for a toast."""
    themes, problems = load_themes(theme_dir() if directory is None else directory)
    for theme in themes:
        app.register_theme(theme)
    if wanted not in app.available_themes:
        problems.append(f"theme {wanted!r} not found; using {FALLBACK_THEME}")
        wanted = FALLBACK_THEME
    app.theme = wanted
    return problems


def next_theme(current: str, available: list[str] | set[str]) -> str | None:
    """The next of polytui's own themes after ``current``."""
    names = sorted(n for n in available if n.startswith("polytui-"))
    if not names:
        return None
    return names[(names.index(current) + 1) % len(names)] if current in names else names[0]
