"""Errors are read as one line, whatever their message."""

from stream.reason import first_line


def test_an_empty_message_names_the_error_type() -> None:
    assert first_line(RuntimeError()) == "RuntimeError"
    assert first_line(ValueError("  \n \n")) == "ValueError"


def test_the_first_non_blank_line_is_kept_within_the_limit() -> None:
    assert first_line(ValueError("\n  Code: 62. Syntax error\nstack trace")) == "Code: 62. Syntax error"
    assert first_line(ValueError("x" * 50), limit=10) == "x" * 10
