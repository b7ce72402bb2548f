"""HTTP endpoints served by the worker (Faust's web server)."""
