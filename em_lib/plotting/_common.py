"""What the plotting modules share."""

import matplotlib.pyplot as plt


def figure_and_axes(ax, size):
    """``(fig, ax)``: ``ax`` and its figure, or a new constrained-layout figure of ``size`` inches with one axes."""
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        return fig, ax
    return ax.figure, ax
