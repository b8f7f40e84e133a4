"""The example's views: login (issues the JWT), parley-server's callbacks, and two admin
endpoints that call parley-server's HTTP API with the synchronous client."""

from __future__ import annotations

import json
import time
from functools import wraps
from typing import Any, Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from parley import CallbackAuthError, ParleyApi, sign_token, verify_callback
from parley.callbacks import (
    ConversationsRequest,
    MembersRequest,
    PersistAccept,
    PersistReject,
    PersistRequest,
    ReadRequest,
    Reply,
    ok,
    unauthorized,
)
from parley.errors import CallbackPayloadError

from .models import Member, Message, ReadPosition

USERS = {"alice": ("Alice", "alice-pw"), "bob": ("Bob", "bob-pw"), "carol": ("Carol", "carol-pw")}
BANNED_WORDS = {"spam"}


def to_response(r: Reply) -> HttpResponse:
    """A kit :class:`Reply` as a Django response."""
    return HttpResponse(r.content, status=r.status, content_type=r.content_type)


def parley_callback(view: Callable[[Any], Reply]) -> Callable[[HttpRequest], HttpResponse]:
    """A callback route: POST only, parley-server's secret checked, the JSON body parsed."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            verify_callback(request.headers, settings.PARLEY["CALLBACK_SECRET"])
        except CallbackAuthError:
            return to_response(unauthorized())
        try:
            return to_response(view(request.body))
        except CallbackPayloadError as err:
            return JsonResponse({"error": str(err)}, status=400)

    return wrapper


def parley_api() -> ParleyApi:
    return ParleyApi(settings.PARLEY["API"], settings.PARLEY["API_KEY"], timeout=5)


def is_admin(request: HttpRequest) -> bool:
    return request.headers.get("X-Admin-Key") == settings.PARLEY["ADMIN_KEY"]


# -- the app's own endpoints ------------------------------------------------------------------


@csrf_exempt
@require_POST
def login(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body or b"{}")
    user = USERS.get(body.get("userId", ""))
    if user is None or user[1] != body.get("password"):
        return JsonResponse({"error": "wrong user or password"}, status=401)
    p = settings.PARLEY
    token = sign_token(
        body["userId"],
        p["JWT_SECRET"],
        issuer=p["JWT_ISSUER"],
        audience=p["JWT_AUDIENCE"],
        name=user[0],
    )
    return JsonResponse({"token": token})


@require_GET
def messages(request: HttpRequest, conversation_id: str) -> HttpResponse:
    rows = Message.objects.filter(conversation_id=conversation_id).order_by("pk")
    return JsonResponse(
        {"messages": [{"id": m.public_id, "senderId": m.sender_id, "text": m.text} for m in rows]}
    )


@csrf_exempt
@require_POST
def announce(request: HttpRequest) -> HttpResponse:
    if not is_admin(request):
        return JsonResponse({"error": "admin key required"}, status=401)
    body = json.loads(request.body)
    with parley_api() as api:
        m = api.publish(body["conversationId"], body["text"], sender={"name": "Announcements"})
    return JsonResponse({"seq": m.seq, "id": m.id})


@csrf_exempt
@require_POST
def add_member(request: HttpRequest, conversation_id: str) -> HttpResponse:
    if not is_admin(request):
        return JsonResponse({"error": "admin key required"}, status=401)
    user_id = json.loads(request.body)["userId"]
    Member.objects.get_or_create(conversation_id=conversation_id, user_id=user_id)  # database first
    with parley_api() as api:
        api.join(conversation_id, [user_id])  # then Parley: open sockets join at once
    return JsonResponse({"ok": True})


# -- parley-server's callbacks ----------------------------------------------------------------


@parley_callback
def parley_conversations(body: bytes) -> Reply:
    req = ConversationsRequest.from_body(body)
    ids = Member.objects.filter(user_id=req.user_id).values_list("conversation_id", flat=True)
    return ConversationsRequest.reply(sorted(ids))


@parley_callback
def parley_members(body: bytes) -> Reply:
    req = MembersRequest.from_body(body)
    ids = Member.objects.filter(conversation_id=req.conversation_id).values_list(
        "user_id", flat=True
    )
    return MembersRequest.reply(sorted(ids))


@parley_callback
def parley_persist(body: bytes) -> Reply:
    req = PersistRequest.from_body(body)
    if not req.key_matches():
        return PersistReject("bad idempotency key").reply()
    m = req.message
    if any(word in m.text.lower() for word in BANNED_WORDS):
        return PersistReject("that word is not allowed here").reply()
    try:
        with transaction.atomic():
            row, _ = Message.objects.get_or_create(
                idempotency_key=req.idempotency_key,
                defaults={
                    "conversation_id": m.conversation_id,
                    "sender_id": m.sender_id,
                    "client_msg_id": m.client_msg_id,
                    "text": m.text,
                    "created_at": int(time.time() * 1000),
                },
            )
    except IntegrityError:  # a concurrent retry stored it first: answer with that row
        row = Message.objects.get(idempotency_key=req.idempotency_key)
    return PersistAccept(id=row.public_id).reply()


@parley_callback
def parley_read(body: bytes) -> Reply:
    req = ReadRequest.from_body(body)
    with transaction.atomic():
        pos, _ = ReadPosition.objects.select_for_update().get_or_create(
            conversation_id=req.conversation_id, user_id=req.user_id
        )
        if req.seq > pos.seq:
            pos.seq = req.seq
            pos.save()
    return ok()
