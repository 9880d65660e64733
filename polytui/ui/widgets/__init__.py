"""The panes of the main screen and their parts."""
