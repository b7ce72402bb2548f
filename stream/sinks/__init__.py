"""Where priced events and dead letters go: ClickHouse tables and Kafka topics."""
