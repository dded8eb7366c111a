"""The ``#name(...)`` helper functions (kork ``ExpressionsSupport`` + orca's stage helpers).

Each helper gets the evaluation context, the budget and its evaluated arguments. Helpers that need
the network go through ``ctx.url_fetcher``; without one they raise :class:`UrlFetchUnavailable` so
the engine can retry the evaluation inside an activity.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core import safe_yaml
from workflows.expressions.errors import (
    MAX_DOCUMENT_CHARS,
    MAX_DOCUMENT_DEPTH,
    MAX_STRING_LENGTH,
    Budget,
    ExpressionError,
    ExpressionFunctionError,
    ExpressionLimitError,
    UrlFetchUnavailable,
)
from workflows.expressions.values import java_str, type_name

if TYPE_CHECKING:
    from workflows.expressions.evaluator import EvaluationContext

#: total nodes a parsed JSON/YAML document may expand to (YAML aliases are copied out).
MAX_DOCUMENT_NODES = 1_000_000
#: the safe loader (only plain YAML types), LibYAML-backed when available.


def _text(fn: str, value: Any, budget: Budget) -> str:
    """A string argument; Spring would convert numbers/booleans to their text, null is an error."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (list, dict)):
        raise ExpressionFunctionError(f"#{fn} needs a string argument, not {type_name(value)}")
    return java_str(value, budget)


# --- stages -------------------------------------------------------------------------------------


def _stages(ctx: EvaluationContext) -> list[dict[str, Any]]:
    stages = (ctx.execution or {}).get("stages") or []
    return [s for s in stages if isinstance(s, dict)]


def _stage_view(stage: dict[str, Any]) -> dict[str, Any]:
    status = stage.get("status")
    status = str(status) if isinstance(status, str) else status
    view = dict(stage)
    view["hasSucceeded"] = status == "SUCCEEDED"
    view["hasFailed"] = status == "TERMINAL"  # orca's StageExecutionImpl.getHasFailed
    return view


def _exec_id(ctx: EvaluationContext) -> str:
    return str((ctx.execution or {}).get("id"))


def _matches_name_or_id(stage: dict[str, Any], key: Any) -> bool:
    return key is not None and (key == stage.get("name") or key == stage.get("id"))


def fn_stage(ctx: EvaluationContext, budget: Budget, key: Any) -> Any:
    for stage in _stages(ctx):
        budget.tick()
        if _matches_name_or_id(stage, key):
            return _stage_view(stage)
    raise ExpressionFunctionError(f"Unable to locate [{key}] using #stage({key}) in execution {_exec_id(ctx)}")


def fn_stage_exists(ctx: EvaluationContext, budget: Budget, key: Any) -> bool:
    budget.tick(len(_stages(ctx)))
    return any(_matches_name_or_id(s, key) for s in _stages(ctx))


def fn_stage_by_ref_id(ctx: EvaluationContext, budget: Budget, ref_id: Any) -> Any:
    if ref_id is None:
        raise ExpressionFunctionError(f"Stage refId must not be null in #stageByRefId in execution {_exec_id(ctx)}")
    for stage in _stages(ctx):
        budget.tick()
        ref = stage.get("refId")
        if ref is not None and java_str(ref, budget) == java_str(ref_id, budget):
            return _stage_view(stage)
    raise ExpressionFunctionError(
        f"Unable to locate [{ref_id}] using #stageByRefId({ref_id}) in execution {_exec_id(ctx)}"
    )


def fn_current_stage(ctx: EvaluationContext, budget: Budget) -> Any:
    current = ctx.current_stage_id
    if current is None:
        raise ExpressionFunctionError("#currentStage() needs a current stage, and this evaluation has none")
    for stage in _stages(ctx):
        budget.tick()
        if isinstance(stage.get("id"), str) and stage["id"].lower() == str(current).lower():
            return _stage_view(stage)
    raise ExpressionFunctionError(f"No stage found with id '{current}'")


def fn_judgment(ctx: EvaluationContext, budget: Budget, name: Any) -> Any:
    for stage in _stages(ctx):
        budget.tick()
        context = stage.get("context")
        if (
            name is not None
            and name == stage.get("name")
            and stage.get("type") == "manualJudgment"
            and isinstance(context, dict)
            and context.get("judgmentInput") is not None
        ):
            return context["judgmentInput"]
    raise ExpressionFunctionError(
        f"Unable to locate manual Judgment stage [{name}] using #judgment({name}) in execution {_exec_id(ctx)}. "
        "Stage doesn't exist or doesn't contain judgmentInput in its context"
    )


def _resolved_artifact(ctx: EvaluationContext, budget: Budget, field: str, wanted: Any) -> Any:
    trigger = (ctx.execution or {}).get("trigger") or {}
    for expected in trigger.get("resolvedExpectedArtifacts") or []:
        budget.tick()
        bound = expected.get("boundArtifact") if isinstance(expected, dict) else None
        if isinstance(bound, dict) and wanted is not None and bound.get(field) == wanted:
            return bound
    raise ExpressionFunctionError(f"Unable to locate resolved artifact {wanted} in trigger execution {_exec_id(ctx)}.")


# --- JSON / YAML --------------------------------------------------------------------------------


def to_plain(value: Any, budget: Budget) -> Any:
    """Copy a parsed document into plain JSON values (YAML aliases are expanded, with a node cap)."""
    count = [0]

    def walk(v: Any, depth: int) -> Any:
        count[0] += 1
        budget.tick()  # copying a value costs about as much as evaluating a node
        if count[0] > MAX_DOCUMENT_NODES:
            raise ExpressionLimitError(f"document expands to more than {MAX_DOCUMENT_NODES} values")
        if depth > MAX_DOCUMENT_DEPTH:
            raise ExpressionLimitError(f"document is nested more than {MAX_DOCUMENT_DEPTH} levels deep")
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise ExpressionFunctionError("document contains a non-finite number (NaN or Infinity)")
            return v
        if isinstance(v, dict):
            return {
                (k if isinstance(k, str) else java_str(walk(k, depth + 1), budget)): walk(x, depth + 1)
                for k, x in v.items()
            }
        if isinstance(v, (list, tuple)):
            return [walk(x, depth + 1) for x in v]
        if isinstance(v, (set, frozenset)):
            items = [walk(x, depth + 1) for x in v]
            return sorted(items, key=lambda x: (type_name(x), java_str(x, budget)))
        if isinstance(v, (datetime.date, datetime.datetime)):
            return v.isoformat()
        if isinstance(v, bytes):
            return base64.b64encode(v).decode("ascii")
        raise ExpressionFunctionError(f"document contains an unsupported value of type {type(v).__name__}")

    return walk(value, 0)


def _doc_text(fn: str, text: Any, budget: Budget, cost_shift: int) -> str:
    """The document argument, size-checked; parsing is charged at one step per 2**cost_shift chars."""
    text = _text(fn, text, budget)
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ExpressionLimitError(f"#{fn} input is {len(text)} characters; the limit is {MAX_DOCUMENT_CHARS}")
    budget.tick(1 + (len(text) >> cost_shift))
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json(text: Any, budget: Budget, fn: str = "readJson") -> Any:
    text = _doc_text(fn, text, budget, 6)
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise ExpressionFunctionError(f"#{fn} could not parse JSON: {e}") from None
    return to_plain(parsed, budget)


def read_yaml(text: Any, budget: Budget, fn: str = "readYaml", all_docs: bool = False) -> Any:
    text = _doc_text(fn, text, budget, 1)  # YAML parsing is slow: charge it accordingly
    budget.tick(20 + 2 * len(text))  # ~2.5 steps a character in all: a step is under a microsecond, YAML isn't
    try:
        parsed = safe_yaml.load_all(text) if all_docs else safe_yaml.load(text)
    except safe_yaml.YamlLimitError as e:
        raise ExpressionLimitError(f"#{fn}: {e}") from None
    except Exception as e:  # yaml raises YAMLError, ValueError (bad dates), RecursionError …
        raise ExpressionFunctionError(f"#{fn} could not parse YAML: {str(e)[:300]}") from None
    return to_plain(parsed, budget)


def to_json(value: Any, budget: Budget) -> str:
    """Jackson-style compact JSON; refuses results that contain ``${`` (as kork's #toJson does)."""
    out: list[str] = []
    size = [0]

    def emit(s: str) -> None:
        budget.tick(len(s) >> 10)
        size[0] += len(s)
        if size[0] > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"#toJson result longer than the limit of {MAX_STRING_LENGTH} characters")
        out.append(s)

    def walk(v: Any, depth: int) -> None:
        budget.tick(4)  # json.dumps of each value: several times a node's cost
        if depth > MAX_DOCUMENT_DEPTH:
            raise ExpressionLimitError(f"#toJson value is nested more than {MAX_DOCUMENT_DEPTH} levels deep")
        if isinstance(v, dict):
            emit("{")
            for i, (k, x) in enumerate(v.items()):
                emit(
                    ("," if i else "")
                    + json.dumps(k if isinstance(k, str) else java_str(k, budget), ensure_ascii=False)
                    + ":"
                )
                walk(x, depth + 1)
            emit("}")
        elif isinstance(v, list):
            emit("[")
            for i, x in enumerate(v):
                if i:
                    emit(",")
                walk(x, depth + 1)
            emit("]")
        elif v is None or isinstance(v, (bool, int, str)):
            emit(json.dumps(str.__str__(v) if isinstance(v, str) else v, ensure_ascii=False))
        elif isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise ExpressionFunctionError("#toJson cannot encode a non-finite number")
            emit(repr(v))
        else:
            raise ExpressionFunctionError(f"#toJson cannot encode a value of type {type(v).__name__}")

    walk(value, 0)
    result = "".join(out)
    if "${" in result:
        raise ExpressionFunctionError("result for toJson cannot contain an expression")
    return result


def parse_properties(text: str) -> dict[str, str]:
    """Java ``Properties.load``: ``key=value`` / ``key: value`` / ``key value``, ``#``/``!`` comments,
    backslash line continuations and ``\\uXXXX`` escapes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    logical: list[str] = []
    buf = ""
    for raw in lines:
        line = raw.lstrip(" \t\f") if buf else raw
        if not buf and (not line.strip(" \t\f") or line.lstrip(" \t\f")[:1] in ("#", "!")):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            buf += line[:-1]
            continue
        logical.append((buf + line).lstrip(" \t\f"))
        buf = ""
    if buf:
        logical.append(buf.lstrip(" \t\f"))
    result: dict[str, str] = {}
    for line in logical:
        i, n = 0, len(line)
        while i < n and line[i] not in "=: \t\f":
            i += 2 if line[i] == "\\" else 1
        key, rest = line[:i], line[i:]
        rest = rest.lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        result[_unescape(key)] = _unescape(rest)
    return result


def _unescape(s: str) -> str:
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        d = s[i + 1]
        if d == "u" and i + 6 <= n:
            try:
                out.append(chr(int(s[i + 2 : i + 6], 16)))
                i += 6
                continue
            except ValueError:
                raise ExpressionFunctionError(f"malformed \\uXXXX escape in properties: {s[i : i + 6]!r}") from None
        out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(d, d))
        i += 2
    return "".join(out)


# --- conversions --------------------------------------------------------------------------------


def fn_to_int(value: Any, budget: Budget) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        text = _text("toInt", value, budget)
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or len(body) > 12 or not all("0" <= c <= "9" for c in body):
        raise ExpressionFunctionError(f'#toInt: For input string: "{text[:100]}"')
    number = int(text)
    if not -(2**31) <= number < 2**31:
        raise ExpressionFunctionError(f'#toInt: For input string: "{text}" (out of int range)')
    return number


def fn_to_float(value: Any, budget: Budget) -> float:
    text = _text("toFloat", value, budget)
    body = text.strip("".join(chr(c) for c in range(33)))
    if body[-1:] in ("f", "F", "d", "D"):
        body = body[:-1]
    try:
        if "_" in body or len(body) > 400 or body.lstrip("+-").lower() in ("nan", "inf", "infinity"):
            raise ValueError
        number = float(body)
    except ValueError:
        raise ExpressionFunctionError(f'#toFloat: For input string: "{text[:100]}"') from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ExpressionFunctionError(f'#toFloat: "{text[:100]}" is not a finite number')
    return number


def fn_to_boolean(value: Any, budget: Budget) -> bool:
    return value is not None and _text("toBoolean", value, budget).lower() == "true"


def fn_to_base64(value: Any, budget: Budget) -> str:
    return Budget.check_string(base64.b64encode(_text("toBase64", value, budget).encode("utf-8")).decode("ascii"))


def fn_from_base64(value: Any, budget: Budget) -> str:
    text = _text("fromBase64", value, budget)
    if len(text) % 4 == 1:
        raise ExpressionFunctionError("#fromBase64: input is not valid base64 (bad length)")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ExpressionFunctionError(f"#fromBase64: input is not valid base64 ({e})") from None
    return raw.decode("utf-8", errors="replace")


def fn_alphanumerical(value: Any, budget: Budget) -> str:
    return "".join(c for c in _text("alphanumerical", value, budget) if c.isascii() and c.isalnum())


# --- URLs ---------------------------------------------------------------------------------------


def fn_canary_config_name_to_id(ctx: EvaluationContext, budget: Budget, name: Any, application: Any) -> str:
    """Kayenta's config id for a name in an application, read from the store (canary/expressions.py)."""
    fn = "canaryConfigNameToId"
    lookup = ctx.lookups.get(fn)
    if lookup is None:
        raise UrlFetchUnavailable(f"#{fn} reads the store, which is not available here")
    return str(lookup(_text(fn, name, budget), _text(fn, application, budget)))


def fetch_url(ctx: EvaluationContext, budget: Budget, fn: str, url: Any) -> str:
    url = _text(fn, url, budget)
    if ctx.url_fetcher is None:
        raise UrlFetchUnavailable(f"#{fn} needs network access, which is not available here")
    try:
        body = ctx.url_fetcher(url)
    except ExpressionError:
        raise
    except Exception as e:  # a fetcher that is not ours; never leak its exception type
        raise ExpressionFunctionError(f"#{fn}({url}) failed: {type(e).__name__}: {e}") from None
    if not isinstance(body, str):
        raise ExpressionFunctionError(f"#{fn}({url}) fetcher returned {type(body).__name__}, not text")
    if len(body) > MAX_DOCUMENT_CHARS:
        raise ExpressionLimitError(f"#{fn}({url}) response is larger than {MAX_DOCUMENT_CHARS} characters")
    return body


# --- registry -----------------------------------------------------------------------------------

Impl = Callable[..., Any]
#: name -> (implementation(ctx, budget, *args), min args, max args, needs the execution)
_FUNCTIONS: dict[str, tuple[Impl, int, int, bool]] = {
    "stage": (fn_stage, 1, 1, True),
    "stageByRefId": (fn_stage_by_ref_id, 1, 1, True),
    "stageExists": (fn_stage_exists, 1, 1, True),
    "currentStage": (fn_current_stage, 0, 0, True),
    "judgment": (fn_judgment, 1, 1, True),
    "judgement": (fn_judgment, 1, 1, True),
    "triggerResolvedArtifact": (lambda c, b, n: _resolved_artifact(c, b, "name", n), 1, 1, True),
    "triggerResolvedArtifactByType": (lambda c, b, t: _resolved_artifact(c, b, "type", t), 1, 1, True),
    "currentUser": (lambda c, b: c.user if c.user is not None else "anonymous", 0, 0, False),
    "toJson": (lambda c, b, v: to_json(v, b), 1, 1, False),
    "readJson": (lambda c, b, t: read_json(t, b), 1, 1, False),
    "readYaml": (lambda c, b, t: read_yaml(t, b), 1, 1, False),
    "readAllYaml": (lambda c, b, t: read_yaml(t, b, "readAllYaml", all_docs=True), 1, 1, False),
    "toInt": (lambda c, b, v: fn_to_int(v, b), 1, 1, False),
    "toFloat": (lambda c, b, v: fn_to_float(v, b), 1, 1, False),
    "toBoolean": (lambda c, b, v: fn_to_boolean(v, b), 1, 1, False),
    "toBase64": (lambda c, b, v: fn_to_base64(v, b), 1, 1, False),
    "fromBase64": (lambda c, b, v: fn_from_base64(v, b), 1, 1, False),
    "alphanumerical": (lambda c, b, v: fn_alphanumerical(v, b), 1, 1, False),
    "fromUrl": (lambda c, b, u: fetch_url(c, b, "fromUrl", u), 1, 1, False),
    "jsonFromUrl": (lambda c, b, u: read_json(fetch_url(c, b, "jsonFromUrl", u), b, "jsonFromUrl"), 1, 1, False),
    "yamlFromUrl": (lambda c, b, u: read_yaml(fetch_url(c, b, "yamlFromUrl", u), b, "yamlFromUrl"), 1, 1, False),
    "propertiesFromUrl": (lambda c, b, u: parse_properties(fetch_url(c, b, "propertiesFromUrl", u)), 1, 1, False),
    "doNotEval": (lambda c, b, v: v, 1, 1, False),
    "canaryConfigNameToId": (fn_canary_config_name_to_id, 2, 2, False),
}

#: every helper function name, for ``GET /capabilities/expressions``.
FUNCTION_NAMES: tuple[str, ...] = tuple(sorted(_FUNCTIONS))


def call_function(name: str, args: list[Any], ctx: EvaluationContext, budget: Budget) -> Any:
    """Run helper ``#name(args)``; unknown names and wrong argument counts are errors."""
    budget.tick()
    entry = _FUNCTIONS.get(name)
    if entry is None:
        raise ExpressionFunctionError(
            f"unknown function #{name}(); available functions: {', '.join('#' + n for n in FUNCTION_NAMES)}"
        )
    impl, lo, hi, execution_aware = entry
    # Orca rewrites #stage('x') to #stage(#root.execution, 'x'); accept that spelling too.
    if execution_aware and len(args) == hi + 1 and isinstance(args[0], dict) and "stages" in args[0]:
        args = args[1:]
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ExpressionFunctionError(f"#{name}() takes {want} argument(s), got {len(args)}")
    return impl(ctx, budget, *args)
