"""Fixtures of the community-life tests."""

from ..api.conftest import as_persona  # noqa: F401  (a JSON client per persona)
