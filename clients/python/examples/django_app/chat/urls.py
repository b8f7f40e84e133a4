from django.urls import path

from . import views

urlpatterns = [
    path("login", views.login),
    path("announce", views.announce),
    path("conversations/<str:conversation_id>/messages", views.messages),
    path("conversations/<str:conversation_id>/members", views.add_member),
    path("parley/conversations", views.parley_conversations),
    path("parley/members", views.parley_members),
    path("parley/persist", views.parley_persist),
    path("parley/read", views.parley_read),
]
