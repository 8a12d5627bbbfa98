from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    extra_context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
    }


def home(request):
    return redirect("patients:list")
