from flask import Blueprint

bp = Blueprint("clients", __name__)

from . import views  # noqa: E402,F401
