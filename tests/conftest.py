"""pytest fixtures: see vswlab.py for the lab itself."""

import pytest

from vswlab import BUILDS, Lab
from vmlab import build_image


@pytest.fixture(params=list(BUILDS))
def lab(request, tmp_path):
    l = Lab(request.param, tmp_path)
    request.addfinalizer(l.cleanup)
    return l


@pytest.fixture(scope="session")
def guest_image():
    """The VM tests' guest (vmlab.py), built or found in build/vm once a session."""
    return build_image()
