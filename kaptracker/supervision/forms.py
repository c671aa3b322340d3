from __future__ import annotations

from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired

from ..forms import Form, max_length, no_control_characters, stripped


class CommentForm(Form):
    body = TextAreaField(
        "Review comment", filters=[stripped],
        validators=[DataRequired("Write the comment."), max_length(4000), no_control_characters],
        description="The client's therapist sees it on this course and on their dashboard, and answers here.",
    )
    submit = SubmitField("Add review comment")


class ReplyForm(Form):
    body = TextAreaField(
        "Answer", filters=[stripped],
        validators=[DataRequired("Write the answer."), max_length(4000), no_control_characters],
    )
    submit = SubmitField("Send answer")


class OverrideReviewForm(Form):
    note = TextAreaField(
        "Review note", filters=[stripped],
        validators=[DataRequired("Write what you concluded about this override."), max_length(2000),
                    no_control_characters],
    )
    submit = SubmitField("Mark reviewed")
