"""The bus: the platform's Redis Streams in, its Pub/Sub channels out, and an in-process twin.

`messages` builds the platform's messages, `consumer` reads the streams through a consumer
group, `publisher` sends to Pub/Sub without blocking the agent, `memory` is the in-process bus.
"""

from conductor.bus.consumer import ConsumerStats, Entry, StreamConsumer
from conductor.bus.memory import BusMessage, InProcessBus, Subscription, SubscriptionClosed
from conductor.bus.publisher import Publisher, PublisherStats, RedisPublisher, TeePublisher

__all__ = [
    "BusMessage",
    "ConsumerStats",
    "Entry",
    "InProcessBus",
    "Publisher",
    "PublisherStats",
    "RedisPublisher",
    "StreamConsumer",
    "Subscription",
    "SubscriptionClosed",
    "TeePublisher",
]
