"""Known-answer data from Tahoe-LAFS 1.20 and its test suite, and loaders for it."""

from pathlib import Path

VECTORS_DIR = Path(__file__).parent
TAHOE_SHARES_DIR = VECTORS_DIR / "tahoe-shares"
TEST_VECTORS_YAML = VECTORS_DIR / "test_vectors.yaml"
