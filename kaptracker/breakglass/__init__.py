from flask import Blueprint

bp = Blueprint("breakglass", __name__)

from . import views  # noqa: E402,F401
