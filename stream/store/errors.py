"""Which store errors will recur however often a batch is retried.

A store that is down, slow or busy (connection refused, timeouts, too many parts,
memory pressure, a replica or Keeper away) fails an insert now and takes it later: the
batch is retried with backoff. An error about the rows themselves (a value a column or
constraint refuses, a column changed by hand, a row over a server limit) fails the same
rows every time: the batch is bisected to find those rows, they become dead letters
with the store's message, and the rest is stored. Anything not known to be permanent is
treated as transient: retrying a permanent error stalls a partition (which is reported),
dead-lettering a transient one would drop good rows.
"""

import re

from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

PERMANENT_CODES: dict[int, str] = {
    6: "CANNOT_PARSE_TEXT", 8: "THERE_IS_NO_COLUMN", 10: "NOT_FOUND_COLUMN_IN_BLOCK", 16: "NO_SUCH_COLUMN_IN_TABLE",
    26: "CANNOT_PARSE_QUOTED_STRING", 27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED", 32: "ATTEMPT_TO_READ_AFTER_EOF",
    38: "CANNOT_PARSE_DATE", 41: "CANNOT_PARSE_DATETIME", 43: "ILLEGAL_TYPE_OF_ARGUMENT", 44: "ILLEGAL_COLUMN",
    53: "TYPE_MISMATCH", 69: "ARGUMENT_OUT_OF_BOUND", 70: "CANNOT_CONVERT_TYPE", 72: "CANNOT_PARSE_NUMBER",
    117: "INCORRECT_DATA", 131: "TOO_LARGE_STRING_SIZE", 321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    407: "DECIMAL_OVERFLOW", 469: "VIOLATED_CONSTRAINT",
}  # fmt: skip

_CODE = re.compile(r"Code: (\d+)\.")


def error_code(exc: BaseException) -> int | None:
    """The ClickHouse error code in the exception's message, if it names one."""
    found = _CODE.search(str(exc))
    return int(found.group(1)) if found else None


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):  # the connection, not the data
        return False
    if isinstance(exc, DataError):  # the driver could not encode the rows
        return True
    return isinstance(exc, DatabaseError) and error_code(exc) in PERMANENT_CODES
