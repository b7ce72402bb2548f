"""The Faust worker: the app, its agents and pages, and how it is started and stopped."""
