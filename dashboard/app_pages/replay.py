"""Page script (see dashboard/views/replay.py)."""

from dashboard.views import replay

replay.render()
