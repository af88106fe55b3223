"""Signing tables: the CA, certificates, known documents, requests and slots, audit, seals, staff copy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:48:04.418402
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = "0002"
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ca',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('cert_pem', sa.Text(), nullable=False),
    sa.Column('parents_pem', sa.Text(), nullable=False),
    sa.Column('key_pem', sa.Text(), nullable=False),
    sa.Column('imported', sa.Boolean(), nullable=False),
    sa.Column('crl_der', sa.Text(), nullable=False),
    sa.Column('crl_number', sa.Integer(), nullable=False),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ca'))
    )
    op.create_table('certificates',
    sa.Column('serial', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('cert_pem', sa.Text(), nullable=False),
    sa.Column('key_pem', sa.Text(), nullable=True),
    sa.Column('key_ref', sa.String(length=300), nullable=True),
    sa.Column('fingerprint_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('revoked_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_certificates')),
    sa.UniqueConstraint('fingerprint_sha256', name=op.f('uq_certificates_fingerprint_sha256'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_user', ['user_id', 'current'], unique=False)

    op.create_table('closed_congresses',
    sa.Column('congress_id', sa.String(length=36), nullable=False),
    sa.Column('closed_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('congress_id', name=op.f('pk_closed_congresses'))
    )
    op.create_table('congress_staff',
    sa.Column('congress_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('congress_id', 'user_id', name=op.f('pk_congress_staff'))
    )
    op.create_table('documents_seen',
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('congress_id', sa.String(length=36), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('document_id', 'version', name=op.f('pk_documents_seen'))
    )
    op.create_table('seals',
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('signature_sha256', sa.String(length=64), nullable=False),
    sa.Column('timestamp_token_sha256', sa.String(length=64), nullable=True),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.UniqueConstraint('record_id', 'manifest_sha256', name='uq_seals_record_manifest')
    )
    op.create_table('signature_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('congress_id', sa.String(length=36), nullable=True),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('prepared_sha256', sa.String(length=64), nullable=False),
    sa.Column('current_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('requested_by', sa.String(length=36), nullable=False),
    sa.Column('requested_by_username', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('due', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completion_certificate_sha256', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_requests'))
    )
    with op.batch_alter_table('signature_requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_congress_state', ['congress_id', 'state'], unique=False)
        batch_op.create_index('ix_requests_document', ['document_id', 'version'], unique=False)

    op.create_table('signature_slots',
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('verification_code', sa.String(length=20), nullable=True),
    sa.Column('signed_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_sha256', sa.String(length=64), nullable=True),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('request_id', 'position', name=op.f('pk_signature_slots')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_signature_slots_verification_code'))
    )
    with op.batch_alter_table('signature_slots', schema=None) as batch_op:
        batch_op.create_index('ix_slots_username_state', ['username', 'state'], unique=False)

    op.create_table('signing_audit',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_audit'))
    )
    with op.batch_alter_table('signing_audit', schema=None) as batch_op:
        batch_op.create_index('ix_audit_request', ['request_id', 'at'], unique=False)

    op.create_table('staff_users',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_users_username'))
    )


def downgrade() -> None:
    op.drop_table('staff_users')
    with op.batch_alter_table('signing_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_request')

    op.drop_table('signing_audit')
    with op.batch_alter_table('signature_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_slots_username_state')

    op.drop_table('signature_slots')
    with op.batch_alter_table('signature_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_document')
        batch_op.drop_index('ix_requests_congress_state')

    op.drop_table('signature_requests')
    op.drop_table('seals')
    op.drop_table('documents_seen')
    op.drop_table('congress_staff')
    op.drop_table('closed_congresses')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_user')

    op.drop_table('certificates')
    op.drop_table('ca')
