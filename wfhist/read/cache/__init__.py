"""What the reader keeps between runs: dirty-value profiles and snapshot files."""
