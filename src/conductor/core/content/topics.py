"""Matching a session's topic and tags against template keywords, and a safe topic to show."""

from __future__ import annotations

import re
from collections.abc import Iterable

from conductor.core.model import SessionInfo

_NON_WORD = re.compile(r"[^0-9a-z]+")
_UNSAFE = re.compile(r"[{}<>\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")
MAX_TOPIC_CHARS = 60


def normalise(text: str) -> str:
    """Lower case words separated by single spaces: "CI/CD" and "ci-cd" both become "ci cd"."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def _phrases(info: SessionInfo) -> list[str]:
    texts: Iterable[str] = (info.topic or "", *info.tags)
    return [f" {n} " for n in (normalise(t) for t in texts) if n]


def matches(keywords: frozenset[str], info: SessionInfo) -> bool:
    """True when any keyword appears as whole words in the topic or one of the tags."""
    if not keywords:
        return False
    phrases = _phrases(info)
    return any(f" {k} " in p for k in keywords for p in phrases)


def display_topic(info: SessionInfo) -> str | None:
    """The topic as it may appear in text shown to attendees, or None when there is none.

    Braces and markup characters are dropped and long topics cut at a word boundary, so a
    topic can never inject template syntax or flood a banner.
    """
    if not info.topic:
        return None
    text = _SPACES.sub(" ", _UNSAFE.sub(" ", info.topic)).strip()
    if len(text) > MAX_TOPIC_CHARS:
        cut = text[:MAX_TOPIC_CHARS].rsplit(" ", 1)[0]
        text = cut if cut else text[:MAX_TOPIC_CHARS]
    text = text.strip(" -,;:.")
    return text if normalise(text) else None
