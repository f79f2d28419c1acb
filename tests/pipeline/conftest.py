from tests.correlation.conftest import world  # noqa: F401 - the shared fixture
