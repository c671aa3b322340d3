from flask import Blueprint

bp = Blueprint("vitals", __name__)
