"""Page script (see dashboard/views/situation.py)."""

from dashboard.views import situation

situation.render()
