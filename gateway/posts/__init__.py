"""Posts: drafting, submitting, approving, rejecting, cancelling (the service layer)."""
