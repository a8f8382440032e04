"""The OpenAPI document's view (kept apart from kraiter/api/schema.py, which the schema
generator itself imports)."""

import threading
from typing import Any, ClassVar

from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """GET /api/schema/: JSON for `Accept: application/json` (what generators and most clients
    send) or OpenAPI's own JSON type, YAML for a YAML type, `?format=json|yaml` too. The document
    is built once per process and kept: drf-spectacular's generator is not safe to run in several
    threads at once, and the schema only changes with the code."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2]
    _built: ClassVar[dict[str, Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def _get_schema_response(self, request: Any) -> Response:
        with self._lock:
            if "schema" not in self._built:
                self._built["schema"] = self.generator_class(urlconf=self.urlconf).get_schema(
                    request=None, public=self.serve_public
                )
        return Response(self._built["schema"], headers={"Content-Disposition": 'inline; filename="kraiter.yaml"'})
