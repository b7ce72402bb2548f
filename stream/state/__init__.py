"""What the worker holds per raw-topic partition (open windows, running budget spend, the
event-time watermark), how it is updated per new event, checkpointed and recovered."""
