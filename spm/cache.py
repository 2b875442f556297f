"""The cache backend: Django's Redis cache, tolerating a Redis outage.

The cache only ever holds what can be recomputed (coalescing marks, cached
reads), so while Redis is down a read is a miss, a write is dropped and a
warning is logged: pages keep answering instead of failing with the cache.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CACHE_ERRORS = (RedisError, ConnectionError, OSError)


def _warn(operation: str, exc: Exception) -> None:
    log.warning("Cache %s skipped, Redis unreachable: %s", operation, exc)


class TolerantRedisCacheClient(RedisCacheClient):
    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        try:
            return bool(super().add(key, value, timeout))
        except CACHE_ERRORS as exc:
            _warn("add", exc)
            return False

    def get(self, key: Any, default: Any) -> Any:
        try:
            return super().get(key, default)
        except CACHE_ERRORS as exc:
            _warn("get", exc)
            return default

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        try:
            super().set(key, value, timeout)
        except CACHE_ERRORS as exc:
            _warn("set", exc)

    def touch(self, key: Any, timeout: Any) -> bool:
        try:
            return bool(super().touch(key, timeout))
        except CACHE_ERRORS as exc:
            _warn("touch", exc)
            return False

    def delete(self, key: Any) -> bool:
        try:
            return bool(super().delete(key))
        except CACHE_ERRORS as exc:
            _warn("delete", exc)
            return False

    def get_many(self, keys: Any) -> dict[Any, Any]:
        try:
            return dict(super().get_many(keys))
        except CACHE_ERRORS as exc:
            _warn("get_many", exc)
            return {}

    def has_key(self, key: Any) -> bool:
        try:
            return bool(super().has_key(key))
        except CACHE_ERRORS as exc:
            _warn("has_key", exc)
            return False

    def set_many(self, data: Any, timeout: Any) -> None:
        try:
            super().set_many(data, timeout)
        except CACHE_ERRORS as exc:
            _warn("set_many", exc)

    def delete_many(self, keys: Any) -> None:
        try:
            super().delete_many(keys)
        except CACHE_ERRORS as exc:
            _warn("delete_many", exc)

    def clear(self) -> bool:
        try:
            return bool(super().clear())
        except CACHE_ERRORS as exc:
            _warn("clear", exc)
            return False


class TolerantRedisCache(RedisCache):
    """``RedisCache`` whose operations survive Redis being down (see module)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = TolerantRedisCacheClient
