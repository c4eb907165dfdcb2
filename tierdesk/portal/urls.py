from django.urls import path

from tierdesk.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.my_tickets, name="my_tickets"),
    path("organisation/", views.organisation_tickets, name="organisation_tickets"),
    path("new/", views.submit, name="submit"),
    path("new/category/", views.category_fields, name="category_fields"),
    path("tickets/<str:number>/", views.ticket_page, name="ticket"),
    path("tickets/<str:number>/reply/", views.reply, name="reply"),
    path("tickets/<str:number>/confirm/", views.confirm, name="confirm"),
    path("tickets/<str:number>/reopen/", views.reopen, name="reopen"),
    path("tickets/<str:number>/cancel/", views.cancel, name="cancel"),
    path("tickets/<str:number>/rate/", views.rate, name="rate"),
    path("tickets/<str:number>/files/<int:attachment_id>/", views.attachment_download, name="attachment"),
    # From the resolution mail: no login, the signed link proves who rates.
    path("satisfaction/<str:token>/", views.satisfaction_by_link, name="satisfaction"),
]
