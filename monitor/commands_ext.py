"""Sub-commands of the later pipeline stages (screening, alerts) register here."""
