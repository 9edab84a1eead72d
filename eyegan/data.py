"""Eye patches: readers for the Kaggle eye-gaze files, preprocessing and defaults."""

# Raw patch size in the Kaggle eye-gaze files (rows, columns).
PATCH_SHAPE = (35, 55)
