"""Turning an event and a notification entry into a message: pure functions, no I/O.

The texts follow Echo: the pipeline/stage sentences of ``SlackNotificationAgent`` and
``EmailNotificationAgent`` ("Stage Deploy for Myapp's deploy pipeline has failed") and the manual
judgment templates (``templates/manualJudgment*/{subject,body,body-slack,body-email}.ftl``). A message
carries the same text in three markups: plain text (email text part, webhooks, Teams), Slack's
mrkdwn and HTML (email HTML part, Google Chat). Each channel module builds its payload from it.

Custom text (``message.<when>.text`` of the entry) is added below the sentence, as Echo does, so the
pipeline name and link stay in the message; ``customMessage`` on the entry replaces the whole body
(``{{executionId}}`` and ``{{link}}`` are filled in), also as Echo does. Expressions in either were
evaluated by the caller.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import quote

from core.fields import nonblank

from .base import InvalidNotificationError

# ---- events ------------------------------------------------------------------------------------

PIPELINE = "pipeline"
STAGE = "stage"
MANUAL_JUDGMENT = "manualJudgment"

STATUSES = ("starting", "complete", "failed")
#: Echo's ``MANUAL_JUDGMENT_CONDITIONS``: each judgment event stands for a stage status.
JUDGMENT_STATUS = {"manualJudgment": "starting", "manualJudgmentContinue": "complete", "manualJudgmentStop": "failed"}
WHEN_EVENTS: tuple[str, ...] = (
    *(f"{PIPELINE}.{status}" for status in STATUSES),
    *(f"{STAGE}.{status}" for status in STATUSES),
    *JUDGMENT_STATUS,
)

#: Echo's Slack attachment colors by status; judgment messages use Slack's neutral grey.
SLACK_COLORS = {"starting": "#2275B8", "complete": "#769D3E", "failed": "#B82525"}
NEUTRAL_COLOR = "#CCCCCC"


@dataclass(frozen=True)
class Event:
    """What happened: ``when`` as notifications name it, its level and Echo's status word."""

    when: str
    level: str
    status: str

    @property
    def is_judgment(self) -> bool:
        return self.level == MANUAL_JUDGMENT


def parse_when(when: str) -> Event:
    """``pipeline.failed`` → (pipeline, failed); ``manualJudgmentStop`` → (manualJudgment, failed)."""
    if when in JUDGMENT_STATUS:
        return Event(when, MANUAL_JUDGMENT, JUDGMENT_STATUS[when])
    level, _, status = str(when).partition(".")
    if level in (PIPELINE, STAGE) and status in STATUSES:
        return Event(when, level, status)
    raise InvalidNotificationError(f"unknown notification event {when!r}; known events: {', '.join(WHEN_EVENTS)}")


def entry_events(entry: Mapping[str, Any]) -> list[str]:
    """The entry's ``when`` as a list (Echo tolerates a single string)."""
    when = entry.get("when")
    if isinstance(when, str):
        return [when]
    if isinstance(when, Sequence):
        return [str(item) for item in when]
    return []


def wants(entry: Mapping[str, Any], when: str) -> bool:
    """Does this notification entry ask to be told about ``when``?

    Echo sends when ``when`` lists the event. Manual judgment entries of the old scheme (no ``when``)
    get only the "awaiting judgment" message, as Orca's ``ManualJudgmentStage`` sends it.
    """
    events = entry_events(entry)
    if not events:
        return when == MANUAL_JUDGMENT
    return when in events


# ---- the execution, as messages need it --------------------------------------------------------


@dataclass(frozen=True)
class ExecutionSummary:
    """The facts about an execution (and its stage) that messages mention. Plain JSON types only:
    it crosses Temporal's data converter inside the activity input."""

    application: str
    execution_id: str
    pipeline_name: str | None = None
    #: the execution's status (``RUNNING``, ``SUCCEEDED``, ``TERMINAL``...), for webhook bodies
    status: str | None = None
    trigger_user: str | None = None
    stage_name: str | None = None
    stage_ref_id: str | None = None
    #: manual judgment: the stage's ``instructions`` (HTML allowed, as Deck writes it)
    instructions: str | None = None
    #: manual judgment: the option chosen and who chose it (``judgmentInput``, ``lastModifiedBy``)
    judgment_input: str | None = None
    judged_by: str | None = None
    #: a CI build that triggered the pipeline (``trigger.buildInfo``)
    build_number: int | None = None
    build_url: str | None = None
    #: the stage has an execution window: Deck's link then opens its first step
    restrict_execution_during_time_window: bool = False


def execution_link(
    base_url: str, application: str, execution_id: str, stage_ref_id: str | None = None, step: bool = False
) -> str:
    """Deck's link to an execution: ``{base}/#/applications/{app}/executions/details/{id}``, with
    ``?refId={stage}`` (and ``&step=1`` for a stage with an execution window) to open a stage."""
    link = (
        f"{base_url.rstrip('/')}/#/applications/{quote(application, safe='')}"
        f"/executions/details/{quote(execution_id, safe='')}"
    )
    if stage_ref_id:
        link += f"?refId={quote(stage_ref_id, safe='')}"
        if step:
            link += "&step=1"
    return link


def summarize(execution: Mapping[str, Any], stage: Mapping[str, Any] | None = None) -> ExecutionSummary:
    """An :class:`ExecutionSummary` from Spinnaker's execution JSON (and one of its stages)."""
    trigger = _mapping(execution.get("trigger"))
    build = _mapping(trigger.get("buildInfo"))
    context = _mapping((stage or {}).get("context"))
    number = build.get("number")
    return ExecutionSummary(
        application=str(execution.get("application") or ""),
        execution_id=str(execution.get("id") or ""),
        pipeline_name=_text(execution.get("name")) or _text(execution.get("description")),
        status=_text(execution.get("status")),
        trigger_user=_text(trigger.get("user")),
        stage_name=_text((stage or {}).get("name")),
        stage_ref_id=_text((stage or {}).get("refId")),
        instructions=_text(context.get("instructions")),
        judgment_input=_text(context.get("judgmentInput")),
        judged_by=_text(context.get("lastModifiedBy")),
        build_number=int(number) if isinstance(number, int | float) and not isinstance(number, bool) else None,
        build_url=_text(build.get("url")),
        restrict_execution_during_time_window=context.get("restrictExecutionDuringTimeWindow") is True,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    """A string that is set (:func:`core.fields.nonblank`), kept as written: a message shows it verbatim."""
    return value if nonblank(value) is not None else None


# ---- the message -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One rendered notification, ready for a channel to send."""

    type: str
    address: str
    cc: str | None
    event: Event
    execution: ExecutionSummary
    link: str
    #: one line: the email subject, and the title of judgment messages
    subject: str
    #: Slack attachment / Teams card title: "Pipeline failed for MYAPP"
    title: str
    #: the status sentence alone, plain
    headline: str
    #: the whole body as plain text, ending with the link
    text: str
    #: the whole body in Slack's mrkdwn (the link sits on the pipeline or stage name)
    markdown: str
    #: the whole body as an HTML fragment (``<br>`` between paragraphs)
    html: str
    #: the entry's ``message.<when>.text``, if any
    custom_text: str | None
    #: plain paragraphs after the sentence other than the custom text (instructions, judgment)
    notes: tuple[str, ...]
    color: str
    #: an id for the event, stable across retries of one send (webhook ``eventId``, Teams ``correlationId``)
    event_id: str = ""
    #: when the event happened, in epoch milliseconds (webhook ``details.created``)
    created_ms: int = 0


def render_message(
    entry: Mapping[str, Any],
    when: str,
    execution: ExecutionSummary,
    base_url: str,
    *,
    event_id: str = "",
    created_ms: int = 0,
) -> Message:
    """Render the notification ``entry`` (``type``, ``address``, ``cc``, ``message``) for the event ``when``."""
    event = parse_when(when)
    kind = str(entry.get("type") or "").strip().lower()
    address = entry.get("address")
    if not isinstance(address, str) or not address.strip():
        raise InvalidNotificationError(f"the {kind or 'notification'} entry has no address")
    cc = entry.get("cc")
    cc = cc.strip() if isinstance(cc, str) and cc.strip() else None
    custom = custom_text(entry, when)

    if event.is_judgment:
        link = execution_link(
            base_url,
            execution.application,
            execution.execution_id,
            execution.stage_ref_id,
            execution.restrict_execution_during_time_window,
        )
    else:
        link = execution_link(base_url, execution.application, execution.execution_id)

    notes = {markup.name: _notes(event, execution, markup) for markup in MARKUPS}
    custom_parts = {markup.name: [markup.block(custom)] if custom else [] for markup in MARKUPS}
    headline = {markup.name: _headline(event, execution, link, markup) for markup in MARKUPS}
    footer_text = "For more details, please visit:" if event.is_judgment else "To see more details, please visit:"
    text = _join([headline["plain"], *custom_parts["plain"], *notes["plain"], f"{footer_text}\n{link}"], "\n\n")
    markdown = _join([headline["slack"], *custom_parts["slack"], *notes["slack"]], "\n\n")
    html_body = _join(
        [headline["html"], *custom_parts["html"], *notes["html"], f"{footer_text}<br>{HTML.link(link, link)}"],
        "<br><br>",
    )

    replacement = entry.get("customMessage")
    if isinstance(replacement, str) and replacement.strip():
        filled = replacement.replace("{{executionId}}", execution.execution_id).replace("{{link}}", link)
        text = markdown = filled
        html_body = HTML.block(filled)

    subject = headline["plain"].rstrip(".") if event.is_judgment else headline["plain"]
    title = (
        subject
        if event.is_judgment
        else f"{event.level.capitalize()} {event.status} for {execution.application.upper()}"
    )
    return Message(
        type=kind,
        address=address.strip(),
        cc=cc,
        event=event,
        execution=execution,
        link=link,
        subject=subject,
        title=title,
        headline=headline["plain"],
        text=text,
        markdown=markdown,
        html=html_body,
        custom_text=custom,
        notes=tuple(notes["plain"]),
        color=NEUTRAL_COLOR if event.is_judgment else SLACK_COLORS[event.status],
        event_id=event_id,
        created_ms=created_ms,
    )


def custom_text(entry: Mapping[str, Any], when: str) -> str | None:
    """``message.<when>.text`` of the entry (a bare string there is accepted too); None when blank."""
    messages = entry.get("message")
    if not isinstance(messages, Mapping):
        return None
    value = messages.get(when)
    if isinstance(value, Mapping):
        value = value.get("text")
    return value.strip() if isinstance(value, str) and value.strip() else None


# ---- markups -----------------------------------------------------------------------------------


class Markup(Protocol):
    name: str
    #: Echo capitalizes the application in chat messages ("Myapp's ...") but not in email subjects
    capitalize: bool

    def esc(self, text: str) -> str: ...
    def link(self, url: str, label: str) -> str: ...
    def bold(self, text: str) -> str: ...
    def italic(self, text: str) -> str: ...
    def block(self, text: str) -> str: ...


class _Plain:
    name = "plain"
    capitalize = False

    def esc(self, text: str) -> str:
        return text

    def link(self, url: str, label: str) -> str:
        return label

    def bold(self, text: str) -> str:
        return text

    def italic(self, text: str) -> str:
        return text

    def block(self, text: str) -> str:
        return text


class _Slack:
    """Slack mrkdwn: ``&``, ``<`` and ``>`` are escaped in names; custom text is the author's mrkdwn."""

    name = "slack"
    capitalize = True

    def esc(self, text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def link(self, url: str, label: str) -> str:
        return f"<{url}|{self.esc(label)}>"

    def bold(self, text: str) -> str:
        return f"*{text}*"

    def italic(self, text: str) -> str:
        return f"_{text}_"

    def block(self, text: str) -> str:
        return text


class _Html:
    """HTML for email and Google Chat: every value escaped, line breaks kept as ``<br>``."""

    name = "html"
    capitalize = True

    def esc(self, text: str) -> str:
        return html.escape(text, quote=True)

    def link(self, url: str, label: str) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{self.esc(label)}</a>'

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>"

    def italic(self, text: str) -> str:
        return f"<i>{text}</i>"

    def block(self, text: str) -> str:
        return self.esc(text).replace("\r\n", "\n").replace("\n", "<br>")


PLAIN, SLACK, HTML = _Plain(), _Slack(), _Html()
MARKUPS: tuple[Markup, ...] = (PLAIN, SLACK, HTML)


# ---- the sentences -----------------------------------------------------------------------------

_VERBS = {"starting": "is starting", "complete": "has completed successfully", "failed": "has failed"}
_JUDGED = {"manualJudgmentContinue": "continue", "manualJudgmentStop": "stop"}


def capitalize_words(text: str) -> str:
    """commons-lang ``WordUtils.capitalize``: the first letter of each whitespace-separated word."""
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), text)


def _headline(event: Event, ex: ExecutionSummary, link: str, m: Markup) -> str:
    if event.is_judgment:
        return _judgment_headline(event, ex, link, m)
    app = capitalize_words(ex.application) if m.capitalize else ex.application
    name = ex.pipeline_name or ex.execution_id
    stage = f"Stage {m.esc(_stage_name(ex))} for " if event.level == STAGE else ""
    # Slack and Google Chat link the pipeline name; the plain sentence is Echo's email subject.
    named = m.link(link, name) if m.name != "plain" else name
    if ex.build_number is None:
        return f"{stage}{m.esc(app)}'s {named} pipeline {_VERBS[event.status]}"
    # Echo puts the build before "pipeline" in chat and after it in email subjects.
    number = str(ex.build_number)
    shown = m.link(ex.build_url, number) if ex.build_url else m.esc(number)
    if m.name == "plain":
        return f"{stage}{app}'s {named} pipeline build #{number} {_VERBS[event.status]}"
    build = f"build {shown}" if m.name == "slack" else f"build #{shown}"
    return f"{stage}{m.esc(app)}'s {named} {build} pipeline {_VERBS[event.status]}"


def _judgment_headline(event: Event, ex: ExecutionSummary, link: str, m: Markup) -> str:
    stage = m.link(link, _stage_name(ex)) if m.name != "plain" else _stage_name(ex)
    text = f"Stage {stage} for {m.bold(m.esc(ex.application))}"
    if ex.pipeline_name:
        text += f"'s {m.bold(m.esc(ex.pipeline_name))} pipeline"
    if ex.build_number is not None:
        text += f" build #{m.bold(str(ex.build_number))}" if m.name != "plain" else f" build {ex.build_number}"
    if event.when == MANUAL_JUDGMENT:
        return f"{text} is awaiting manual judgment."
    judged = m.italic(f"was judged to {m.bold(_JUDGED[event.when])}")
    by = f" by {m.esc(ex.judged_by)}" if ex.judged_by else ""
    return f"{text} {judged}{by}."


def _notes(event: Event, ex: ExecutionSummary, m: Markup) -> list[str]:
    notes = []
    if event.when == MANUAL_JUDGMENT and ex.instructions and ex.instructions.strip():
        instructions = html_to_text(ex.instructions)
        if instructions:
            line_break = "<br>" if m.name == "html" else "\n"
            notes.append(f"{m.bold('Instructions:')}{line_break}{m.block(instructions)}")
    if event.when == "manualJudgmentContinue" and ex.judgment_input:
        notes.append(f"Judgment '{m.bold(m.esc(html_to_text(ex.judgment_input)))}' was selected.")
    return notes


def _stage_name(ex: ExecutionSummary) -> str:
    return ex.stage_name or ex.stage_ref_id or "(unnamed)"


def _join(parts: Sequence[str], separator: str) -> str:
    return separator.join(part for part in parts if part)


# ---- HTML to text ------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("* ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Echo's ``HtmlToPlainText`` in small: tags dropped, entities decoded, blocks on their own lines."""
    if "<" not in value and "&" not in value:
        return value.strip()
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


def needs_evaluation(entry: dict[str, Any], when: str) -> bool:
    """Does the entry's ``message.<when>.text`` hold an expression?"""
    message = entry.get("message")
    text = (
        message.get(when, {}).get("text") if isinstance(message, dict) and isinstance(message.get(when), dict) else None
    )
    return isinstance(text, str) and "${" in text


def evaluate_text(
    entry: dict[str, Any], when: str, execution: dict[str, Any], stage: dict[str, Any] | None, timestamp_ms: int
) -> dict[str, Any]:
    """The entry with its ``message.<when>.text`` evaluated as Orca does: the stage's context (stage
    events), ``trigger``, ``parameters`` and ``execution``. Pure: the notifying workflow and the
    send activity share it."""
    from workflows import expressions as expr  # the pure evaluator, loaded on first use

    if not needs_evaluation(entry, when):
        return entry
    text = entry["message"][when]["text"]
    raw_trigger = execution.get("trigger")
    trigger: dict[str, Any] = raw_trigger if isinstance(raw_trigger, dict) else {}
    context = stage.get("context") if stage is not None else None
    root: dict[str, Any] = dict(context) if isinstance(context, dict) else {}
    root.update(trigger=trigger, parameters=trigger.get("parameters") or {}, execution=execution)
    ctx = expr.EvaluationContext(root=root, execution=execution, timestamp_ms=timestamp_ms)
    evaluated = expr.process(text, ctx).value
    out = copy.deepcopy(entry)
    out["message"][when]["text"] = evaluated if isinstance(evaluated, str) else str(evaluated)
    return out
