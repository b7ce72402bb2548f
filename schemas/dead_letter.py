"""What the dead-letter topic carries: the original bytes and why they were refused."""


from pydantic import AwareDatetime, BaseModel, ConfigDict


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    original_b64: str
    """What was refused, base64, byte for byte: the consumed message value, or, for one
    event of a batch envelope (``batch_index`` set), that event's own JSON as it stands in
    the envelope, so an envelope's bad events together carry its bytes once. On the topic,
    only its first part when ``original_truncated``; the ``dead_letters`` table keeps it
    whole."""
    original_truncated: bool = False
    original_size: int | None = None
    """Size in bytes of the whole original, set when the topic copy is truncated."""
    original_key_b64: str | None
    topic: str
    partition: int
    offset: int
    batch_index: int | None
    """Position of the refused event inside a batch envelope; null for the whole message."""
    event_id: str | None
    tenant_id: str | None
    error_type: str
    """Machine-readable class: not_json, invalid_envelope, invalid_event, invalid_usage, ..."""
    error: str
    """What was wrong, naming the field."""
    dead_lettered_at: AwareDatetime
