"""Admin of the privacy core: the admin base and site, accounts and API tokens, audit log, teams."""
