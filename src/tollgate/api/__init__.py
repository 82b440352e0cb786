"""The HTTP API: the FastAPI application, authentication and error mapping."""

from tollgate.api.app import create_app

__all__ = ["create_app"]
