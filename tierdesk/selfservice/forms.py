"""Input of the chat's forms (the password reset) and of the approvals page. Forms validate
shape only; the services decide (policy, code, who may approve)."""

from __future__ import annotations

from typing import Any

from django import forms

TEXT = {"class": "form-control form-control-sm"}


class PasswordResetCodeForm(forms.Form):
    """Step 2: the code from the e-mail and the new password, twice. Nothing here is ever
    echoed back: a form shown again with errors starts with empty fields."""

    code = forms.CharField(
        label="Code from the e-mail",
        max_length=20,
        widget=forms.TextInput(
            attrs={**TEXT, "autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    new_password = forms.CharField(
        label="New password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}, render_value=False),
    )
    new_password_again = forms.CharField(
        label="New password again",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}, render_value=False),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "pwreset-%s")
        super().__init__(*args, **kwargs)

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not code.isdigit():
            raise forms.ValidationError("The code is the six digits from the e-mail.")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password"), data.get("new_password_again")
        if first is not None and second is not None and first != second:
            self.add_error("new_password_again", "The two passwords are not the same.")
        return data


class ApprovalDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(
        label="Comment (the requester reads it when you reject)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={**TEXT, "rows": 2}),
    )

    @property
    def approve(self) -> bool:
        return bool(self.cleaned_data.get("decision") == "approve")
