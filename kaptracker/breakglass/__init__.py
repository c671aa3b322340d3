from flask import Blueprint

bp = Blueprint("breakglass", __name__)
