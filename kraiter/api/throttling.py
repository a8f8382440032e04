"""An optional per-organisation request limit (API_RATE_LIMIT_PER_SECOND), counted in the cache."""

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from kraiter.api.authentication import Principal


class OrganisationRateThrottle(BaseThrottle):
    """A fixed one-second window per organisation: one cache increment per request."""

    def allow_request(self, request: Request, view: Any) -> bool:
        limit = settings.API_RATE_LIMIT_PER_SECOND
        if not limit or not isinstance(request.user, Principal):
            return True
        self.now = time.time()
        key = f"ratelimit:{request.user.organisation.pk}:{int(self.now)}"
        cache.add(key, 0, timeout=2)
        try:
            count = cache.incr(key)
        except ValueError:  # the window's key expired between add and incr
            return True
        return count <= limit

    def wait(self) -> float:
        return 1 - (self.now % 1)
