from flask import Blueprint

bp = Blueprint("vitals", __name__)

from . import views  # noqa: E402,F401
