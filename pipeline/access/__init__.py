"""Access: people who sign in, their roles and scope, their credentials, and the audit log."""
