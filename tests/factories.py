"""factory_boy factories shared by the whole suite."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.text import slugify
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.core.services.accounts import api_token_create
from privacy.models import Team

TEST_PASSWORD = "correct horse battery staple"


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    group = factory.SubFactory(GroupFactory)
    slug = factory.LazyAttribute(lambda team: slugify(team.group.name))


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user. ``roles=["Marketer"]`` and ``teams=[team]`` put the user in those groups."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=role))

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        for team in extracted or []:
            self.groups.add(team.group)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Test authenticator"
    confirmed = True


def api_token_for(user) -> str:
    """The key of a new API token of ``user``, made as the command line makes one."""
    _token, key = api_token_create(actor=None, user=user, name="Test token")
    return key
