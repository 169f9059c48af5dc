"""Tahoe-LAFS share, container and URI-extension formats, one module per format."""
