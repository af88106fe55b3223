"""Congresses, agenda, delegates (hashed secrets), approved document versions, signatures, publications.

Revision ID: 0003_congresses
Revises: 0002_identity
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import runtime.db


revision = '0003_congresses'
down_revision = '0002_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agenda_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('congress_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_items'))
    )
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_items_congress_id'), ['congress_id'], unique=False)

    op.create_table('congresses',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('unit', sa.String(length=300), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('starts_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('quorum', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_congresses'))
    )
    with op.batch_alter_table('congresses', schema=None) as batch_op:
        batch_op.create_index('ix_congresses_created', ['created_at', 'id'], unique=False)

    op.create_table('delegates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('congress_id', sa.String(length=36), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=400), nullable=False),
    sa.Column('unit', sa.String(length=300), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('delegate_type', sa.String(length=100), nullable=False),
    sa.Column('secrets_generation', sa.Integer(), nullable=False),
    sa.Column('checkin_hash', sa.String(length=64), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('checked_in_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegates')),
    sa.UniqueConstraint('checkin_hash', name=op.f('uq_delegates_checkin_hash')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_delegates_link_hash'))
    )
    with op.batch_alter_table('delegates', schema=None) as batch_op:
        batch_op.create_index('ix_delegates_congress', ['congress_id', 'full_name', 'id'], unique=False)

    op.create_table('document_versions',
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('congress_id', sa.String(length=36), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('agenda_item_id', sa.String(length=36), nullable=True),
    sa.Column('approved_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('document_id', 'version', name=op.f('pk_document_versions'))
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_versions_congress_id'), ['congress_id'], unique=False)

    op.create_table('publication_viewers',
    sa.Column('publication_id', sa.String(length=36), nullable=False),
    sa.Column('delegate_id', sa.String(length=36), nullable=False),
    sa.Column('first_viewed_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('publication_id', 'delegate_id', name=op.f('pk_publication_viewers'))
    )
    op.create_table('publications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('congress_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.String(length=36), nullable=True),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('published_by', sa.String(length=36), nullable=True),
    sa.Column('published_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('unique_delegates', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('token', name=op.f('uq_publications_token'))
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index('ix_publications_congress', ['congress_id', 'published_at', 'id'], unique=False)

    op.create_table('signatures',
    sa.Column('verification_code', sa.String(length=100), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('signed_sha256', sa.String(length=64), nullable=False),
    sa.Column('signer_full_name', sa.String(length=200), nullable=False),
    sa.Column('signed_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('verification_code', name=op.f('pk_signatures'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signatures_signed_sha256'), ['signed_sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_signed_sha256'))
        batch_op.drop_index(batch_op.f('ix_signatures_request_id'))

    op.drop_table('signatures')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index('ix_publications_congress')

    op.drop_table('publications')
    op.drop_table('publication_viewers')
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_versions_congress_id'))

    op.drop_table('document_versions')
    with op.batch_alter_table('delegates', schema=None) as batch_op:
        batch_op.drop_index('ix_delegates_congress')

    op.drop_table('delegates')
    with op.batch_alter_table('congresses', schema=None) as batch_op:
        batch_op.drop_index('ix_congresses_created')

    op.drop_table('congresses')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_items_congress_id'))

    op.drop_table('agenda_items')
