"""Every test here runs import-perl, which reads Perl with perl's PPI module."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import need_binary


@pytest.fixture(autouse=True)
def ppi_perl() -> str:
    """The perl that has PPI; without it a test is skipped, and fails in CI."""
    perl = need_binary("perl")
    found = subprocess.run([perl, "-MPPI", "-MJSON::PP", "-e", "1"], capture_output=True)
    if found.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("perl's PPI module is missing, and CI must run this test")
        pytest.skip("perl's PPI module is missing (apt-get install libppi-perl)")
    return perl
