from django.urls import path

from tierdesk.selfservice import views, views_selfservice

app_name = "selfservice"

urlpatterns: list = [
    # The chat (views.py): the portal widget, the posts and the event stream both sides use.
    path("chats/", views.chat_start, name="chat_start"),
    path("chats/<int:conversation_id>/events/", views.chat_events, name="chat_events"),
    path("chats/<int:conversation_id>/messages/", views.chat_post, name="chat_post"),
    path("chats/<int:conversation_id>/actions/", views.chat_action, name="chat_action"),
    path("chats/<int:conversation_id>/close/", views.chat_close, name="chat_close"),
    # The console's chat queue and chat page.
    path("console/chats/", views.console_queue, name="console_queue"),
    path("console/chats/badge/", views.console_badge, name="console_badge"),
    path("console/chats/<int:conversation_id>/", views.console_chat, name="console_chat"),
    path("console/chats/<int:conversation_id>/take/", views.console_take, name="console_take"),
    # The virtual agent's password reset form, loaded inside the chat widget (views_selfservice.py).
    path("chats/<int:conversation_id>/password/", views_selfservice.password_reset, name="password_reset"),
    path(
        "chats/<int:conversation_id>/password/<int:challenge_id>/",
        views_selfservice.password_reset_code,
        name="password_reset_code",
    ),
    path(
        "chats/<int:conversation_id>/password/person/",
        views_selfservice.password_reset_person,
        name="password_reset_person",
    ),
    # Catalogue approvals in the console.
    path("approvals/", views_selfservice.approvals, name="approvals"),
    path("approvals/<int:approval_id>/decide/", views_selfservice.decide, name="approval_decide"),
]
