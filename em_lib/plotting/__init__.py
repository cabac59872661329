"""Figures for the notebooks, kept apart from the maths.

Every function returns ``(fig, data)``: the Matplotlib figure and a dict of the
numbers it drew, so tests can check what a picture shows (nbval compares text,
never images). One module per kind of picture.
"""
