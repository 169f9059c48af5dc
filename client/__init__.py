"""Client node: storage broker, upload, download, web gateway (grows in later issues)."""
