"""Page script (see dashboard/views/objects.py)."""

from dashboard.views import objects

objects.render()
