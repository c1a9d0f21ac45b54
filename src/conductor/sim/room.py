"""Who is connected, grouped by activity tier, so picking an active user costs O(tiers).

Heavy-tailed activity is modelled by tiers: every user belongs to one tier with a fixed
weight, and a weighted pick first chooses a tier by its total weight, then a member
uniformly. Joins and leaves are O(1) (swap-remove).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from operator import mul

TIER_SHARES = (0.30, 0.25, 0.20, 0.13, 0.08, 0.04)
"""Share of users per tier: many lurkers, a few very active users."""
_CHAT_RAW = (0.05, 0.25, 0.7, 1.6, 4.0, 10.0)
_REACTION_RAW = (0.2, 0.5, 0.9, 1.4, 2.5, 4.0)


def _normalised(raw: Sequence[float]) -> tuple[float, ...]:
    mean = sum(s * w for s, w in zip(TIER_SHARES, raw, strict=True))
    return tuple(w / mean for w in raw)


CHAT_WEIGHTS = _normalised(_CHAT_RAW)
"""Per-tier chat weight, mean 1 over the population: the top 4 % write about a third."""
REACTION_WEIGHTS = _normalised(_REACTION_RAW)
"""Reactions are cheaper, so they are spread more evenly than chat."""
TIERS = len(TIER_SHARES)
_TIER_CUM = tuple(accumulate(TIER_SHARES))


def draw_tier(rng: random.Random) -> int:
    return min(TIERS - 1, bisect_right(_TIER_CUM, rng.random() * _TIER_CUM[-1]))


class Room:
    """The connected users of one session."""

    __slots__ = ("_pos", "_size", "_tier_of", "_tiers")

    def __init__(self, tier_of: Sequence[int]) -> None:
        self._tier_of = tuple(tier_of)
        self._tiers: list[list[int]] = [[] for _ in range(TIERS)]
        self._pos = [-1] * len(tier_of)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, user: int) -> bool:
        return self._pos[user] >= 0

    def connect(self, user: int) -> bool:
        if self._pos[user] >= 0:
            return False
        members = self._tiers[self._tier_of[user]]
        self._pos[user] = len(members)
        members.append(user)
        self._size += 1
        return True

    def disconnect(self, user: int) -> bool:
        i = self._pos[user]
        if i < 0:
            return False
        members = self._tiers[self._tier_of[user]]
        moved = members.pop()
        if moved != user:
            members[i] = moved
            self._pos[moved] = i
        self._pos[user] = -1
        self._size -= 1
        return True

    def members(self) -> list[int]:
        """Connected users in a deterministic order."""
        return [u for tier in self._tiers for u in tier]

    def cumulative(self, weights: Sequence[float]) -> list[float]:
        """Running totals of tier weight times tier size; the last is the room's total weight."""
        return list(accumulate(map(mul, weights, map(len, self._tiers))))

    def pick(self, cum: Sequence[float], weights: Sequence[float], r: float) -> int:
        """The user at position `r` in [0, cum[-1]) of the weighted room (needs a non-empty room).

        The position within the chosen tier reuses the same uniform draw.
        """
        j = bisect_right(cum, r)
        tiers = self._tiers
        if j >= TIERS:
            j = TIERS - 1
        while not tiers[j]:
            j -= 1
        members = tiers[j]
        i = int((r - (cum[j - 1] if j else 0.0)) / weights[j])
        return members[i] if i < len(members) else members[-1]
