"""Test-wide settings, read before any test or notebook kernel starts."""

import os

# Notebook kernels started by nbval inherit this and run chapters at their
# quick size (see eyegan.book).
os.environ.setdefault("EYEGAN_QUICK", "1")
