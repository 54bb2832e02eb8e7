from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser

from shop.models.events import ActorKind


@dataclass(frozen=True)
class Actor:
    """Who asks for a change; recorded on every order event."""

    kind: str
    user: AbstractBaseUser | None = None
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(ActorKind.SYSTEM, label=label)

    @classmethod
    def staff(cls, user: AbstractBaseUser) -> "Actor":
        return cls(ActorKind.STAFF, user=user, label=user.get_username())

    @classmethod
    def customer(cls, user: AbstractBaseUser) -> "Actor":
        return cls(ActorKind.CUSTOMER, user=user, label=user.get_username())

    @classmethod
    def guest(cls, email: str) -> "Actor":
        return cls(ActorKind.GUEST, label=email)
