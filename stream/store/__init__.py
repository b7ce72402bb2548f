"""ClickHouse: the connection (embedded chDB or a server) and the versioned schema."""
