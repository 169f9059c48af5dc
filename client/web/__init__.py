"""The client node's web gateway: Tahoe's web API shape, and pages for people."""
