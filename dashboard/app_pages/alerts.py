"""Page script (see dashboard/views/alerts.py)."""

from dashboard.views import alerts

alerts.render()
