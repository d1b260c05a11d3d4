"""Figures in HTML reports: one helper shared by the evaluation report (:mod:`nescio.evaluate.report`)
and the training summary in it (:mod:`nescio.train.report`). A leaf module: matplotlib is imported
when a figure is written."""

from __future__ import annotations

import base64
import io

__all__ = ["png_img"]


def png_img(fig) -> str:
    """The matplotlib figure ``fig`` as an inline ``<img>`` (a base64 PNG at 90 dpi); closes ``fig``."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'
