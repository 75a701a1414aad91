"""pytest fixtures: see vswlab.py for the lab itself."""

import pytest

from vswlab import BUILDS, Lab


@pytest.fixture(params=list(BUILDS))
def lab(request, tmp_path):
    l = Lab(request.param, tmp_path)
    request.addfinalizer(l.cleanup)
    return l
