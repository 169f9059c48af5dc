"""Fixtures of the component tests: the storage contract's backend fixture."""

from tests.component.storage_backends import storage_api

__all__ = ["storage_api"]
