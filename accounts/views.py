from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django_otp import login as otp_login

from accounts.two_factor import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    extra_context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
    }

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.otp_device is not None:
            otp_login(self.request, form.otp_device)
        return response


def home(request):
    return redirect("patients:list")
