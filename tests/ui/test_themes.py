from __future__ import annotations

from pathlib import Path

from polytui.ui.themes import VARIABLE_DEFAULTS, load_themes, theme_dir

REQUIRED = (
    "primary",
    "secondary",
    "accent",
    "background",
    "surface",
    "panel",
    "warning",
    "error",
    "success",
)


def test_the_shipped_themes_load_with_every_colour_and_variable() -> None:
    directory = theme_dir()
    assert directory is not None
    themes, problems = load_themes(directory)
    assert problems == []
    by_name = {theme.name: theme for theme in themes}
    assert set(by_name) == {"polytui-dark", "polytui-light", "polytui-high-contrast"}
    assert by_name["polytui-dark"].dark is True
    assert by_name["polytui-light"].dark is False
    assert by_name["polytui-high-contrast"].dark is True
    for theme in themes:
        assert all(getattr(theme, field) for field in REQUIRED), theme.name
        assert set(theme.variables) == set(VARIABLE_DEFAULTS), theme.name


def test_a_bad_theme_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('name = "good"\nprimary = "#112233"\n')
    (tmp_path / "colour.toml").write_text('name = "c"\nprimary = "#112233"\nsurface = "nope"\n')
    (tmp_path / "field.toml").write_text('name = "f"\nprimary = "#112233"\nshiny = true\n')
    (tmp_path / "syntax.toml").write_text('name = "s\n')
    themes, problems = load_themes(tmp_path)
    assert [theme.name for theme in themes] == ["good"]
    assert len(problems) == 3
    assert any("surface = 'nope' is not a colour" in p for p in problems)
    assert any("shiny" in p for p in problems)
    assert any("syntax.toml" in p for p in problems)
