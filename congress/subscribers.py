"""Every event the congress service consumes, and the handler each one goes to."""

from runtime.inbox import Subscription

SUBSCRIPTIONS: list[Subscription] = []
