"""Screens: the main screen with its panes, and the modals (order ticket, kill release)."""
