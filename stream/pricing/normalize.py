"""Model id variants to try when genai-prices' own matching does not know an id as sent.

genai-prices already matches most real ids (dated snapshots, Bedrock ``us.``/``eu.``/
``global.`` forms with their regional prices, ARNs, Vertex ``@date`` forms), so the id as
sent is always tried first, and these variants only where that fails: API path prefixes
(``models/gemini-2.5-flash``, ``publishers/anthropic/models/...``), version tails, dates,
cross-region and vendor prefixes, router prefixes. Each variant strips one more layer,
so the most specific one that matches wins. The event keeps the id the caller sent.
"""

import re

_PATH_PREFIX = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?models/")
_BEDROCK_ARN = re.compile(
    r"^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile|application-inference-profile)/(.+)$"
)
_STRIPPERS = (
    re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$"),  # Bedrock version tails: -v2:0, :0
    re.compile(r"^(?:us|eu|apac|ap|jp|au|ca|us-gov|global)\.(?=[a-z0-9-]+\.)"),  # Bedrock cross-region profiles
    # 20241022, 2024-10-22, YYMM (mistral-large-2411) or MMDD (gpt-4-0613), after - or @
    re.compile(r"[-@](?:20\d{2}-?\d{2}-?\d{2}|2[3-9](?:0[1-9]|1[0-2])|(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]))$"),
    re.compile(r"-(?:latest|preview|exp)$"),
)
_VENDOR_PREFIX = re.compile(r"^[a-z][a-z0-9-]*\.(?=[a-z])")  # anthropic.claude-..., meta.llama3-...
_ROUTER_PREFIX = re.compile(r"^[a-z0-9][\w.-]*/")  # openrouter / litellm: anthropic/claude-...


def lookup_variants(model: str) -> tuple[str, ...]:
    """``us.anthropic.claude-3-5-haiku-20241022-v1:0`` -> itself, then without the version
    tail, without the region prefix, without the date, without the vendor prefix."""
    variants: list[str] = []

    def add(candidate: str) -> str:
        if candidate and candidate not in variants:
            variants.append(candidate)
        return candidate

    current = add(model.strip().lower())
    if match := _BEDROCK_ARN.match(current):
        current = add(match.group(1))
    current = add(_PATH_PREFIX.sub("", current))
    if (unrouted := _ROUTER_PREFIX.sub("", current)) != current:
        # ``azure/gpt-4o-2024-05-13``: the dated id without the router prefix is more
        # specific than the prefixed id without its date.
        current = add(unrouted)
    changed = True
    while changed:
        changed = False
        for pattern in _STRIPPERS:
            stripped = pattern.sub("", current)
            if stripped != current:
                current, changed = add(stripped), True
    for prefix in (_VENDOR_PREFIX, _ROUTER_PREFIX):
        if (stripped := prefix.sub("", current)) != current:
            current = add(stripped)
    return tuple(variants)


def same_id_forms(model: str) -> frozenset[str]:
    """The spellings of the very id ``model`` names: as sent, and without an ARN wrapper,
    an API path prefix or a router prefix (``xai/grok-code-fast-1`` is ``grok-code-fast-1``),
    but never shortened to another id (no version tail, date or region stripped)."""
    current = model.strip().lower()
    forms = {current}
    if match := _BEDROCK_ARN.match(current):
        current = match.group(1)
        forms.add(current)
    current = _PATH_PREFIX.sub("", current)
    forms.add(current)
    forms.add(_ROUTER_PREFIX.sub("", current))
    return frozenset(form for form in forms if form)
