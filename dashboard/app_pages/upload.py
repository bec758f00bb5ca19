"""Page script (see dashboard/views/upload.py)."""

from dashboard.views import upload

upload.render()
