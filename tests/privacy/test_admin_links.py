"""A read-only foreign key in the admin links to the related object only for users that page
lets in (``privacy.core.admin.base.PermittedLinksMixin``)."""

import pytest

from privacy.core import roles
from tests.customers.factories import CustomerFactory


@pytest.mark.parametrize(
    ("role", "is_superuser", "linked"),
    [(roles.ANALYST, False, False), (roles.MARKETER, False, False), (None, True, True)],
)
def test_a_customer_links_to_its_team_only_for_who_may_open_the_team(
    verified_client, make_user, team_a, role, is_superuser, linked
):
    # Given a customer of team A, and a member of staff of team A
    customer = CustomerFactory(owner_team=team_a)
    user = make_user(role, team_a, is_superuser=is_superuser, is_staff=True)
    client = verified_client(user)
    team_page = f"/admin/privacy/team/{team_a.pk}/change/"

    # When they open the customer in the admin
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/")

    # Then the team is named, and linked only when its page lets them in
    assert page.status_code == 200
    content = page.content.decode()
    assert str(team_a) in content
    assert (f'href="{team_page}"' in content) is linked
    assert (client.get(team_page).status_code == 200) is linked
