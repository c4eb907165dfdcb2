from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect


@login_required
def home(request: HttpRequest) -> HttpResponseRedirect:
    """Agents land in the console, requesters in the self-service portal."""
    return HttpResponseRedirect("/console/" if request.user.is_agent_side else "/portal/")  # type: ignore[union-attr]
