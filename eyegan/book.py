"""Settings shared by the book's chapters.

The chapters run at two sizes: full size when the book is built, and a quick
size under the test suite, which sets ``EYEGAN_QUICK=1`` so nbval exercises
the same code in seconds instead of minutes.
"""

import logging
import os

# Environment variable that switches chapters to their quick size.
QUICK_ENV_VAR = "EYEGAN_QUICK"


def is_quick():
    """Return whether ``EYEGAN_QUICK`` requests the quick size (set and not "0")."""
    return os.environ.get(QUICK_ENV_VAR, "") not in ("", "0")


def size(full, quick):
    """Return ``quick`` under ``EYEGAN_QUICK``, else ``full``."""
    return quick if is_quick() else full


def setup_notebook(dpi=100):
    """Prepare a chapter: figures sized for the page, package logs at WARNING.

    Keeps progress logs of the package and Keras out of the rendered pages;
    call it once at the top of a chapter, after ``import eyegan``.
    """
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.max_open_warning": 0})
    logging.getLogger("eyegan").setLevel(logging.WARNING)


def glue(name, value, display=True):
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles, as ``myst_nb.glue`` does.

    Where myst-nb is not installed (Colab, or a plain ``pip install eyegan``),
    no book build reads the value, so it is only shown when ``display`` is true.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)
