"""TensorFlow and Keras, imported without their start-up notices.

TensorFlow 2.17 and later print oneDNN and CUDA-stub notices through absl before
its logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. They go
straight to file descriptor 2, which Jupyter kernels forward into cell outputs.
Importing through this module sends that descriptor to /dev/null for the import
alone; Python exceptions raised by the import still propagate.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    """Redirect file descriptor 2 to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if "tensorflow" in sys.modules:
    import tensorflow as tf
else:
    with _stderr_silenced():
        import tensorflow as tf

        # Device discovery logs a cuInit failure on machines without a GPU.
        tf.config.list_physical_devices()

import keras  # noqa: E402  (after TensorFlow, so Keras picks its backend quietly)

# absl's Python logger would otherwise send TensorFlow's Python warnings to stderr.
tf.get_logger().setLevel("ERROR")

__all__ = ["tf", "keras"]
