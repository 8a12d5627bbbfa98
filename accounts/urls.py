from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import two_factor, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", two_factor.two_factor_setup, name="two_factor_setup"),
]
