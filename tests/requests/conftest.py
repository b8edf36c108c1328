"""The join-request feature's tests (bot/requests/), from the service to the card in Discord. The
service tests use the fixtures of tests/services/ (a logged-in client, a bound store, the services),
taken from there rather than written twice; the Discord ones use the shared bot fixtures."""

from tests.services.conftest import bound, config, login, services, vrc

__all__ = ["bound", "config", "login", "services", "vrc"]
