"""msgspec Structs derived from the pydantic models, for the ingest hot path.

The pydantic models stay the one definition of every message (their JSON Schemas are
what producers see); :func:`struct_for` translates a model's fields, types, defaults and
constraints into a Struct that msgspec decodes and validates in one pass, without a
Python object per field. A translation is never looser than its model: a constraint it
cannot express makes it refuse to build, and the few it checks after decoding (money's
scale, the token subsets) run the very functions the model runs. Values a Struct
refuses go to the model itself, which has the last word and the readable message.

Unchecked Structs (``checked=False``) carry what the pipeline builds from validated
parts (tokens, costs, priced events): same attribute names, values and field order as
their models, which readers of those models only read, and msgspec writes whole.
"""

import datetime as dt
import operator
import re
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import annotated_types
import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, PlainSerializer, Strict, StringConstraints
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from schemas.events import RawUsageEvent, UsageBatch
from schemas.money import PlainDecimalText
from schemas.priced import CostBreakdown, PricedUsageEvent
from schemas.usage import TokenUsage, check_subsets

Check = Callable[[Any], object]
"""Raises ValueError (or returns a replacement value, which must equal its input)."""


_structs: dict[tuple[type[BaseModel], object, bool], type[msgspec.Struct]] = {}


AFTER: dict[type[BaseModel], Check] = {}
"""Per model, the check its ``model_validator(mode="after")`` runs, to run on its Struct."""


def struct_for(
    model: type[BaseModel], any_as: object = None, name: str | None = None, checked: bool = True
) -> type[msgspec.Struct]:
    """The Struct for ``model`` (cached); ``any_as`` replaces ``Any`` in the model's field
    types (a batch whose items are events). An unchecked Struct is for values built
    from validated parts: it checks nothing when constructed."""
    after = AFTER.get(model)
    key = (model, any_as, checked)
    if key in _structs:
        return _structs[key]
    fields: list[tuple[str, object, object]] = []
    checks: list[tuple[str, Check]] = []
    for field_name, info in model.model_fields.items():
        if info.alias not in (None, field_name) or info.validation_alias is not None:
            raise NotImplementedError(f"{model.__name__}.{field_name}: aliases")
        annotation, field_checks = _translate(info.annotation, info.metadata, any_as)
        checks += [(field_name, check) for check in field_checks]
        if info.default_factory is not None:
            factory = info.default_factory
            if isinstance(factory, type) and issubclass(factory, BaseModel):
                factory = struct_for(factory)
            fields.append((field_name, annotation, msgspec.field(default_factory=factory)))  # type: ignore[arg-type]
        elif info.default is not PydanticUndefined:
            fields.append((field_name, annotation, info.default))
        else:
            fields.append((field_name, annotation))  # type: ignore[arg-type]
    # read-only properties of the model (TokenUsage.total_tokens) read the same fields
    namespace: dict[str, Any] = {key: value for key, value in vars(model).items() if isinstance(value, property)}
    if checked and (checks or after is not None):
        stripped = tuple(field_name for field_name, check in checks if check is _unstripped)
        others = tuple((field_name, check) for field_name, check in checks if check is not _unstripped)
        namespace["__post_init__"] = _post_init(stripped, others, after)
    struct = msgspec.defstruct(
        name or model.__name__, fields, namespace=namespace, kw_only=True,
        forbid_unknown_fields=model.model_config.get("extra") == "forbid",
    )
    _structs[key] = struct
    return struct


M = TypeVar("M", bound=BaseModel)


_templates: dict[type[BaseModel], BaseModel] = {}


def trusted(model: type[M], values: dict[str, Any]) -> M:
    """An instance of ``model`` from values already known to satisfy it, not validated
    again. ``values`` names every field. This is ``model_copy(update=...)`` of a template
    made once by ``model_construct``: the same trusted construction, without walking
    the model's fields on every call (a test checks it equals a validated instance)."""
    template = _templates.get(model)
    if template is None:
        template = _templates[model] = model.model_construct(**values)
        return template.model_copy()
    return template.model_copy(update=values)  # type: ignore[return-value]


def as_model(value: object, model: type[M]) -> M:
    """A Struct that :func:`struct_for` made for ``model`` as an instance of ``model``,
    trusted: it was validated when it was decoded (an instance of the model passes)."""
    if isinstance(value, model):
        return value
    return trusted(model, msgspec.structs.asdict(value))  # type: ignore[arg-type]


def _post_init(
    stripped: tuple[str, ...], checks: tuple[tuple[str, Check], ...], after: Check | None
) -> Callable[[Any], None]:
    def each(self: Any) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in stripped)

    # attrgetter of several names gives their tuple in one C call
    texts: Callable[[Any], Any] = operator.attrgetter(*stripped) if len(stripped) > 1 else each

    def __post_init__(self: Any) -> None:
        for text in texts(self):  # _unstripped, inlined: five of these per event
            if text is not None and len(text.strip()) != len(text):
                raise ValueError("would be stripped")
        try:
            for field_name, check in checks:
                value = getattr(self, field_name)
                if value is not None and check(value) is not value:
                    raise ValueError(f"{field_name}: would be changed by validation")
            if after is not None:
                after(self)
        except ValueError:
            raise
        except Exception as exc:  # any failure is a refusal, never a crash
            raise ValueError(str(exc)) from None

    return __post_init__


def _translate(annotation: Any, metadata: list[Any], any_as: object) -> tuple[object, list[Check]]:
    """(msgspec type, checks to run after decoding) for one pydantic field type."""
    if typing.get_origin(annotation) is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _translate(inner, [*extra, *metadata], any_as)
    meta: dict[str, Any] = {}
    checks: list[Check] = []
    flat: list[Any] = []
    for item in metadata:  # Field(...) inside Annotated carries its own constraints
        flat += item.metadata if isinstance(item, FieldInfo) else [item]
    for item in flat:
        if isinstance(item, StringConstraints):
            if item.to_upper or item.to_lower or item.strict or item.pattern or item.ascii_only:
                _unsupported(annotation, item)
            if item.strip_whitespace:
                checks.append(_unstripped)
            if item.min_length is not None:
                meta["min_length"] = item.min_length
            if item.max_length is not None:
                meta["max_length"] = item.max_length
        elif isinstance(item, annotated_types.MinLen):
            meta["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            meta["max_length"] = item.max_length
        elif isinstance(item, annotated_types.Ge) and annotation is int:
            meta["ge"] = item.ge
        elif isinstance(item, annotated_types.Le) and annotation is int:
            meta["le"] = item.le
        elif isinstance(item, annotated_types.Ge):
            checks.append(_at_least(item.ge))
        elif isinstance(item, annotated_types.Le):
            checks.append(_at_most(item.le))
        elif isinstance(item, AfterValidator):
            checks.append(item.func)  # type: ignore[arg-type]
        elif isinstance(item, PlainSerializer) and item == PlainDecimalText:
            pass  # stream.ingest.encode writes the Structs' decimals plainly too
        elif isinstance(item, Strict):
            if annotation is not int:  # msgspec is strict for ints already
                _unsupported(annotation, item)
        else:
            _unsupported(annotation, item)

    origin = typing.get_origin(annotation)
    if annotation is AwareDatetime:
        base: object = dt.datetime
        meta["tz"] = True
    elif annotation in _PLAIN or origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        base = annotation
    elif annotation is Any:
        base = any_as if any_as is not None else Any
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        base = struct_for(annotation)
    elif origin in (typing.Union, types.UnionType):
        options = [_translate(option, [], any_as) for option in typing.get_args(annotation)]
        if sum(1 for _, option_checks in options if option_checks) > 1:
            _unsupported(annotation, "checks on more than one member of a union")
        checks += [check for _, option_checks in options for check in option_checks]
        base = typing.Union[tuple(option for option, _ in options)]  # noqa: UP007
    elif origin is dict:
        key, value = (_translate(arg, [], any_as) for arg in typing.get_args(annotation))
        if key[1] or value[1]:
            _unsupported(annotation, "checks inside a dict")
        base = dict[key[0], value[0]]  # type: ignore[valid-type]
    elif origin is list:
        (item_type, item_checks), = (_translate(arg, [], any_as) for arg in typing.get_args(annotation))
        if item_checks:
            _unsupported(annotation, "checks inside a list")
        base = list[item_type]  # type: ignore[valid-type]
    else:
        _unsupported(annotation, "type")
    return (Annotated[base, msgspec.Meta(**meta)] if meta else base), checks


def _unstripped(value: str) -> str:
    """Python's whitespace is a superset of what pydantic strips: a value that would be
    stripped is left to the model to decide. (A ``pattern`` costs several times more.)"""
    if len(value.strip()) != len(value):
        raise ValueError("would be stripped")
    return value


_PLAIN = (str, int, bool, Decimal, dt.datetime, type(None))


def _at_least(bound: Any) -> Check:
    def at_least(value: Any) -> object:
        if not value >= bound:
            raise ValueError(f"must be at least {bound}")
        return value

    return at_least


def _at_most(bound: Any) -> Check:
    def at_most(value: Any) -> object:
        if not value <= bound:
            raise ValueError(f"must be at most {bound}")
        return value

    return at_most


def _unsupported(annotation: object, what: object) -> typing.NoReturn:
    raise NotImplementedError(f"no msgspec translation for {what!r} on {annotation!r}")


# Sub-microsecond digits: msgspec rounds them, pydantic truncates; such a message is
# decoded by the models so that occurred_at is what it always was.
SUB_MICROSECOND = re.compile(rb":\d\d\.\d{7}")
_SEVEN_DECIMALS = re.compile(rb"\.\d{7}")


def has_sub_microsecond(value: bytes) -> bool:
    """Whether a message may hold a time with sub-microsecond digits. ``:`` is in every
    JSON member, so the precise pattern is only looked for where seven decimals follow a
    point, which is rarer and cheaper to scan for: half the cost per message."""
    return _SEVEN_DECIMALS.search(value) is not None and SUB_MICROSECOND.search(value) is not None


AFTER[TokenUsage] = check_subsets
if TYPE_CHECKING:
    # Same attribute names and value types as the models they come from; nested models
    # are Structs as well (as_model turns one into its model).
    RawEventStruct = RawUsageEvent
    PricedEventStruct = PricedUsageEvent
    TokensStruct = TokenUsage
    CostStruct = CostBreakdown
else:
    RawEventStruct = struct_for(RawUsageEvent)
    TokensStruct = struct_for(TokenUsage, checked=False)
    """Canonical tokens as extraction builds them, from counts it has checked."""
    CostStruct = struct_for(CostBreakdown, checked=False)
    """A cost breakdown as the price book builds it: exact by construction."""
    PricedEventStruct = struct_for(PricedUsageEvent, checked=False)
    """What the ingest pipeline builds: every part is validated already (the event on
    decoding, tokens on extraction, costs by construction in the price book). Its
    attributes are the event's decoded Struct, its tokens and costs the models."""
BatchStruct = struct_for(UsageBatch, any_as=RawEventStruct, name="UsageBatchOfEvents")
