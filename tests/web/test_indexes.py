"""The partial index behind the dashboard's "Failed or blocked" is used only while its
predicate names exactly the statuses the query asks for (issue 6, "Speed")."""

from __future__ import annotations

import re

from gateway.models import Post
from gateway.web.queries import PROBLEM_STATUSES


def test_the_problems_index_names_exactly_the_problem_statuses():
    index = next(i for i in Post.__table__.indexes if i.name == "ix_posts_problems_updated")
    for dialect in ("postgresql", "sqlite"):
        predicate = str(index.dialect_options[dialect]["where"])
        assert set(re.findall(r"'([a-z_]+)'", predicate)) == set(PROBLEM_STATUSES), predicate
