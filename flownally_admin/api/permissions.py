"""Authentication and scope checks: each view maps its actions to the contract's scopes."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions
from rest_framework.permissions import BasePermission


class InsufficientScope(exceptions.PermissionDenied):
    problem_code = "insufficient_scope"


class InsufficientRole(exceptions.PermissionDenied):
    problem_code = "insufficient_role"


class IsApiPrincipal(BasePermission):
    """Any valid API key: authentication comes before existence (no token → 401 everywhere)."""

    def has_permission(self, request, view):
        if request.user is None or not getattr(request.user, "is_authenticated", False):
            raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <token>'.")
        return True


class HasOperationScope(IsApiPrincipal):
    """Allow a request when the key holds the scope the view declares for the action.

    Views declare `required_scopes = {"list": "tag:list", "create": "tag:create", …}`
    keyed by viewset action (or by lower-case HTTP method for plain APIViews); an
    action that needs several scopes (a merge updates and deletes) names a tuple.
    An action without a declared scope fails closed.
    """

    def has_permission(self, request, view):
        super().has_permission(request, view)
        if request.method not in view.allowed_methods:
            raise exceptions.MethodNotAllowed(request.method)
        action = getattr(view, "action", None) or request.method.lower()
        scope = getattr(view, "required_scopes", {}).get(action)
        if scope is None:
            raise ImproperlyConfigured(f"{type(view).__name__} declares no scope for {action!r}")
        needed = (scope,) if isinstance(scope, str) else scope
        missing = [name for name in needed if name not in request.user.scopes]
        if missing:
            names = " and ".join(f"'{name}'" for name in missing)
            plural = "s" if len(missing) > 1 else ""
            raise InsufficientScope(f"This operation needs the {names} scope{plural}.")
        return True


class HasOperationRole(BasePermission):
    """Allow a request when the key's role is one the view declares in `allowed_roles`.

    Listed after HasOperationScope, so a key lacking the scope hears about the scope first.
    """

    def has_permission(self, request, view):
        if request.user.role not in view.allowed_roles:
            roles = " or ".join(f"'{role}'" for role in view.allowed_roles)
            raise InsufficientRole(f"This operation needs a key of role {roles}.")
        return True
