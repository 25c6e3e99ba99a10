"""Answering a waiting run, for both generations: one body, one send-once rule.

Generation 1's answer-questions page (``POST /companies/{id}/imports/{run_id}/messages``,
§3.9) and Generation 2's (``POST /migrations/{id}/runs/{run_id}/messages``, §4.6) take the same
body: ``{"answers": [{"id", "value"}]}`` (a value is an option's label or free text) or
``{"answers": "a free-form instruction"}``. Neither is idempotent on the server, so an answer is
sent once; when its outcome is unknown, the run says whether it landed (only an answer moves a
waiting run), and it is sent again only if the run still waits.

>>> answers_body({"q1": "Map them all to 'Open'"})
{'answers': [{'id': 'q1', 'value': "Map them all to 'Open'"}]}
>>> answers_body("Treat 'Prospect' as 'Open'")
{'answers': "Treat 'Prospect' as 'Open'"}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from migkit.errors import UsageError
from migkit.questions import Option

T = TypeVar("T")
Answers = Mapping[str, str | Option] | str


def answers_body(answers: Answers) -> dict[str, Any]:
    """The body of a ``…/messages`` request: answers by question id (an option's label, an
    :class:`~migkit.questions.Option`, or free text), or one free-form instruction."""
    if isinstance(answers, str):
        if not answers.strip():
            raise UsageError("answers= is an empty instruction; write what the run should do")
        return {"answers": answers}
    if not isinstance(answers, Mapping) or not answers:
        raise UsageError("answers= is empty; give {question id: answer} or an instruction")
    return {
        "answers": [
            {"id": str(q), "value": v.label if isinstance(v, Option) else str(v)}
            for q, v in answers.items()
        ]
    }


def landed(body: Mapping[str, Any], waiting: bool, asked: Iterable[str]) -> bool:
    """Whether a reply whose outcome is unknown reached the run, seen from the run now: it no
    longer waits, or it waits on other questions than the ones answered (the agent asked
    again). A free-form answer to a run still waiting cannot be told apart: not landed.

    >>> landed({"answers": [{"id": "q1", "value": "Open"}]}, True, ["q2"])
    True
    >>> landed({"answers": "Treat them as Open"}, True, ["q1"])
    False
    """
    if not waiting:
        return True
    answers = body.get("answers")
    answered = {a.get("id") for a in answers} if isinstance(answers, list) else set()
    return bool(answered) and not answered & set(asked)


def reply_once(
    act_once: Callable[..., Any],
    send: Callable[[], T],
    still_waiting: Callable[[], T | None],
) -> T:
    """``send()`` a reply to a waiting run at most once in effect: when its outcome is unknown,
    ``still_waiting()`` polls the run and returns it when the reply landed (the run no longer
    waits), ``None`` when it did not (then the reply is sent once more)."""
    result: T = act_once(send, still_waiting, tries=2)
    return result
