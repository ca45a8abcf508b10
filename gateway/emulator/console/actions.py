"""The console's controls: faults, snapshots, reset (confirmed), seed, journal; sign-in on a shared gateway.

Every action is a plain form post answered by the controls page itself, with what was done
or why it was refused: no redirect to JSON, no raw error.
"""

from __future__ import annotations

import hmac
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

from gateway.emulator import admin
from gateway.emulator.console.frame import admin_ok, base_context, gateway_of, render
from gateway.emulator.faults import KINDS, FaultSpecError
from gateway.emulator.host import Gateway
from gateway.emulator.journal import INTERFACES

FAULT_INTERFACES: Final = tuple(i for i in INTERFACES if i != "admin")
COOKIE_DAYS: Final = 7


class Refusal(Exception):
    """An action the console declines, with the status its page is sent with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def controls_page(
    request: web.Request,
    *,
    message: str = "",
    error: str = "",
    status: int = 200,
    confirm: str = "",
) -> web.Response:
    gateway = gateway_of(request)
    if gateway.sync is not None:
        await gateway.sync.pull_faults()
    live, deleted = await gateway.catalog.record_counts()
    return render(
        request,
        "controls.html",
        base_context(
            request,
            "controls",
            message=message,
            error=error,
            confirm=confirm,
            faults=[f.as_json() for f in gateway.faults.rules()],
            snapshots=await admin.snapshot_list(gateway),
            fault_interfaces=FAULT_INTERFACES,
            fault_kinds=KINDS,
            records=live,
            deleted=deleted,
            journal_size=len(gateway.journal),
        ),
        status=status,
    )


async def controls(request: web.Request) -> web.Response:
    if not admin_ok(request):
        return _signin_needed(request)
    return await controls_page(request)


def _signin_needed(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    return render(
        request,
        "signin_needed.html",
        base_context(request, "controls"),
        status=401 if gateway.settings.admin_token else 403,
    )


def same_origin(request: web.Request) -> bool:
    """A form post from the console itself (browsers send Origin on posts; tools may not)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host


def _int(form: Any, name: str, default: int) -> int:
    value = str(form.get(name, "") or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise Refusal(400, f"{name} must be a whole number, not {value!r}") from None


async def _do(request: web.Request, action: str, form: Any) -> tuple[str, str]:
    """Run one action; (message, confirm-needed) or raise Refusal / admin.ControlError."""
    gateway = gateway_of(request)
    sync = gateway.sync  # several workers: faults and the journal are every worker's
    if sync is not None and action in ("fault", "fault-remove", "faults-clear"):
        await sync.pull_faults()
    message, confirm = await _act_here(gateway, action, form)
    if sync is not None and action in ("fault", "fault-remove", "faults-clear"):
        await sync.publish_faults()
    if sync is not None and action == "journal-clear":
        await sync.clear_journal()
    return message, confirm


async def _act_here(gateway: Gateway, action: str, form: Any) -> tuple[str, str]:
    if action == "fault":
        spec: dict[str, object] = {
            k: v for k, v in form.items() if k in ("interface", "kind", "operation", "message")
        }
        if str(form.get("kind", "")) == "latency":
            spec["latency_ms"] = _int(form, "latency_ms", 0)
        mode = str(form.get("mode", "count"))
        if mode == "probability":
            try:
                spec["probability"] = float(str(form.get("probability", "")).strip())
            except ValueError:
                raise Refusal(400, "probability must be a number between 0 and 1") from None
        else:
            spec["count"] = _int(form, "count", 1)
        try:
            fault = gateway.faults.add(spec)
        except FaultSpecError as exc:
            raise Refusal(400, f"The fault was not added: {exc}.") from None
        target = f"{fault.interface} {fault.operation}"
        return f"Fault {fault.id} added: {fault.kind} on {target}.", ""
    if action == "fault-remove":
        fault_id = _int(form, "id", 0)
        if not gateway.faults.remove(fault_id):
            raise Refusal(404, f"There is no fault {fault_id} (it may have been used up).")
        return f"Fault {fault_id} removed.", ""
    if action == "faults-clear":
        count = len(gateway.faults.rules())
        gateway.faults.clear()
        return f"All faults cleared ({count}).", ""
    if action == "snapshot":
        taken = await admin.take_snapshot_named(gateway, str(form.get("name", "")).strip())
        return f"Snapshot {taken['snapshot']} taken ({taken['bytes']:,} bytes).", ""
    if action == "snapshot-restore":
        restored = await admin.restore_snapshot_named(gateway, str(form.get("name", "")).strip())
        return (
            f"Snapshot {restored['restored']} restored: {restored['records']:,} records, "
            f"{restored['deleted']:,} deleted.",
            "",
        )
    if action == "snapshot-delete":
        deleted = await admin.delete_snapshot_named(gateway, str(form.get("name", "")).strip())
        return f"Snapshot {deleted['deleted']} deleted.", ""
    if action in ("reset", "reset-demo"):
        if form.get("confirm") != "yes":
            return "", action
        done = await admin.reset_store(gateway, demo=action == "reset-demo")
        demo = f", {done['loaded']:,} demo records loaded" if action == "reset-demo" else ""
        return f"The store was emptied{demo}; it holds {done['records']:,} records.", ""
    if action == "seed":
        loaded, updated = await admin.seed_generated(
            gateway, _int(form, "count", 100), _int(form, "seed", 1)
        )
        return f"{loaded:,} generated records loaded ({updated:,} replaced).", ""
    if action == "journal-clear":
        gateway.journal.clear()
        return "The journal was cleared.", ""
    raise Refusal(404, f"There is no control {action!r}.")


async def act(request: web.Request) -> web.Response:
    if not admin_ok(request):
        return _signin_needed(request)
    if not same_origin(request):
        return await controls_page(
            request, error="Refused: the form was not sent from this console.", status=403
        )
    form = await request.post()
    action = request.match_info["action"]
    try:
        message, confirm = await _do(request, action, form)
    except (Refusal, admin.ControlError) as exc:
        return await controls_page(request, error=str(exc), status=exc.status)
    return await controls_page(request, message=message, confirm=confirm)


# --- sign-in on a shared gateway -----------------------------------------------------------
def _local(target: str) -> str:
    """Only a path on this console is a place to go back to."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def login_form(request: web.Request) -> web.Response:
    return render(
        request,
        "login.html",
        base_context(request, "", next=_local(request.query.get("next", "/")), error=""),
    )


async def login(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    form = await request.post()
    target = _local(str(form.get("next", "/")))
    token = gateway.settings.admin_token
    given = str(form.get("token", ""))
    if (
        not token
        or not same_origin(request)
        or not hmac.compare_digest(given.encode(), token.encode())
    ):
        error = (
            "This gateway has no admin token: its controls are off."
            if not token
            else "That is not the admin token."
        )
        return render(
            request,
            "login.html",
            base_context(request, "", next=target, error=error),
            status=403 if not token else 401,
        )
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        admin.ADMIN_COOKIE,
        admin.admin_cookie_value(gateway),
        httponly=True,
        samesite="Strict",
        path="/",
        max_age=COOKIE_DAYS * 86400,
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/")
    response.del_cookie(admin.ADMIN_COOKIE, path="/")
    raise response
