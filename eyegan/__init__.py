"""eyegan: a convolutional GAN that learns to draw 32x64 grayscale human eyes.

Importing the package quietens TensorFlow's start-up notices (oneDNN, CPU feature
and absl messages) unless ``TF_CPP_MIN_LOG_LEVEL`` is already set, so that they do
not reach notebook outputs. Import ``eyegan`` before ``tensorflow`` for that to work.
"""

import os

# TensorFlow reads this once, when its C++ runtime loads: 2 hides INFO and WARNING.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
