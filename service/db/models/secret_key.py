"""One value sealed with the oldest HERALD_SECRET_KEY the stored secrets still need: a
process whose keys cannot open it would fail on those secrets, so it refuses to start."""

from sqlalchemy import CheckConstraint, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base


class SecretKeyCheck(Base):
    __tablename__ = "secret_key_check"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
