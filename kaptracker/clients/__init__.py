from flask import Blueprint

bp = Blueprint("clients", __name__)
