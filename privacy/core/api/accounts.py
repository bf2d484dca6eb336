"""REST API of staff accounts and API tokens: ``/api/v1/users/`` and ``/api/v1/api-tokens/``.

For administrators of teams (and superusers): the accounts of the caller's teams, created and
changed, added to and removed from the caller's teams, given roles; API tokens made (the key is in
that one answer, never again), listed and revoked. Views parse input, reach the account or the
token through the access layer (one out of reach is a 404, like a missing one) and call one
account service (``privacy.core.services.accounts``), which audits the change, or the refusal: a
refused or invalid input is a 400 naming its field (code ``refused`` for what the caller may not
do). A browser session asks for a recent re-authentication before a change that gives access.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from privacy.core.rest.reauth import reauth_check_for_session
from privacy.core.rest.viewsets import ScopedViewSetMixin
from privacy.core.roles import ROLE_PERMISSIONS
from privacy.core.selectors import account_prefetches
from privacy.core.services.accounts import (
    ACCOUNT_NOT_YOURS,
    TEAM_NOT_YOURS,
    TOKEN_NAME_MAX_LENGTH,
    AccountError,
    AccountRefused,
    api_token_create,
    api_token_revoke,
    team_membership_add,
    team_membership_remove,
    user_create,
    user_roles_set,
    user_update,
)
from privacy.models import ApiToken, Team

User = get_user_model()
TAG = "accounts"
# Ids are PostgreSQL bigints; a larger number would be a database error, not a 400.
MAX_ID = 2**63 - 1
MAX_TEAMS = 100
ROLE_CHOICES = list(ROLE_PERMISSIONS)


@contextmanager
def _account_errors():
    """A change the service refuses, or cannot make, is a 400 naming the field at fault."""
    try:
        yield
    except AccountError as error:
        if isinstance(error, AccountRefused):
            error.ensure_audited()
        field = error.field or "non_field_errors"
        raise exceptions.ValidationError({field: [error.message]}, code=error.code) from error


# --- Serializers --------------------------------------------------------------------------------


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AccountSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="Empty when the account has none.")
    teams = serializers.SerializerMethodField(
        help_text="The account's teams that the caller may see (a superuser sees all)."
    )
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "teams",
            "roles",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields

    @extend_schema_field(TeamRefSerializer(many=True))
    def get_teams(self, user) -> list[dict]:
        return [{"id": group.team.pk, "name": group.name} for group in user.shown_team_groups]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(ROLE_CHOICES)))
    def get_roles(self, user) -> list[str]:
        return [group.name for group in user.role_groups]


def _email_field():
    # Checked by the service (a 400 naming "email"); no "email" format in the schema, which an
    # empty address would not match.
    return serializers.CharField(max_length=254, required=False, allow_blank=True)


def _name_field():
    return serializers.CharField(max_length=150, required=False, allow_blank=True)


class AccountCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = _email_field()
    first_name = _name_field()
    last_name = _name_field()
    password = serializers.CharField(
        max_length=128,
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="Left out: the account cannot sign in with a password (an integration account "
        "uses API tokens).",
    )
    is_active = serializers.BooleanField(default=True)
    is_staff = serializers.BooleanField(default=False, help_text="May open the admin.")
    is_superuser = serializers.BooleanField(default=False, help_text="Superusers only.")
    teams = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_TEAMS,
        default=list,
        help_text="Ids of the caller's teams the account joins; at least one for an administrator.",
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(ROLE_CHOICES),
        max_length=len(ROLE_CHOICES),
        default=list,
        help_text="An administrator gives Marketer, Analyst and Data steward only.",
    )


class AccountUpdateSerializer(serializers.Serializer):
    """Every field is optional, with PUT as with PATCH: what is left out stays as it is."""

    username = serializers.CharField(max_length=150, required=False)
    email = _email_field()
    first_name = _name_field()
    last_name = _name_field()
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)
    is_superuser = serializers.BooleanField(required=False, help_text="Superusers only.")


class MembershipSerializer(serializers.Serializer):
    team = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class RolesSerializer(serializers.Serializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(ROLE_CHOICES), max_length=len(ROLE_CHOICES)
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    created_by = serializers.SerializerMethodField()
    is_usable = serializers.SerializerMethodField(
        help_text="Neither revoked nor expired: the key authenticates."
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "username",
            "name",
            "prefix",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_usable",
        ]
        read_only_fields = fields

    def get_created_by(self, token) -> str | None:
        return token.created_by.get_username() if token.created_by_id else None

    def get_is_usable(self, token) -> bool:
        return token.is_usable()


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(
        read_only=True,
        help_text="Send it as 'Authorization: Token <key>'. Shown in this answer only: it is "
        "not stored.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="The account the token authenticates; the caller's own when left out.",
    )
    name = serializers.CharField(max_length=TOKEN_NAME_MAX_LENGTH, help_text="What it is for.")
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When it stops working; never when left out."
    )

    def validate_expires_at(self, value):
        # Local times of far-away years overflow; no token needs to outlive this century.
        if value is not None and value.year > 2099:
            raise serializers.ValidationError("Choose a time before 2100.")
        return value


# --- Views --------------------------------------------------------------------------------------


def _documented(summary: str, request=None, responses=None, **extra):
    answers = {200: AccountSerializer} if responses is None else responses
    return extend_schema(
        summary=summary,
        tags=[TAG],
        request=request,
        responses=answers,
        **extra,
    )


@extend_schema_view(
    list=extend_schema(
        summary="Accounts of the caller's teams",
        description="Superusers see every account.",
        tags=[TAG],
    ),
    retrieve=_documented("One account"),
    create=_documented(
        "Create an account in the caller's teams",
        AccountCreateSerializer,
        {201: AccountSerializer},
        description="Audited (user.create). An administrator gives only their own teams and "
        "the Marketer, Analyst and Data steward roles, and never is_superuser; asking for more "
        "is a 400 with code 'refused', audited as user.create_refused.",
    ),
    update=_documented(
        "Change an account's details and flags",
        AccountUpdateSerializer,
        description="Accounts the caller manages only (never a superuser or an administrator, "
        "for an administrator): others are a 404. Audited (user.update); is_superuser is "
        "for superusers (a 400 'refused', audited as user.update_refused).",
    ),
    partial_update=_documented(
        "Change some of an account's details and flags", AccountUpdateSerializer
    ),
)
class AccountViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff accounts: details, flags, team memberships and roles."""

    queryset = User._default_manager.all()
    serializer_class = AccountSerializer
    access_actions = {"teams": "change", "team_remove": "change", "roles": "change"}

    def base_queryset(self):
        return User._default_manager.prefetch_related(*account_prefetches(self.request.user))

    def _answer(self, user, *, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.base_queryset().get(pk=user.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = self.validated_input(AccountCreateSerializer)
        teams = list(Team.objects.filter(pk__in=data["teams"]))
        if len(teams) != len(set(data["teams"])):
            raise exceptions.ValidationError({"teams": [str(TEAM_NOT_YOURS)]})
        reauth_check_for_session(request)
        with _account_errors():
            user = user_create(
                actor=request.user,
                username=data["username"],
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                password=data.get("password"),
                is_active=data["is_active"],
                is_staff=data["is_staff"],
                is_superuser=data["is_superuser"],
                teams=teams,
                role_names=data["roles"],
            )
        return self._answer(user, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        user = self.get_object()
        changes = self.validated_input(AccountUpdateSerializer)
        reauth_check_for_session(request)
        with _account_errors():
            user = user_update(actor=request.user, user=user, changes=changes)
        return self._answer(user)

    def _team(self, team_id: int) -> Team:
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise exceptions.ValidationError({"team": [str(TEAM_NOT_YOURS)]})
        return team

    @_documented(
        "Add the account to one of the caller's teams",
        MembershipSerializer,
        description="Audited (team.member_add); another team is a 400 naming 'team', audited "
        "as team.member_add_refused.",
    )
    @action(detail=True, methods=["post"])
    def teams(self, request, pk=None):
        user = self.get_object()
        team = self._team(self.validated_input(MembershipSerializer)["team"])
        reauth_check_for_session(request)
        with _account_errors():
            team_membership_add(actor=request.user, user=user, team=team)
        return self._answer(user)

    @_documented(
        "Remove the account from one of the caller's teams",
        None,
        description="Audited (team.member_remove); another team is a 400 naming 'team'.",
        parameters=[OpenApiParameter("team_id", int, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"teams/(?P<team_id>[0-9]{1,18})",
        url_name="team-remove",
    )
    def team_remove(self, request, pk=None, team_id=None):
        user = self.get_object()
        team = self._team(int(team_id))
        reauth_check_for_session(request)
        with _account_errors():
            team_membership_remove(actor=request.user, user=user, team=team)
        return self._answer(user)

    @_documented(
        "Give the account exactly these roles",
        RolesSerializer,
        description="Audited (user.roles_set). An administrator gives and takes Marketer, "
        "Analyst and Data steward; the Administrator role is a 400 naming 'roles', audited as "
        "user.roles_set_refused.",
    )
    @action(detail=True, methods=["put"])
    def roles(self, request, pk=None):
        user = self.get_object()
        role_names = self.validated_input(RolesSerializer)["roles"]
        reauth_check_for_session(request)
        with _account_errors():
            user_roles_set(actor=request.user, user=user, role_names=role_names)
        return self._answer(user)


@extend_schema_view(
    list=extend_schema(
        summary="API tokens: the caller's own and those of the accounts they manage",
        description="Keys are never listed: they are not stored.",
        tags=[TAG],
    ),
    retrieve=_documented("One API token", responses={200: ApiTokenSerializer}),
    create=_documented(
        "Make an API token; the answer holds its key, this once",
        ApiTokenCreateSerializer,
        {201: ApiTokenCreatedSerializer},
        description="For the caller, or an account the caller manages ('user'). Audited "
        "(api_token.create); another account is a 400 naming 'user'.",
    ),
)
class ApiTokenViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """API tokens: made, listed and revoked; never changed or deleted."""

    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    access_actions = {"revoke": "change"}

    def base_queryset(self):
        return ApiToken.objects.select_related("user", "created_by")

    def create(self, request, *args, **kwargs):
        data = self.validated_input(ApiTokenCreateSerializer)
        holder = request.user
        if data.get("user", holder.pk) != holder.pk:
            holder = User._default_manager.filter(pk=data["user"]).first()
            if holder is None:
                raise exceptions.ValidationError({"user": [str(ACCOUNT_NOT_YOURS)]})
        reauth_check_for_session(request)
        with _account_errors():
            token, key = api_token_create(
                actor=request.user,
                user=holder,
                name=data["name"],
                expires_at=data.get("expires_at"),
            )
        token.key = key
        response = Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @_documented(
        "Revoke the token: it stops working for good",
        None,
        {200: ApiTokenSerializer},
        description="Audited (api_token.revoke); revoking a revoked token changes nothing.",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        with _account_errors():
            token = api_token_revoke(actor=request.user, token=token)
        return Response(ApiTokenSerializer(token).data)
