import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kraiter.settings")
# This process serves requests: settings give its database statements a time limit (README).
os.environ.setdefault("KRAITER_WEB", "1")
application = get_wsgi_application()

# Everything loaded at start-up lives as long as the process: move it out of the garbage
# collector's sight, so a full collection (which pauses the request that triggers it) stays short.
gc.freeze()
