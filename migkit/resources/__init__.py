"""API resources: one thin module per resource, describing endpoints and shapes only."""
