import os
from pathlib import Path

import pytest

# Set by .ci/run to the 2,000-patch real_gaze.h5 sample; tests that need real
# eye patches skip without it.
REAL_SAMPLE_ENV_VAR = "EYEGAN_REAL_SAMPLE"


@pytest.fixture
def real_sample_path():
    value = os.environ.get(REAL_SAMPLE_ENV_VAR)
    if not value:
        pytest.skip(f"{REAL_SAMPLE_ENV_VAR} is unset; set it to a real_gaze.h5-style sample file")
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"{REAL_SAMPLE_ENV_VAR}={value} does not name a file")
    return path
