"""Model id variants to try when the id a caller sent is not in the price book as is.

The event keeps the id the caller sent; these variants are only for the lookup, tried
in order, most specific first, so a regional or dated entry wins where the data has one.
"""

import re

_BEDROCK_ARN = re.compile(r"^arn:aws[\\w-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)/(.+)$")
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|ap|jp|au|ca|us-gov|global)\.(?=[a-z0-9-]+\.)")
_VERSION_TAIL = re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$")
_DATE_SUFFIX = re.compile(r"(?:-|@)(?:20\d{2}-?\d{2}-?\d{2}|\d{4})$")
_LATEST = re.compile(r"-latest$")


def lookup_variants(model: str) -> list[str]:
    """``us.anthropic.claude-3-5-haiku-20241022-v1:0`` -> itself, without the version tail,
    without the region prefix, without the date, without the vendor prefix, ..."""
    variants: list[str] = []

    def add(candidate: str) -> None:
        if candidate and candidate not in variants:
            variants.append(candidate)

    current = model.strip().lower()
    add(current)
    if match := _BEDROCK_ARN.match(current):
        current = match.group(1)
        add(current)
    for pattern in (_VERSION_TAIL, _REGION_PREFIX, _DATE_SUFFIX, _LATEST):
        current = pattern.sub("", current)
        add(current)
    if "." in current:  # bedrock vendor prefix: anthropic.claude-..., meta.llama-...
        add(current.split(".", 1)[1])
    if "/" in current:  # router prefixes: openai/gpt-4o
        add(current.split("/", 1)[1])
    return variants
