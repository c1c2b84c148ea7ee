"""Posts in Welsh and English (issue 18, "Bilingual posts").

- posts.text_cy and post_images.alt_text_cy: the Welsh text and each image's Welsh alt text
  of a bilingual post (NULL on a post in one language; posts.text is then its only text, and
  on a bilingual post its English text).
- channels.language: which language a channel takes when the installation publishes in both
  (GATEWAY_BILINGUAL): '' both (one bilingual post where the platform's limit allows, else two
  posts), 'cy' Welsh only, 'en' English only, for councils with separate accounts.
- deliveries.language: which text a delivery publishes: '' the post's only text, 'cy' or 'en'
  one language, 'cy+en' or 'en+cy' one bilingual post in that order. A channel may now have two
  deliveries of one post (its Welsh and its English post), so the unique constraint is on
  (post, channel, language), under the name it had.
- deliveries.held_with_id: the delivery of the other language whose failure holds this one (a
  post never goes out in English only because the Welsh one failed); alone_by_id: who decided
  it may go out without the other language after all (both user ids without foreign keys, as
  posts.holder_id).
- emergency_templates: a prepared bilingual text per emergency category, kept by an admin.

Existing rows: every post stays in one language, every channel takes both, every delivery
publishes the post's only text. Plain ADD COLUMN on posts and post_images (never a batch
rebuild of posts, see 0009); deliveries, which nothing references, is rebuilt on SQLite to
change its unique constraint.

Revision ID: 0017
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade():
    op.add_column("posts", sa.Column("text_cy", sa.Text(), nullable=True))
    op.add_column("post_images", sa.Column("alt_text_cy", sa.Text(), nullable=True))
    op.add_column(
        "channels",
        sa.Column("language", sa.String(length=8), nullable=False, server_default=""),
    )
    with op.batch_alter_table("deliveries", recreate="auto") as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("held_with_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("alone_by_id", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_deliveries_post_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_post_id", ["post_id", "channel_id", "language"]
        )
    op.create_table(
        "emergency_templates",
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("text_cy", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("changed_at", UTC_DATETIME, nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["users.id"], name=op.f("fk_emergency_templates_changed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_emergency_templates")),
    )


def downgrade():
    op.drop_table("emergency_templates")
    # A post's second delivery on one channel cannot survive the old constraint: keep the first.
    op.execute(
        "DELETE FROM deliveries WHERE id NOT IN (SELECT min(id) FROM deliveries"
        " GROUP BY post_id, channel_id)"
    )
    with op.batch_alter_table("deliveries", recreate="auto") as batch_op:
        batch_op.drop_constraint("uq_deliveries_post_id", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_post_id", ["post_id", "channel_id"])
        batch_op.drop_column("alone_by_id")
        batch_op.drop_column("held_with_id")
        batch_op.drop_column("language")
    op.drop_column("channels", "language")
    op.drop_column("post_images", "alt_text_cy")
    # ALTER TABLE ... DROP COLUMN, not a batch rebuild (see 0012).
    op.drop_column("posts", "text_cy")
