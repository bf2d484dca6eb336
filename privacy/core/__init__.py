"""The privacy core every app builds on: teams, roles, access, audit, accounts, encryption,
sign-in, the API and admin bases. It imports no privacy feature package."""
