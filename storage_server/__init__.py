"""Storage server node: shares on disk, leases, mutable slots (grows in later issues)."""
