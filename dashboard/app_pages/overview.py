"""Page script (see dashboard/views/overview.py)."""

from dashboard.views import overview

overview.render()
