"""The API's routes, one module per resource of docs/api.md."""
