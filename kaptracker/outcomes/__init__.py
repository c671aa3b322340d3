from flask import Blueprint

bp = Blueprint("outcomes", __name__)

from . import views  # noqa: E402,F401
